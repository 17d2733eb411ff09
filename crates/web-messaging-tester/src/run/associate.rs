//! `--associate-id`: finds each scenario's Genesys Cloud conversation, so a failing test can
//! be opened in Genesys Cloud's interaction view.
//!
//! An OAuth client (client credentials, from `GENESYS_REGION`, `GENESYSCLOUD_OAUTHCLIENT_ID`,
//! `GENESYSCLOUD_OAUTHCLIENT_SECRET`) looks up the scenario's first message
//! (`GET /api/v2/conversations/messages/{id}/details`), whose `conversationId` is the answer.
//! A preflight with a made-up message ID checks the credentials and the permission before any
//! session opens. Every request has a time limit and is retried with backoff on 5xx, 429,
//! time-outs and connection errors. The secret is never written anywhere: every message this
//! module returns has it masked, even if a server echoed it.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The environment variables, in the order they are checked.
pub const ENV_REGION: &str = "GENESYS_REGION";
/// The OAuth client's ID.
pub const ENV_CLIENT_ID: &str = "GENESYSCLOUD_OAUTHCLIENT_ID";
/// The OAuth client's secret.
pub const ENV_CLIENT_SECRET: &str = "GENESYSCLOUD_OAUTHCLIENT_SECRET";
/// The permission the OAuth client's role must grant.
pub const PERMISSION: &str = "conversation:webmessaging:view";
/// The made-up message ID of the preflight request.
const PREFLIGHT_ID: &str = "wm-tester-preflight-check";
/// The title label of a scenario whose conversation was not found (upstream's).
pub const UNASSOCIATED: &str = "unable to associate conversation ID";

/// The OAuth client's credentials.
#[derive(Clone)]
pub struct Credentials {
    region: String,
    client_id: String,
    secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("region", &self.region)
            .field("client_id", &self.client_id)
            .field("secret", &"***")
            .finish()
    }
}

impl Credentials {
    /// Reads the three variables through `get` (the environment, in the binary).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Credentials, String> {
        let mut values = Vec::new();
        for name in [ENV_REGION, ENV_CLIENT_ID, ENV_CLIENT_SECRET] {
            match get(name) {
                None => {
                    return Err(format!(
                        "\"{name}\" is required by --associate-id: set {ENV_REGION}, {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} for an OAuth client (client credentials) whose role has the permission {PERMISSION}"
                    ));
                }
                Some(value) if value.trim().is_empty() => {
                    return Err(format!(
                        "\"{name}\" is not allowed to be empty (needed by --associate-id)"
                    ));
                }
                Some(value) => values.push(value.trim().to_string()),
            }
        }
        let secret = values.pop().unwrap_or_default();
        let client_id = values.pop().unwrap_or_default();
        let region = values.pop().unwrap_or_default();
        Ok(Credentials {
            region,
            client_id,
            secret,
        })
    }

    /// Reads the three variables from the environment.
    pub fn from_env() -> Result<Credentials, String> {
        Credentials::from_lookup(|name| std::env::var(name).ok())
    }
}

/// Where the login, the Platform API and the Genesys Cloud app are: the Platform client's own
/// type, so the region rule and the conversation link exist once.
pub use genesys_platform::Endpoints;

/// Time limits and retries of every request.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (the first plus the retries).
    pub attempts: u32,
    /// Wait before the first retry; doubled each time.
    pub backoff: Duration,
    /// Time limit of one attempt.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(15),
        }
    }
}

/// Why a request did not give what was needed.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The server answered with an error status. Only its status and code are kept: the
    /// body's words are never echoed (a login server may quote the request's credentials).
    Status {
        /// HTTP status.
        status: u16,
        /// Platform `code` (or OAuth `error`), when it is a short identifier.
        code: Option<String>,
    },
    /// No answer: time-out, connection refused, invalid answer...
    Transport(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Status { status, code } => {
                write!(f, "HTTP {status}")?;
                if let Some(code) = code {
                    write!(f, " {code}")?;
                }
                Ok(())
            }
            ApiError::Transport(reason) => write!(f, "{reason}"),
        }
    }
}

