//! `wss://` and `https://`: a self-signed certificate made at start-up.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::IpAddr;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// The self-signed certificate of a `wss://` simulator.
pub(crate) struct Identity {
    pub(crate) pem: String,
    pub(crate) der: CertificateDer<'static>,
}

/// A certificate for the usual loopback names (and `ip`), and the TLS acceptor serving it.
pub(crate) fn self_signed(ip: IpAddr) -> std::io::Result<(Identity, TlsAcceptor)> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    let certified = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
    let der = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    // An explicit provider (ring, the one the workspace compiles): no process-wide default
    // is needed.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .map_err(std::io::Error::other)?;
    let identity = Identity {
        pem: certified.cert.pem(),
        der,
    };
    Ok((identity, TlsAcceptor::from(Arc::new(config))))
}
