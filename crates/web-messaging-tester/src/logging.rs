//! Tracing set-up: `--verbose`, `RUST_LOG`, or upstream's `DEBUG=WebMessengerGuestSession`.

use genesys_web_messaging::WIRE_TARGET;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the stderr logger. Every frame sent and received is logged at debug level under
/// the `WebMessengerGuestSession` target, with timestamps.
pub fn init(verbose: bool, colour_allowed: bool) {
    let directives = if verbose {
        Some(format!("warn,{WIRE_TARGET}=debug"))
    } else if let Ok(rust_log) = std::env::var("RUST_LOG") {
        Some(rust_log)
    } else {
        std::env::var("DEBUG")
            .ok()
            .map(|debug| translate_npm_debug(&debug))
    };
    let Some(directives) = directives else {
        return;
    };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("warn"));
    // Every line is redacted and escaped (frames carry bot text and tokens).
    let colours = colour_allowed && std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::secrets::LogWriter { colours })
        .with_ansi(colours)
        .try_init();
}

/// npm `debug` namespaces (comma or space separated, `*` wildcards) as tracing directives.
fn translate_npm_debug(value: &str) -> String {
    let mut directives = vec!["warn".to_string()];
    for namespace in value.split([',', ' ']).filter(|n| !n.is_empty()) {
        if namespace == "*" {
            directives.push("debug".into());
        } else if !namespace.starts_with('-') {
            directives.push(format!("{}=debug", namespace.trim_end_matches('*')));
        }
    }
    directives.join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn translates_debug_namespaces() {
        assert_eq!(
            super::translate_npm_debug("WebMessengerGuestSession"),
            "warn,WebMessengerGuestSession=debug"
        );
        assert_eq!(super::translate_npm_debug("*"), "warn,debug");
    }
}