/// What was found for one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Association {
    /// The conversation, with its link.
    Found {
        /// `conversationId`.
        id: String,
        /// Its page in Genesys Cloud.
        link: String,
    },
    /// Not found: the warning line to show (upstream's wording).
    NotFound {
        /// `WARNING: Could not find Conversation ID for test ...`.
        warning: String,
    },
}

/// The association of a scenario whose conversation the Platform side of the run looked up
/// itself (`run::platform`): found, or upstream's warning.
pub fn association_of(
    conversation_id: Option<&str>,
    run: Option<&crate::run::platform::PlatformRun>,
    received_any: bool,
) -> Association {
    match (conversation_id, run) {
        (Some(id), Some(run)) => Association::Found {
            id: id.to_string(),
            link: run.link(id),
        },
        _ if !received_any => Association::NotFound {
            warning: "WARNING: Could not find Conversation ID for test as your test did not receive a response from your flow.".into(),
        },
        _ => Association::NotFound {
            warning: "WARNING: Could not find Conversation ID for test due to an unexpected error.".into(),
        },
    }
}

/// Whether any of the `-a` variables is set (then they win, even against the simulator).
pub fn variables_set() -> bool {
    [ENV_REGION, ENV_CLIENT_ID, ENV_CLIENT_SECRET]
        .iter()
        .any(|name| std::env::var_os(name).is_some())
}

/// `--associate-id` against the simulator's own Platform API (at `http_url`), which accepts
/// any client: no variable is needed.
pub async fn prepare_simulator_associator(http_url: &str) -> Result<Arc<Associator>, String> {
    let credentials = Credentials {
        region: http_url.to_string(),
        client_id: "web-messaging-tester".into(),
        // Registered with the redactor like any secret: a random one masks nothing else.
        secret: format!("simulator-{:016x}", rand::random::<u64>()),
    };
    let associator = Associator::new(credentials, RetryPolicy::default())?;
    associator.preflight().await?;
    Ok(Arc::new(associator))
}

/// `--associate-id`'s set-up, before any session opens (for `scripted` and `ai`): the
/// credentials from the environment, then the preflight.
pub async fn prepare_associator() -> Result<Arc<Associator>, String> {
    let credentials = Credentials::from_env()?;
    let associator = Associator::new(credentials, RetryPolicy::default())?;
    associator.preflight().await?;
    Ok(Arc::new(associator))
}

/// A logged-in OAuth client: the project's one Platform API client
/// ([`genesys_platform::PlatformClient`]: shared request budget, retries with a capped
/// `Retry-After`, one token renewal on 401), worded the way `--associate-id` always was.
pub struct Associator {
    client: genesys_platform::PlatformClient,
    endpoints: Endpoints,
    policy: RetryPolicy,
}

impl Associator {
    /// An associator for these credentials; nothing is sent yet.
    pub fn new(credentials: Credentials, policy: RetryPolicy) -> Result<Associator, String> {
        let endpoints = Endpoints::for_region(&credentials.region)
            .map_err(|e| format!("\"{ENV_REGION}\": {e}"))?;
        crate::secrets::global().register_basic_auth(&credentials.client_id, &credentials.secret);
        let options = genesys_platform::ClientOptions {
            attempts: policy.attempts,
            backoff: policy.backoff,
            attempt_timeout: policy.timeout,
            // Every token is masked in every output, should a server ever echo it.
            token_observer: Some(Arc::new(|token: &str| {
                crate::secrets::register(token);
            })),
            ..genesys_platform::ClientOptions::default()
        };
        let client = genesys_platform::PlatformClient::with_options(
            endpoints.clone(),
            genesys_platform::Credentials::new(credentials.client_id, credentials.secret),
            options,
        )
        .map_err(|e| e.to_string())?;
        Ok(Associator {
            client,
            endpoints,
            policy,
        })
    }

