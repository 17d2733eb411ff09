//! No HTTP client of the workspace can panic for want of a TLS crypto provider. reqwest is
//! built without one (`rustls-no-provider`) and panics when it builds a client in a process
//! with no default provider, so each kind of client is built, and used once, in a fresh
//! process (this test binary run again) where nothing has installed a provider.

use genesys_platform::{Credentials, Endpoints, EntityKind, PlatformClient};
use genesys_web_messaging::{Conversation, ConversationOptions, SessionConfig};
use rustls::crypto::CryptoProvider;
use std::time::Duration;
use web_messaging_simulator::{BotFlow, Simulator};
use web_messaging_tester::ai::http::Http;
use web_messaging_tester::plan::deployment_config::{Fetched, config_url, fetch};

/// In a child process: the one kind of client it builds.
const KIND: &str = "WMT_TEST_HTTP_CLIENT_KIND";
/// Every kind: the Platform API client (`--associate-id`, `expect…` steps), the model
/// providers' client (`ai`), the deployment configuration's fetch, and the guest's uploads
/// and history (over `wss://`/`https://` with an extra root).
const KINDS: [&str; 4] = ["platform", "ai", "deployment-config", "guest"];
const THIS_TEST: &str = "every_http_client_builds_in_a_fresh_process";
const GENEROUS: Duration = Duration::from_secs(20);

#[test]
fn every_http_client_builds_in_a_fresh_process() {
    if let Ok(kind) = std::env::var(KIND) {
        return build_and_use(&kind);
    }
    for kind in KINDS {
        let output = assert_cmd::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", THIS_TEST, "--nocapture", "--test-threads", "1"])
            .env(KIND, kind)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "the {kind} client, in a fresh process: {}\n{stdout}\n{stderr}",
            output.status
        );
    }
}

/// Asserts that nothing has installed a process-default provider yet.
fn nothing_installed() {
    assert!(
        CryptoProvider::get_default().is_none(),
        "a provider was installed before the client was built"
    );
}

fn build_and_use(kind: &str) {
    nothing_installed();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let flow = BotFlow::from_yaml_str("states:\n  main: []\n", "bot.yml").unwrap();
        let tls = matches!(kind, "deployment-config" | "guest");
        let sim = Simulator::builder(flow).tls(tls).start().await.unwrap();
        let extra_roots = Vec::from_iter(sim.certificate_der());
        match kind {
            "platform" => {
                nothing_installed();
                let client = PlatformClient::new(
                    Endpoints::single(&sim.http_url()),
                    Credentials::new("any-client", "any-secret"),
                )
                .unwrap();
                client.lookup(EntityKind::Queue, "billing").await.unwrap();
            }
            "ai" => {
                nothing_installed();
                let http = Http::new().unwrap();
                let url = config_url("d", Some(&sim.url()), None).unwrap();
                let answer = tokio::time::timeout(GENEROUS, http.client().get(url).send())
                    .await
                    .unwrap()
                    .unwrap();
                assert!(answer.status().is_success(), "{}", answer.status());
            }
            "deployment-config" => {
                let url = config_url("d", Some(&sim.url()), None).unwrap();
                assert!(url.as_str().starts_with("https://"), "{url}");
                nothing_installed();
                let fetched = fetch(&url, &extra_roots, GENEROUS).await.unwrap();
                assert!(matches!(fetched, Fetched::Published(_)));
            }
            "guest" => {
                let mut config = SessionConfig::for_endpoint("d", &sim.url());
                config.extra_root_certificates = extra_roots;
                let mut conversation =
                    Conversation::connect(config, ConversationOptions::default())
                        .await
                        .unwrap();
                let jwt = conversation.get_jwt(GENEROUS).await.unwrap();
                nothing_installed();
                conversation.history(&jwt, GENEROUS).await.unwrap();
                conversation.close().await;
            }
            other => panic!("no client kind '{other}'"),
        }
        sim.shutdown().await;
    });
}

/// The repository's root.
fn repository() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_reqwest_client_starts_at_a_crypto_helper() {
    // Split so that this file does not match itself.
    let direct = [
        concat!("reqwest::", "Client::builder("),
        concat!("reqwest::", "Client::new("),
        concat!("reqwest::", "ClientBuilder::new("),
        concat!("use reqwest::", "Client"),
    ];
    let crates = repository().join("crates");
    let mut files = Vec::new();
    rust_files(&crates, &mut files);
    let helpers: Vec<_> = files
        .iter()
        .filter(|f| f.ends_with("src/crypto.rs"))
        .collect();
    assert_eq!(helpers.len(), 2, "{helpers:?}");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("src/crypto.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            direct.iter().any(|d| text.contains(d))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "build reqwest clients with an http_client_builder: {offenders:?}"
    );
}

#[test]
fn aws_lc_is_not_in_the_lock_file() {
    let lock = std::fs::read_to_string(repository().join("Cargo.lock")).unwrap();
    for name in ["aws-lc-rs", "aws-lc-sys"] {
        assert!(
            !lock.contains(&format!("name = \"{name}\"")),
            "{name} is back in Cargo.lock: `cargo tree -i {name}` says what brought it"
        );
    }
}
