//! Deployment discovery, as Genesys' Messenger does it: before the first session of a target,
//! fetch the deployment's published configuration
//! (`GET https://api-cdn.{region}/webdeployments/v1/deployments/{id}/config.json`, the file
//! Genesys' Messenger itself reads) and let it decide what the Messenger would do: refuse to start (Messenger off, deployment
//! inactive, authentication required), send the auto-start `Join`, keep or refuse sending after
//! a disconnect, and which attachments may be uploaded.
//!
//! For an `--endpoint ws(s)://HOST:PORT/...` target (and `--simulate`, which is one) the same
//! path is asked of `http(s)://HOST:PORT`. A 404 there means "no configuration published":
//! the defaults apply. Each URL is asked once per run (cached), with a time limit, at most
//! [`MAX_REDIRECTS`] redirects (never from `https` to `http`) and at most [`MAX_BODY_BYTES`].

use genesys_web_messaging::{AttachmentLimits, DisconnectMode, WIRE_TARGET, tls_client_config};
use reqwest::Url;
use rustls::pki_types::CertificateDer;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Most time fetching the configuration may take (connecting included).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Most redirects followed.
pub const MAX_REDIRECTS: usize = 3;
/// The largest configuration accepted (the real file is a few kilobytes).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A deployment's published configuration (`config.json`), read leniently: unknown keys are
/// ignored and every field is optional, absent ones taking the defaults the Messenger applies.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfig {
    /// The configuration's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The configuration's version.
    #[serde(default)]
    pub version: Option<String>,
    /// `Active` or `Inactive` (absent: active).
    #[serde(default)]
    pub status: Option<String>,
    /// The Messenger's settings.
    #[serde(default)]
    pub messenger: Option<Messenger>,
    /// Authenticated messaging.
    #[serde(default)]
    pub auth: Option<Auth>,
}

/// `messenger`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Messenger {
    /// Whether the Messenger is on (absent: on).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `apps`.
    #[serde(default)]
    pub apps: Option<Apps>,
    /// `fileUpload`: what the guest may upload.
    #[serde(default)]
    pub file_upload: Option<FileUpload>,
}

/// `messenger.apps`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Apps {
    /// `conversations`.
    #[serde(default)]
    pub conversations: Option<Conversations>,
}

/// `messenger.apps.conversations`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversations {
    /// The WebSocket base URL the Messenger uses.
    #[serde(default)]
    pub messaging_endpoint: Option<String>,
    /// `autoStart.enabled`: the Messenger sends Presence `Join` when a new session starts.
    #[serde(default)]
    pub auto_start: Option<Toggle>,
    /// `conversationDisconnect`: what the guest may do after a disconnect.
    #[serde(default)]
    pub conversation_disconnect: Option<ConversationDisconnect>,
    /// `conversationClear.enabled`: whether Presence `Clear` is allowed.
    #[serde(default)]
    pub conversation_clear: Option<Toggle>,
}

/// `{enabled}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Toggle {
    /// Absent: off.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `conversationDisconnect`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ConversationDisconnect {
    /// Absent: off.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `ReadOnly` or `Send`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// `messenger.fileUpload`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileUpload {
    /// The upload modes: MIME types and the largest size of each.
    #[serde(default)]
    pub modes: Option<Vec<UploadMode>>,
}

/// One upload mode of `messenger.fileUpload.modes`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadMode {
    /// MIME types (`image/png`; `image/*` and `*/*` match a family or anything).
    #[serde(default)]
    pub file_types: Vec<String>,
    /// The largest file, in KB (1024 bytes).
    #[serde(default, rename = "maxFileSizeKB")]
    pub max_file_size_kb: Option<u64>,
}

/// `auth`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Auth {
    /// Whether guests must authenticate (`configureAuthenticatedSession`) to send messages.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Whether an anonymous session may be upgraded to an authenticated one.
    #[serde(default)]
    pub allow_session_upgrade: Option<bool>,
}

impl DeploymentConfig {
    /// Parses `config.json` text.
    pub fn parse(text: &str) -> Result<DeploymentConfig, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    fn conversations(&self) -> Option<&Conversations> {
        self.messenger
            .as_ref()?
            .apps
            .as_ref()?
            .conversations
            .as_ref()
    }

    /// `messenger.enabled` (absent: true).
    pub fn messenger_enabled(&self) -> bool {
        self.messenger
            .as_ref()
            .and_then(|m| m.enabled)
            .unwrap_or(true)
    }