    /// Masks every secret (the client's, `id:secret`, the tokens; in every encoding) in a
    /// text that is about to be shown.
    fn mask(&self, text: &str) -> String {
        crate::secrets::redact(text)
    }

    /// The client's error in this module's words.
    fn api_error(&self, e: genesys_platform::PlatformError) -> ApiError {
        use genesys_platform::PlatformError as P;
        match e {
            P::Status { status, code, .. } => ApiError::Status {
                status,
                code: code.and_then(|c| error_code(&c)),
            },
            P::Timeout { .. } => ApiError::Transport(format!(
                "no answer within {} s (after {} attempts)",
                self.policy.timeout.as_secs_f64(),
                self.policy.attempts.max(1)
            )),
            P::Transport { reason, .. } => ApiError::Transport(self.mask(&reason)),
            P::Garbage { .. } => ApiError::Transport("the answer is not JSON".into()),
            P::Config(reason) => ApiError::Transport(self.mask(&reason)),
        }
    }

    /// Logs in (once; again when the token expires) and checks that the client may look up
    /// messages. The error is the message to print (exit 2).
    pub async fn preflight(&self) -> Result<(), String> {
        self.client.login().await.map_err(|e| {
            let e = self.api_error(e);
            self.mask(&format!(
                "--associate-id: could not get an OAuth token for the client in {ENV_CLIENT_ID} from {}/oauth/token: {e}",
                self.endpoints.login
            ))
        })?;
        match self.message_details(PREFLIGHT_ID).await {
            Ok(_) => Ok(()),
            Err(ApiError::Status { code: Some(code), .. }) if code == "not.found" => Ok(()),
            Err(ApiError::Status {
                status,
                code: Some(code),
            }) if code == "missing.any.permissions" => Err(self.mask(&format!(
                "Your OAuth Client does not have the necessary permissions to associate conversation IDs to tests: its role needs the permission {PERMISSION}.\nGenesys Cloud answered HTTP {status} {code}"
            ))),
            Err(e) => Err(self.mask(&format!(
                "There was a problem checking whether your OAuth Client has the necessary permissions to associate conversation IDs to tests:\n{e}"
            ))),
        }
    }

    /// The conversation of the message `message_id`, if the details name one.
    pub async fn conversation_id(&self, message_id: &str) -> Result<Option<String>, String> {
        let details = self
            .message_details(message_id)
            .await
            .map_err(|e| self.mask(&e.to_string()))?;
        Ok(details.conversation_id.filter(|id| !id.is_empty()))
    }

    /// What to show for one scenario: its conversation, or upstream's warning.
    pub async fn associate(&self, first_message_id: Option<&str>) -> Association {
        let Some(message_id) = first_message_id else {
            return Association::NotFound {
                warning: "WARNING: Could not find Conversation ID for test as your test did not receive a response from your flow.".into(),
            };
        };
        match self.conversation_id(message_id).await {
            Ok(Some(id)) => Association::Found {
                link: self.endpoints.conversation_link(&id),
                id,
            },
            Ok(None) => Association::NotFound {
                warning: "WARNING: Could not find Conversation ID for test as the response from your flow did not contain a Message ID, which is necessary for finding the test's Conversation ID.".into(),
            },
            Err(reason) => Association::NotFound {
                warning: format!(
                    "WARNING: Could not find Conversation ID for test due to an unexpected error: {}.",
                    reason.trim_end_matches('.')
                ),
            },
        }
    }

