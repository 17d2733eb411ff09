//! Google Application Default Credentials, the two kinds a developer or CI has as a file:
//! a service-account key (`GOOGLE_APPLICATION_CREDENTIALS`), whose RS256-signed JWT is
//! exchanged at the file's `token_uri`, and the `authorized_user` file that
//! `gcloud auth application-default login` writes, whose refresh token is exchanged.
//!
//! The token is kept until a minute before it expires and shared by every scenario. Signing
//! uses ring, the crypto rustls already brings, so there is one crypto library.

use super::Env;
use crate::ai::http::{Http, ProviderError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The scope Vertex AI needs.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Google's token endpoint, for files that name none.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// How long a signed assertion is valid (Google's maximum).
const ASSERTION_LIFETIME: u64 = 3600;
/// A token is renewed when it has less than this left.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// Credentials that can produce an access token.
pub struct GoogleAuth {
    source: PathBuf,
    kind: Kind,
    cached: Mutex<Option<(String, Instant)>>,
    http: Arc<Http>,
}

enum Kind {
    ServiceAccount {
        client_email: String,
        key_id: Option<String>,
        // Boxed: ring's key pair holds its primes inline (~300 bytes).
        key: Box<RsaKeyPair>,
        token_uri: String,
    },
    AuthorizedUser {
        client_id: String,
        client_secret: String,
        refresh_token: String,
        token_uri: String,
    },
}

#[derive(Deserialize)]
struct CredentialsFile {
    #[serde(rename = "type")]
    kind: String,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl GoogleAuth {
    /// Finds and reads the credentials: `GOOGLE_APPLICATION_CREDENTIALS`, else the file of
    /// `gcloud auth application-default login`.
    pub fn from_env(env: &Env, http: Arc<Http>) -> Result<GoogleAuth, String> {
        let path = match env.get("GOOGLE_APPLICATION_CREDENTIALS") {
            Some(path) => PathBuf::from(path),
            None => gcloud_file(env).filter(|p| p.is_file()).ok_or(
                "Google Vertex AI needs Application Default Credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run `gcloud auth application-default login`",
            )?,
        };
        let kind = read_credentials(&path)?;
        Ok(GoogleAuth {
            source: path,
            kind,
            cached: Mutex::new(None),
            http,
        })
    }

    /// A valid access token, fetched when there is none or it is about to expire.
    pub async fn token(&self) -> Result<String, ProviderError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() + RENEW_BEFORE < *expires
        {
            return Ok(token.clone());
        }
        let response = self.exchange().await.map_err(|e| {
            ProviderError(format!(
                "could not get an access token with the credentials in {}: {e}",
                self.source.display()
            ))
        })?;
        crate::secrets::register(&response.access_token);
        let lifetime = Duration::from_secs(response.expires_in.unwrap_or(ASSERTION_LIFETIME));
        *cached = Some((response.access_token.clone(), Instant::now() + lifetime));
        Ok(response.access_token)
    }

    async fn exchange(&self) -> Result<TokenResponse, ProviderError> {
        match &self.kind {
            Kind::ServiceAccount {
                client_email,
                key_id,
                key,
                token_uri,
            } => {
                let now = u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0);
                let assertion = sign_jwt(key, key_id.as_deref(), client_email, token_uri, now)
                    .map_err(ProviderError)?;
                let form = [
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.as_str()),
                ];
                self.http
                    .send_json(
                        "token exchange",
                        || self.http.client().post(token_uri).form(&form),
                        &[&assertion],
                    )
                    .await
            }
            Kind::AuthorizedUser {
                client_id,
                client_secret,
                refresh_token,
                token_uri,
            } => {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.as_str()),
                    ("refresh_token", refresh_token.as_str()),
                ];
                self.http
                    .send_json(
                        "token refresh",
                        || self.http.client().post(token_uri).form(&form),
                        &[client_secret, refresh_token],
                    )
                    .await
            }
        }
    }
}

/// Where gcloud keeps the application-default credentials.
fn gcloud_file(env: &Env) -> Option<PathBuf> {
    if let Some(dir) = env.get("CLOUDSDK_CONFIG") {
        return Some(Path::new(dir).join("application_default_credentials.json"));
    }
    if let Some(appdata) = env.get("APPDATA").filter(|_| cfg!(windows)) {
        return Some(Path::new(appdata).join("gcloud/application_default_credentials.json"));
    }
    env.get("HOME")
        .map(|home| Path::new(home).join(".config/gcloud/application_default_credentials.json"))
}