    /// `status` is not `Inactive` (absent: active).
    pub fn active(&self) -> bool {
        !self
            .status
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("inactive"))
    }

    /// `messenger.apps.conversations.autoStart.enabled` (absent: false).
    pub fn autostart(&self) -> bool {
        self.conversations()
            .and_then(|c| c.auto_start.as_ref())
            .and_then(|t| t.enabled)
            .unwrap_or(false)
    }

    /// `auth.enabled` (absent: false).
    pub fn auth_required(&self) -> bool {
        self.auth.as_ref().and_then(|a| a.enabled).unwrap_or(false)
    }

    /// `conversationDisconnect.type` when `conversationDisconnect.enabled`; `None` when off,
    /// absent or of an unknown type.
    pub fn disconnect_mode(&self) -> Option<DisconnectMode> {
        let disconnect = self.conversations()?.conversation_disconnect.as_ref()?;
        if disconnect.enabled != Some(true) {
            return None;
        }
        match disconnect.kind.as_deref()?.trim() {
            t if t.eq_ignore_ascii_case("ReadOnly") => Some(DisconnectMode::ReadOnly),
            t if t.eq_ignore_ascii_case("Send") => Some(DisconnectMode::Send),
            _ => None,
        }
    }

    /// `conversationClear.enabled` (absent: false).
    #[allow(dead_code, reason = "for the clearConversation step")]
    pub fn conversation_clear_enabled(&self) -> bool {
        self.conversations()
            .and_then(|c| c.conversation_clear.as_ref())
            .and_then(|t| t.enabled)
            .unwrap_or(false)
    }

    /// What the guest may upload: `messenger.fileUpload.modes`, in the library's terms so
    /// that one rule (`AttachmentLimits::check`) judges every file. No modes: none published.
    pub fn upload_limits(&self) -> AttachmentLimits {
        let modes = self
            .messenger
            .as_ref()
            .and_then(|m| m.file_upload.as_ref())
            .and_then(|f| f.modes.clone())
            .unwrap_or_default();
        AttachmentLimits {
            modes: modes
                .into_iter()
                .map(|m| genesys_web_messaging::UploadMode {
                    file_types: m.file_types,
                    max_file_size_kb: m.max_file_size_kb,
                })
                .collect(),
            blocked_extensions: Vec::new(),
        }
    }

    /// One line for `--verbose`.
    fn summary(&self) -> String {
        let on = |b: bool| if b { "on" } else { "off" };
        format!(
            "status {}, messenger {}, autoStart {}, conversationDisconnect {}, auth {}, {} upload mode(s)",
            if self.active() { "Active" } else { "Inactive" },
            on(self.messenger_enabled()),
            on(self.autostart()),
            match self.disconnect_mode() {
                Some(DisconnectMode::ReadOnly) => "ReadOnly",
                Some(DisconnectMode::Send) => "Send",
                None => "off",
            },
            on(self.auth_required()),
            self.upload_limits().modes.len()
        )
    }
}

/// The configuration URL of a target: `https://api-cdn.{region}/...` for a region, the same
/// host and port as a `ws(s)://` endpoint (`http` for `ws`, `https` for `wss`) otherwise.
pub fn config_url(
    deployment_id: &str,
    endpoint: Option<&str>,
    region: Option<&str>,
) -> Result<Url, String> {
    let mut url = match (endpoint, region) {
        (Some(endpoint), _) => {
            let mut url = Url::parse(endpoint)
                .map_err(|e| format!("endpoint '{endpoint}' is not a URL: {e}"))?;
            let scheme = match url.scheme() {
                "ws" => "http",
                "wss" => "https",
                other => return Err(format!("endpoint must be ws:// or wss://, not {other}://")),
            };
            url.set_scheme(scheme)
                .map_err(|()| format!("endpoint '{endpoint}' cannot be turned into {scheme}://"))?;
            // Never send (or print) credentials that were in the endpoint.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url
        }
        (None, Some(region)) => Url::parse(&format!("https://api-cdn.{}/", region.trim()))
            .map_err(|e| format!("region '{region}' is not a domain: {e}"))?,
        (None, None) => return Err("neither an endpoint nor a region".into()),
    };
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| "the URL cannot take a path".to_string())?
        .clear()
        .extend([
            "webdeployments",
            "v1",
            "deployments",
            deployment_id,
            "config.json",
        ]);
    Ok(url)
}

