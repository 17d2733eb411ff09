//! Where a load run may go without asking: the simulator, or an endpoint on this machine's
//! loopback. Anything else is someone's real deployment and needs explicit consent.

use std::net::IpAddr;

/// The flag that allows a load run against anything but loopback or the simulator.
pub const REAL_DEPLOYMENT_FLAG: &str = "--allow-real-deployment";

/// Whether a `ws://`/`wss://` URL points at this machine's loopback: `localhost`, 127.0.0.0/8
/// or `[::1]`. A name that merely resolves to loopback does not count (no DNS is asked).
pub fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Credentials (user:pass@) are not part of the host.
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((host, _)) => host,
            None => return false,
        }
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls_are_local() {
        for local in [
            "ws://127.0.0.1:4000/v1",
            "ws://127.1.2.3/v1?deploymentId=x",
            "wss://localhost:443/v1",
            "ws://LOCALHOST",
            "ws://[::1]:8080/v1",
            "ws://user:pw@127.0.0.1:1/v1",
        ] {
            assert!(is_loopback_url(local), "{local}");
        }
        for remote in [
            "wss://webmessaging.mypurecloud.ie/v1?deploymentId=x",
            "ws://10.0.0.1:4000/v1",
            "ws://127.0.0.1.example.com/v1",
            "ws://localhost.example.com/v1",
            "ws://[::2]/v1",
            "ws://127.0.0.1@evil.example.com/v1",
            "http://127.0.0.1/v1",
            "ws://[::1/v1",
        ] {
            assert!(!is_loopback_url(remote), "{remote}");
        }
    }
}
