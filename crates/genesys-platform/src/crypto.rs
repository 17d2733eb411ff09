//! The crate's one crypto rule: ring, made the process default before reqwest builds a client.
//! (This crate depends on no other of the workspace, so the guest library's twin of this rule
//! cannot be shared.)

use rustls::crypto::CryptoProvider;

/// A reqwest client builder whose `build` cannot panic for want of a crypto provider. Every
/// reqwest client of this crate, and of the model providers that share its retry rule,
/// starts here.
///
/// reqwest is built without a provider of its own (`rustls-no-provider`, so aws-lc-rs is not
/// compiled) and panics when it builds a client while the process has no default provider.
/// Making ring the process default, once, when none is installed keeps reqwest's own TLS
/// options (the OS trust store) working as they are; an application that installed another
/// provider keeps it.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    if CryptoProvider::get_default().is_none() {
        // An error means another thread installed one first: there is a default either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
}