/// Whether the URL's host is this machine's loopback (`localhost`, 127.0.0.0/8, `[::1]`).
fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// What the fetch found.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// The deployment's configuration.
    Published(Arc<DeploymentConfig>),
    /// Nothing published there (404; or, on loopback only, a server that does not speak
    /// HTTP, such as a WebSocket-only simulator): the defaults apply.
    NotPublished(String),
}

/// Fetches (once per URL per run) and decodes the configuration at `url`, trusting the public
/// roots and `extra_roots`. Errors name the URL and say what went wrong.
pub async fn discover(
    url: &Url,
    extra_roots: &[CertificateDer<'static>],
    timeout: Duration,
) -> Result<Fetched, String> {
    type Cache = Mutex<HashMap<String, Fetched>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    let key = url.as_str().to_string();
    if let Some(found) = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
    {
        return Ok(found.clone());
    }
    let fetched = fetch(url, extra_roots, timeout).await?;
    match &fetched {
        Fetched::Published(config) => tracing::info!(
            target: WIRE_TARGET,
            "deployment configuration from {url}: {}",
            config.summary()
        ),
        Fetched::NotPublished(why) => tracing::info!(
            target: WIRE_TARGET,
            "no deployment configuration published at {url} ({why}): the defaults apply \
             (no auto-start, sending after a disconnect refused, no local attachment limits)"
        ),
    }
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, fetched.clone());
    Ok(fetched)
}

/// One fetch, no cache.
pub async fn fetch(
    url: &Url,
    extra_roots: &[CertificateDer<'static>],
    timeout: Duration,
) -> Result<Fetched, String> {
    let fail = |what: String| {
        format!(
            "cannot read the deployment configuration at {url}: {what} (give \
             --no-deployment-config to run without it)"
        )
    };
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        let downgrade = attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https");
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if downgrade {
            attempt.error("a redirect from https to http")
        } else {
            attempt.follow()
        }
    });
    let tls = (*tls_client_config(extra_roots)).clone();
    let client = genesys_web_messaging::http_client_builder()
        .tls_backend_preconfigured(tls)
        .redirect(redirects)
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("web-messaging-tester/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| fail(format!("cannot build the HTTP client: {e}")))?;
    let request = async {
        let mut response = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        let status = response.status();
        let mut body = Vec::new();
        if status.is_success() {
            if response
                .content_length()
                .is_some_and(|n| n > MAX_BODY_BYTES as u64)
            {
                return Ok((status, None));
            }
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Ok((status, None));
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok::<_, reqwest::Error>((status, Some(body)))
    };
    let (status, body) = match request.await {
        Ok(answer) => answer,
        Err(e) if is_loopback(url) && not_http(&e) => {
            return Ok(Fetched::NotPublished(
                "the server did not answer in HTTP".into(),
            ));
        }
        Err(e) => return Err(fail(describe(&e, timeout))),
    };
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(Fetched::NotPublished("HTTP 404".into()));
    }
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    let Some(body) = body else {
        return Err(fail(format!("the answer is over {MAX_BODY_BYTES} bytes")));
    };
    let text = String::from_utf8(body).map_err(|_| fail("the answer is not UTF-8 text".into()))?;
    let config = DeploymentConfig::parse(&text).map_err(|e| {
        fail(format!(
            "the answer is not a deployment configuration ({e})"
        ))
    })?;
    Ok(Fetched::Published(Arc::new(config)))
}

