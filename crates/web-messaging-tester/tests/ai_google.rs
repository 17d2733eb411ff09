//! `ai` end to end with Google's wire format: the Gemini API (an API key) and Gemini on
//! Vertex AI (a service-account key whose signed JWT is exchanged at a local token endpoint),
//! against the simulator.

mod ai;
mod common;
mod fake_model;

use ai::{AiRun, ai_file, scenario};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::write;
use fake_model::{Answer, Asked, Format, Model, model_requests, text};
use ring::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn customer(asked: &Asked) -> Answer {
    let last = asked.last_user();
    if last.contains("refund is approved") {
        text("Thanks. PASS")
    } else if last.contains("order number") {
        text("Order 777")
    } else {
        text("I need a refund")
    }
}

#[tokio::test]
async fn gemini_with_an_api_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-test:generateContent"))
        .respond_with(Model::new(Format::Google, customer))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "t.yml",
        &ai_file(
            "google-gemini",
            "      model: gemini-test\n      temperature: 0.2\n      topK: 5\n      topP: 0.9\n      seed: 3\n",
            &scenario("Gemini refund", "You want a refund."),
        ),
    );
    let out = AiRun::new(&file)
        .env("GEMINI_API_KEY", "gm-secret-key")
        .env("GEMINI_BASE_URL", &format!("{}/v1beta", server.uri()))
        .run(dir.path(), &["--silence", "300ms"]);
    assert_eq!(out.exit, 0, "{out:?}");
    assert!(
        out.stdout.contains("AI: Order 777\nChatbot: Thank you.\n"),
        "{}",
        out.stdout
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 4);
    for request in &requests {
        assert_eq!(
            request.headers.get("x-goog-api-key").unwrap(),
            "gm-secret-key"
        );
        assert!(!request.url.as_str().contains("gm-secret-key"));
    }
    let body: Value = requests[3].body_json().unwrap();
    assert_eq!(
        body["generationConfig"],
        json!({"temperature": 0.2, "topK": 5, "topP": 0.9, "seed": 3})
    );
    assert_eq!(
        body["systemInstruction"]["parts"][0]["text"],
        "You want a refund."
    );
    let roles: Vec<&str> = body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user", "model", "user"]);
    assert!(!out.stderr.contains("gm-secret-key"));
}

/// A token endpoint that checks the service account's assertion as Google does: the RS256
/// signature against the account's public key, the issuer, audience and scope.
struct TokenEndpoint {
    public_key: Vec<u8>,
    audience: String,
}

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body).to_string();
        let field = |name: &str| {
            body.split('&')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .unwrap_or_default()
                .to_string()
        };
        let reject = |why: &str| {
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": why}))
        };
        if field("grant_type") != "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" {
            return reject("wrong grant_type");
        }
        let assertion = field("assertion");
        let parts: Vec<&str> = assertion.split('.').collect();
        if parts.len() != 3 {
            return reject("not a JWT");
        }
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap_or_default();
        let signed = format!("{}.{}", parts[0], parts[1]);
        if UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public_key)
            .verify(signed.as_bytes(), &signature)
            .is_err()
        {
            return reject("Invalid JWT Signature.");
        }
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_default())
                .unwrap_or_default();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap_or_default())
                .unwrap_or_default();
        let lifetime = claims["exp"].as_u64().unwrap_or(0) - claims["iat"].as_u64().unwrap_or(0);
        if header["alg"] != "RS256"
            || header["kid"] != "key-1"
            || claims["iss"] != "tester@test-project.iam.gserviceaccount.com"
            || claims["aud"] != self.audience.as_str()
            || claims["scope"] != "https://www.googleapis.com/auth/cloud-platform"
            || lifetime != 3600
        {
            return reject("wrong claims");
        }
        ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "ya29.local-token", "expires_in": 3599, "token_type": "Bearer"}),
        )
    }
}

/// The service account's key and another one: RSA keys made with `openssl genpkey` for these
/// tests only (ring cannot generate RSA keys); they sign nothing anywhere else.
const TEST_ONLY_ACCOUNT_KEY_PEM: &str = include_str!("ai/test-only-rsa-key-a.pem");
const TEST_ONLY_OTHER_KEY_PEM: &str = include_str!("ai/test-only-rsa-key-b.pem");

/// The public key (DER `RSAPublicKey`) of a PKCS#8 PEM private key.
fn public_key(pem: &str) -> Vec<u8> {
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
    let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    key.public_key().as_ref().to_vec()
}