/// Reads a credentials file. Errors never quote the file's contents.
fn read_credentials(path: &Path) -> Result<Kind, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the Google credentials file {shown}: {e}"))?;
    // serde_json's own message may quote a wrong-typed value (a key, a secret): say only what
    // kind of error it was and where.
    let file: CredentialsFile = serde_json::from_str(&text).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "not valid JSON"
            }
            serde_json::error::Category::Data | serde_json::error::Category::Io => {
                "a value of the wrong type, or a missing \"type\""
            }
        };
        format!(
            "the Google credentials file {shown} is not a credentials JSON file ({what} at line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let field = |value: Option<String>, name: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .ok_or(format!("the Google credentials file {shown} has no {name}"))
    };
    let token_uri = file
        .token_uri
        .clone()
        .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string());
    match file.kind.as_str() {
        "service_account" => {
            let pem = field(file.private_key, "private_key")?;
            crate::secrets::register(&pem);
            let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
                format!(
                    "the private_key in the Google credentials file {shown} is not a PKCS#8 PEM key"
                )
            })?;
            let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).map_err(|e| {
                format!(
                    "the private_key in the Google credentials file {shown} is not a usable RSA key ({e})"
                )
            })?;
            Ok(Kind::ServiceAccount {
                client_email: field(file.client_email, "client_email")?,
                key_id: file.private_key_id.filter(|id| !id.is_empty()),
                key: Box::new(key),
                token_uri,
            })
        }
        "authorized_user" => {
            let client_secret = field(file.client_secret, "client_secret")?;
            let refresh_token = field(file.refresh_token, "refresh_token")?;
            crate::secrets::register(&client_secret);
            crate::secrets::register(&refresh_token);
            Ok(Kind::AuthorizedUser {
                client_id: field(file.client_id, "client_id")?,
                client_secret,
                refresh_token,
                token_uri,
            })
        }
        other => Err(format!(
            "the Google credentials file {shown} is of type '{other}': only service_account and authorized_user files are supported"
        )),
    }
}

/// The signed assertion of Google's service-account flow: an RS256 JWT whose issuer is the
/// service account and whose audience is the token endpoint.
fn sign_jwt(
    key: &RsaKeyPair,
    key_id: Option<&str>,
    client_email: &str,
    token_uri: &str,
    now: u64,
) -> Result<String, String> {
    let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    if let Some(id) = key_id {
        header["kid"] = id.into();
    }
    let claims = serde_json::json!({
        "iss": client_email,
        "scope": SCOPE,
        "aud": token_uri,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "could not sign the service-account assertion".to_string())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    /// An RSA key made with `openssl genpkey` for the tests only (ring cannot generate RSA
    /// keys); it signs nothing anywhere else.
    const TEST_ONLY_KEY_PEM: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/ai/test-only-rsa-key-a.pem"
    ));

    #[test]
    fn signs_a_jwt_google_can_verify() {
        let der = PrivatePkcs8KeyDer::from_pem_slice(TEST_ONLY_KEY_PEM.as_bytes()).unwrap();
        let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
        let jwt = sign_jwt(&key, Some("kid1"), "sa@p.iam", "http://t/token", 1000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "kid1");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "sa@p.iam");
        assert_eq!(claims["aud"], "http://t/token");
        assert_eq!(claims["scope"], SCOPE);
        assert_eq!(claims["exp"], 4600);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key().as_ref())
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
    }

    #[test]
    fn credentials_errors_name_the_file_but_not_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sa.json");
        std::fs::write(
            &path,
            r#"{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"}"#,
        )
        .unwrap();
        let e = read_credentials(&path).err().unwrap();
        assert!(
            e.contains("sa.json") && e.contains("not a usable RSA key"),
            "{e}"
        );
        assert!(!e.contains("c2VjcmV0"), "{e}");
        std::fs::write(&path, r#"{"type":"external_account"}"#).unwrap();
        let e = read_credentials(&path).err().unwrap();
        assert!(e.contains("external_account"), "{e}");
    }

    #[test]
    fn a_wrong_typed_value_is_not_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sa.json");
        for text in [
            r#"{"type": "service_account", "private_key": ["Priv4te-K3y-Text"]}"#,
            r#""Priv4te-K3y-Text""#,
            r#"{"type": "authorized_user", "refresh_token": 987654321987}"#,
        ] {
            std::fs::write(&path, text).unwrap();
            let Err(error) = read_credentials(&path) else {
                panic!("{text} was accepted")
            };
            assert!(error.contains("is not a credentials JSON file"), "{error}");
            assert!(error.contains("at line 1, column"), "{error}");
            assert!(
                !error.contains("Priv4te") && !error.contains("987654321987"),
                "{error}"
            );
        }
    }
}