/// Whether the server, once connected, answered with something that is not HTTP, or closed
/// the connection without answering (over TLS: without even a `close_notify`).
fn not_http(e: &reqwest::Error) -> bool {
    if e.is_connect() || e.is_timeout() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_parse())
        {
            return true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            )
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// A transport failure in plain words: the innermost cause says what happened.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs_f64());
    }
    let mut innermost = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        innermost = Some(s.to_string());
        source = s.source();
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_redirect() {
        "refused redirect"
    } else {
        "the request failed"
    };
    match innermost {
        Some(cause) => format!("{what}: {cause}"),
        None => format!("{what}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genesys_web_messaging::AttachmentError;

    /// A captured `config.json` of a real deployment, as is.
    const MT_FIXTURE: &str = r##"{"id":"test_config_id","version":"3","languages":["en-us"],"defaultLanguage":"en-us","apiEndpoint":"https://api.inindca.com",
 "messenger":{"enabled":true,
   "apps":{"conversations":{"messagingEndpoint":"wss://webmessaging.inindca.com",
       "conversationDisconnect":{"enabled":true,"type":"ReadOnly"},"conversationClear":{"enabled":true}}},
   "styles":{"primaryColor":"#ff0000"},"launcherButton":{"visibility":"On"},
   "fileUpload":{"modes":[{"fileTypes":["image/png","image/jpeg","image/gif"],"maxFileSizeKB":10000}]}},
 "journeyEvents":{"enabled":true},"status":"Active","auth":{"enabled":true,"allowSessionUpgrade":true}}"##;

    #[test]
    fn reads_the_real_fixture() {
        let config = DeploymentConfig::parse(MT_FIXTURE).unwrap();
        assert!(config.active() && config.messenger_enabled());
        assert!(!config.autostart());
        assert!(config.auth_required());
        assert!(config.conversation_clear_enabled());
        assert_eq!(config.disconnect_mode(), Some(DisconnectMode::ReadOnly));
        let limits = config.upload_limits();
        assert_eq!(
            limits.modes[0].file_types,
            ["image/png", "image/jpeg", "image/gif"]
        );
        assert_eq!(limits.modes[0].max_file_size_kb, Some(10_000));
        assert!(limits.check("a.png", "image/png", 10_000 * 1024).is_ok());
        assert!(matches!(
            limits.check("a.png", "image/png", 10_000 * 1024 + 1),
            Err(AttachmentError::TooLarge { .. })
        ));
        assert!(matches!(
            limits.check("a.pdf", "application/pdf", 1),
            Err(AttachmentError::TypeNotAllowed { .. })
        ));
    }

    #[test]
    fn everything_is_optional_with_the_documented_defaults() {
        let config = DeploymentConfig::parse("{}").unwrap();
        assert!(config.active() && config.messenger_enabled());
        assert!(!config.autostart() && !config.auth_required());
        assert_eq!(config.disconnect_mode(), None);
        // No modes published: `plan/target.rs` sets no limits and the server decides.
        assert!(config.upload_limits().modes.is_empty());
        let config = DeploymentConfig::parse(
            r#"{"status":"Inactive","messenger":{"enabled":false,"apps":{"conversations":{"autoStart":{"enabled":true},"conversationDisconnect":{"enabled":true,"type":"Send"}}},"brandNew":[1]}}"#,
        )
        .unwrap();
        assert!(!config.active() && !config.messenger_enabled() && config.autostart());
        assert_eq!(config.disconnect_mode(), Some(DisconnectMode::Send));
        let off = r#"{"messenger":{"apps":{"conversations":{"conversationDisconnect":{"enabled":false,"type":"ReadOnly"}}}}}"#;
        assert_eq!(
            DeploymentConfig::parse(off).unwrap().disconnect_mode(),
            None
        );
        assert!(DeploymentConfig::parse("not json").is_err());
        assert!(DeploymentConfig::parse("[1]").is_err());
    }

    #[test]
    fn urls_follow_the_target() {
        let url = config_url("a b", None, Some("mypurecloud.ie")).unwrap();
        assert_eq!(
            url.as_str(),
            "https://api-cdn.mypurecloud.ie/webdeployments/v1/deployments/a%20b/config.json"
        );
        let url = config_url("d", Some("ws://127.0.0.1:4000/v1?deploymentId=x"), None).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:4000/webdeployments/v1/deployments/d/config.json"
        );
        let url = config_url("d", Some("wss://user:pw@host.example/v1"), Some("r")).unwrap();
        assert_eq!(
            url.as_str(),
            "https://host.example/webdeployments/v1/deployments/d/config.json"
        );
        assert!(is_loopback(
            &config_url("d", Some("ws://localhost:1/v1"), None).unwrap()
        ));
        assert!(!is_loopback(&url));
    }

    /// A server that accepts and then never answers: the fetch ends at its time limit.
    #[tokio::test]
    async fn a_silent_server_times_out_naming_the_url() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let url = config_url("d", Some(&format!("ws://{addr}/v1")), None).unwrap();
        let e = fetch(&url, &[], Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(
            e.contains(url.as_str()) && e.contains("no answer within 0.3 s"),
            "{e}"
        );
        hold.abort();
    }
}