    /// Associates every scenario by the id of its session's first message (`None`: it got no
    /// reply), a few lookups at a time; one answer per scenario, in order.
    pub async fn associate_all(
        self: &Arc<Self>,
        first_message_ids: &[Option<String>],
    ) -> Vec<Association> {
        let permits = Arc::new(Semaphore::new(4));
        let mut tasks = JoinSet::new();
        for (index, message_id) in first_message_ids.iter().enumerate() {
            let this = Arc::clone(self);
            let permits = Arc::clone(&permits);
            let message_id = message_id.clone();
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (index, this.associate(message_id.as_deref()).await)
            });
        }
        let mut found: Vec<Option<Association>> = vec![None; first_message_ids.len()];
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, association)) = joined {
                found[index] = Some(association);
            }
        }
        found
            .into_iter()
            .map(|a| {
                a.unwrap_or_else(|| Association::NotFound {
                    warning: "WARNING: Could not find Conversation ID for test due to an unexpected error.".into(),
                })
            })
            .collect()
    }

    async fn message_details(
        &self,
        message_id: &str,
    ) -> Result<genesys_platform::models::MessageData, ApiError> {
        self.client
            .message_details(message_id)
            .await
            .map_err(|e| self.api_error(e))
    }
}

/// An error body's code (`not.found`, `invalid_client`), when it looks like one: short, one
/// word of letters, digits and `._-`. Anything else (a sentence, an echo) is left out.
pub fn error_code(value: &str) -> Option<String> {
    // The client's shape check, and never a code that holds a registered secret.
    genesys_platform::error_code(value).filter(|code| crate::secrets::redact(code) == *code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn credentials(region: &str) -> Credentials {
        Credentials {
            region: region.into(),
            client_id: "id".into(),
            secret: "s3cr3t-value".into(),
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(10),
            timeout: Duration::from_millis(300),
        }
    }

    #[test]
    fn environment_variables_are_checked_in_order_and_named() {
        let e = Credentials::from_lookup(|_| None).unwrap_err();
        assert!(e.starts_with("\"GENESYS_REGION\" is required"), "{e}");
        let e =
            Credentials::from_lookup(|n| (n == ENV_REGION).then(|| "r".to_string())).unwrap_err();
        assert!(
            e.starts_with("\"GENESYSCLOUD_OAUTHCLIENT_ID\" is required"),
            "{e}"
        );
        let e = Credentials::from_lookup(|n| {
            Some(if n == ENV_CLIENT_SECRET { " " } else { "x" }.into())
        })
        .unwrap_err();
        assert!(
            e.contains("GENESYSCLOUD_OAUTHCLIENT_SECRET\" is not allowed to be empty"),
            "{e}"
        );
        let c = Credentials::from_lookup(|n| Some(format!("{n}-value"))).unwrap();
        assert!(!format!("{c:?}").contains("SECRET-value"));
    }

    #[tokio::test]
    async fn retries_timeouts_and_server_errors_then_succeeds() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"access_token": "tok", "expires_in": 3600})),
            )
            .mount(&server)
            .await;
        // First a slow answer (time-out), then a 503, then the details.
        Mock::given(method("GET"))
            .and(path("/api/v2/conversations/messages/m1/details"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/conversations/messages/m1/details"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .with_priority(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/conversations/messages/m1/details"))
            .and(header("authorization", "Bearer tok"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"conversationId": "c-9"})),
            )
            .with_priority(3)
            .mount(&server)
            .await;
        let associator = Associator::new(credentials(&server.uri()), fast()).unwrap();
        assert_eq!(
            associator.conversation_id("m1").await,
            Ok(Some("c-9".to_string()))
        );
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt_and_masks_the_secret() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(500).set_body_json(
                serde_json::json!({"code": "internal.server.error", "message": "bad secret s3cr3t-value"}),
            ))
            .expect(3)
            .mount(&server)
            .await;
        let associator = Associator::new(credentials(&server.uri()), fast()).unwrap();
        let e = associator.preflight().await.unwrap_err();
        assert!(e.contains("HTTP 500 internal.server.error"), "{e}");
        assert!(!e.contains("s3cr3t-value"), "{e}");
        assert!(!e.contains("bad secret"), "the body is not echoed: {e}");
    }
}