/// A throwaway service account with the test-only key.
fn service_account(dir: &std::path::Path, token_uri: &str) -> (String, Vec<u8>) {
    let pem = TEST_ONLY_ACCOUNT_KEY_PEM;
    let file = json!({
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": "tester@test-project.iam.gserviceaccount.com",
        "token_uri": token_uri,
    });
    let path = write(dir, "service-account.json", &file.to_string());
    (path, public_key(pem))
}

#[tokio::test]
async fn vertex_ai_with_a_service_account_and_upstreams_settings() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = MockServer::start().await;
    let token_uri = format!("{}/token", tokens.uri());
    let (credentials, public_key) = service_account(dir.path(), &token_uri);
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(TokenEndpoint {
            public_key,
            audience: token_uri.clone(),
        })
        .expect(1)
        .mount(&tokens)
        .await;
    let vertex = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(
            "^/v1/projects/env-project/locations/europe-west2/publishers/google/models/gemini-2.5-flash:generateContent$",
        ))
        .respond_with(Model::new(Format::Google, customer))
        .mount(&vertex)
        .await;
    // Upstream's Vertex AI file, as written for PaLM's chat-bison.
    let file = write(
        dir.path(),
        "t.yml",
        &format!(
            "{}    followUp:\n      prompt: Did the customer get a refund?\n      terminatingPhrases:\n        pass: [PASS]\n        fail: [FAIL]\n",
            ai_file(
                "google-vertex-ai",
                "      location: europe-west2\n      project: file-project\n      temperature: 0.3\n      modelVersion: '002'\n      examples:\n        - input: What is your name?\n          output: My name is Sam.\n",
                &scenario("Vertex refund", "You want a refund."),
            )
        ),
    );
    let out = AiRun::new(&file)
        .env("GOOGLE_APPLICATION_CREDENTIALS", &credentials)
        .env("VERTEX_AI_PROJECT", "env-project")
        .env("VERTEX_AI_BASE_URL", &format!("{}/v1", vertex.uri()))
        .run(dir.path(), &["--silence", "300ms"]);
    assert_eq!(out.exit, 0, "{out:?}");
    assert!(
        out.stderr.contains("warning: config.ai.config.modelVersion '002' is a version of PaLM's chat-bison, which Google has retired: Gemini model gemini-2.5-flash is used instead"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("\nJudge (PASS): Thanks. PASS\n"),
        "{}",
        out.stdout
    );
    let requests = vertex.received_requests().await.unwrap();
    // The preflight, three turns, the judge: one token for all.
    assert_eq!(requests.len(), 5);
    for request in &requests {
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            "Bearer ya29.local-token"
        );
    }
    let asked = model_requests(&vertex, Format::Google).await;
    // The examples come first, as a chatbot turn and the customer's answer.
    assert_eq!(
        asked[1].messages[0],
        ("user".into(), "What is your name?".into())
    );
    assert_eq!(
        asked[1].messages[1],
        ("assistant".into(), "My name is Sam.".into())
    );
    let body: Value = requests[1].body_json().unwrap();
    assert_eq!(body["generationConfig"], json!({"temperature": 0.3}));
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(!text.contains("ya29.local-token") && !text.contains("PRIVATE KEY"));
}

#[tokio::test]
async fn a_refused_service_account_stops_before_any_session() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = MockServer::start().await;
    let token_uri = format!("{}/token", tokens.uri());
    let (credentials, _) = service_account(dir.path(), &token_uri);
    // Another key than the account's: the signature cannot verify.
    Mock::given(method("POST"))
        .respond_with(TokenEndpoint {
            public_key: public_key(TEST_ONLY_OTHER_KEY_PEM),
            audience: token_uri,
        })
        .mount(&tokens)
        .await;
    let file = write(
        dir.path(),
        "t.yml",
        &ai_file(
            "google-vertex-ai",
            "      location: us-central1\n      project: p\n",
            &scenario("S", "x"),
        ),
    );
    let out = AiRun::new(&file)
        .env("GOOGLE_APPLICATION_CREDENTIALS", &credentials)
        .env("VERTEX_AI_BASE_URL", "http://127.0.0.1:9/v1")
        .run(dir.path(), &[]);
    assert_eq!(out.exit, 2, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "error: The check to ensure Google Vertex AI can be used failed due to:\ncould not get an access token with the credentials in {credentials}: HTTP 400 Bad Request: invalid_grant\n"
        )),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("eyJ"), "no assertion is printed");
    assert!(out.stdout.is_empty());
}
