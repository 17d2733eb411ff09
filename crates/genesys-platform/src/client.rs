//! The client: login, the request budget, retries, time limits, and the calls.

use crate::bucket::Bucket;
use crate::error::{PlatformError, error_code};
use crate::models::{
    AggregateResponse, AnalyticsConversation, ErrorBody, Listing, MessageConversation, MessageData,
    NamedEntity, TokenAnswer,
};
use crate::retry_after;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Where the login, the Platform API and the Genesys Cloud app are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Base of `POST /oauth/token` (`https://login.mypurecloud.ie`).
    pub login: String,
    /// Base of the Platform API (`https://api.mypurecloud.ie`).
    pub api: String,
    /// Base of the Genesys Cloud app, for links (`https://apps.mypurecloud.ie`).
    pub apps: String,
}

impl Endpoints {
    /// `mypurecloud.ie` → `https://login.mypurecloud.ie`, `https://api.…`, `https://apps.…`;
    /// a full base URL (`http://127.0.0.1:8080`: a proxy, the simulator, a test server) is
    /// used for all three.
    pub fn for_region(region: &str) -> Result<Endpoints, String> {
        let region = region.trim().trim_end_matches('/');
        if region.starts_with("http://") || region.starts_with("https://") {
            return Ok(Endpoints::single(region));
        }
        let bare = region.trim_start_matches('.');
        let valid = !bare.is_empty()
            && bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':');
        if !valid {
            return Err(format!(
                "the region must be your organisation's domain, like mypurecloud.ie or euw2.pure.cloud (or a base URL), not '{region}'"
            ));
        }
        Ok(Endpoints {
            login: format!("https://login.{bare}"),
            api: format!("https://api.{bare}"),
            apps: format!("https://apps.{bare}"),
        })
    }

    /// One base URL for the login, the API and the links (the simulator, a test server).
    pub fn single(base: &str) -> Endpoints {
        let base = base.trim_end_matches('/').to_string();
        Endpoints {
            login: base.clone(),
            api: base.clone(),
            apps: base,
        }
    }

    /// The conversation's page in Genesys Cloud (interaction details, admin view).
    pub fn conversation_link(&self, conversation_id: &str) -> String {
        format!(
            "{}/directory/#/analytics/interactions/{conversation_id}/admin",
            self.apps
        )
    }
}

/// An OAuth client's credentials (client-credentials grant). `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    client_id: String,
    secret: String,
}

impl Credentials {
    /// Credentials from their two parts.
    pub fn new(client_id: impl Into<String>, secret: impl Into<String>) -> Credentials {
        Credentials {
            client_id: client_id.into(),
            secret: secret.into(),
        }
    }

    /// The client's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("secret", &"***")
            .finish()
    }
}

/// One finished HTTP exchange, for `--verbose` logs. Never holds a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// `GET`, `POST`, `PATCH`.
    pub method: String,
    /// The path, without host or query.
    pub path: String,
    /// The status, `None` when no answer came (time-out, connection refused).
    pub status: Option<u16>,
    /// From sending to the answer's end.
    pub latency: Duration,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// Called after every HTTP exchange.
pub type CallObserver = Arc<dyn Fn(&CallRecord) + Send + Sync>;
/// Called with every new access token, so that the caller can mask it in its output.
pub type TokenObserver = Arc<dyn Fn(&str) + Send + Sync>;

/// How the client paces, times and retries its calls.
#[derive(Clone)]
pub struct ClientOptions {
    /// The request budget of every clone of the client together, per minute. Genesys'
    /// default per client-credentials token is 300 (Genesys' Platform API documentation); the default here
    /// keeps a fifth of that for other users of the same OAuth client.
    pub rate_per_minute: u32,
    /// Requests that may go out at once before the rate applies.
    pub burst: u32,
    /// Attempts in all per call (429, 5xx, time-outs and connection errors are retried).
    pub attempts: u32,
    /// Wait before the first retry without `Retry-After`; doubled each time.
    pub backoff: Duration,
    /// The longest wait between attempts, `Retry-After` included.
    pub max_retry_wait: Duration,
    /// Time limit of one attempt.
    pub attempt_timeout: Duration,
    /// Time limit of a whole call, retries and waits for the budget included.
    pub call_deadline: Duration,
    /// Sees every exchange (method, path, status, latency).
    pub observer: Option<CallObserver>,
    /// Sees every access token obtained.
    pub token_observer: Option<TokenObserver>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            rate_per_minute: 240,
            burst: 10,
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_retry_wait: retry_after::MAX_WAIT,
            attempt_timeout: Duration::from_secs(15),
            call_deadline: Duration::from_secs(90),
            observer: None,
            token_observer: None,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("rate_per_minute", &self.rate_per_minute)
            .field("burst", &self.burst)
            .field("attempts", &self.attempts)
            .field("backoff", &self.backoff)
            .field("max_retry_wait", &self.max_retry_wait)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("call_deadline", &self.call_deadline)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// The kinds of named entities the steps look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    /// A routing queue (`/api/v2/routing/queues`).
    Queue,
    /// An Architect flow outcome (`/api/v2/flows/outcomes`).
    FlowOutcome,
    /// An Architect flow milestone (`/api/v2/flows/milestones`).
    FlowMilestone,
    /// An Architect flow (`/api/v2/flows`).
    Flow,
}

impl EntityKind {
    /// The listing's path.
    pub fn path(self) -> &'static str {
        match self {
            EntityKind::Queue => "/api/v2/routing/queues",
            EntityKind::FlowOutcome => "/api/v2/flows/outcomes",
            EntityKind::FlowMilestone => "/api/v2/flows/milestones",
            EntityKind::Flow => "/api/v2/flows",
        }
    }

    /// The permission the listing needs (Genesys' Platform API documentation).
    pub fn permission(self) -> &'static str {
        match self {
            EntityKind::Queue => "routing:queue:view",
            EntityKind::FlowOutcome => "architect:flowOutcome:view",
            EntityKind::FlowMilestone => "architect:flowMilestone:view",
            EntityKind::Flow => "architect:flow:view",
        }
    }

    /// `queue`, `flow outcome`...
    pub fn noun(self) -> &'static str {
        match self {
            EntityKind::Queue => "queue",
            EntityKind::FlowOutcome => "flow outcome",
            EntityKind::FlowMilestone => "flow milestone",
            EntityKind::Flow => "flow",
        }
    }
}

/// What a name lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The entity of that name (compared case-insensitively).
    Found(NamedEntity),
    /// No entity has that name; the closest names the API listed, best first (at most 3).
    Unknown {
        /// Close matches.
        suggestions: Vec<String>,
    },
}

/// A permission check of the preflight: one harmless request with a made-up id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Probe {
    /// `GET /api/v2/conversations/messages/{id}/details`.
    MessageDetails,
    /// `GET /api/v2/conversations/messages/{id}`.
    Conversation,
    /// `GET /api/v2/analytics/conversations/{id}/details`.
    AnalyticsDetails,
    /// `POST /api/v2/analytics/flows/aggregates/query`.
    FlowAggregates,
    /// A name lookup.
    Lookup(EntityKind),
    /// `PATCH /api/v2/conversations/messages/{id}` (of a made-up id: disconnects nothing).
    Disconnect,
}

impl Probe {
    /// The permission a `403` of this probe means is missing (Genesys' Platform API documentation).
    pub fn permission(self) -> &'static str {
        match self {
            Probe::MessageDetails => "conversation:webmessaging:view",
            Probe::Conversation => "conversation:message:view",
            Probe::AnalyticsDetails => "analytics:conversationDetail:view",
            Probe::FlowAggregates => "analytics:flowAggregate:view",
            Probe::Lookup(kind) => kind.permission(),
            Probe::Disconnect => "conversation:communication:disconnect",
        }
    }
}

/// The made-up id of permission probes.
const PROBE_ID: &str = "00000000-0000-4000-8000-00000000f00d";

/// A Platform API client. Cheap to clone: clones share the login, the token and the request
/// budget.
#[derive(Clone)]
pub struct PlatformClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoints: Endpoints,
    credentials: Credentials,
    options: ClientOptions,
    bucket: Bucket,
    token: Mutex<Option<(String, Instant)>>,
}

impl fmt::Debug for PlatformClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformClient")
            .field("endpoints", &self.inner.endpoints)
            .field("credentials", &self.inner.credentials)
            .finish()
    }
}

/// A finished exchange.
struct Answer {
    status: u16,
    body: String,
}

impl PlatformClient {
    /// A client with the default options; nothing is sent yet.
    pub fn new(endpoints: Endpoints, credentials: Credentials) -> Result<Self, PlatformError> {
        PlatformClient::with_options(endpoints, credentials, ClientOptions::default())
    }

    /// A client with these options; nothing is sent yet.
    pub fn with_options(
        endpoints: Endpoints,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Self, PlatformError> {
        let http = crate::crypto::http_client_builder()
            .timeout(options.attempt_timeout)
            .connect_timeout(options.attempt_timeout)
            .user_agent(concat!("genesys-platform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PlatformError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(PlatformClient {
            inner: Arc::new(Inner {
                http,
                bucket: Bucket::new(options.rate_per_minute, options.burst),
                endpoints,
                credentials,
                options,
                token: Mutex::new(None),
            }),
        })
    }

    /// Where the client sends its calls.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The conversation's page in Genesys Cloud.
    pub fn conversation_link(&self, conversation_id: &str) -> String {
        self.inner.endpoints.conversation_link(conversation_id)
    }

    /// Logs in now (otherwise the first call does).
    pub async fn login(&self) -> Result<(), PlatformError> {
        self.token(None).await.map(|_| ())
    }

    /// `GET /api/v2/conversations/messages/{messageId}/details`.
    pub async fn message_details(&self, message_id: &str) -> Result<MessageData, PlatformError> {
        let path = format!(
            "/api/v2/conversations/messages/{}/details",
            encode(message_id)
        );
        self.get_json(&path, &[]).await
    }

    /// `GET /api/v2/conversations/messages/{conversationId}`: the live conversation.
    pub async fn conversation(
        &self,
        conversation_id: &str,
    ) -> Result<MessageConversation, PlatformError> {
        let path = format!("/api/v2/conversations/messages/{}", encode(conversation_id));
        self.get_json(&path, &[]).await
    }

    /// `GET /api/v2/analytics/conversations/{id}/details`; `None` while it answers 404 (not
    /// indexed yet).
    pub async fn analytics_conversation(
        &self,
        conversation_id: &str,
    ) -> Result<Option<AnalyticsConversation>, PlatformError> {
        let path = format!(
            "/api/v2/analytics/conversations/{}/details",
            encode(conversation_id)
        );
        match self.get_json(&path, &[]).await {
            Ok(details) => Ok(Some(details)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The milestones the conversation's flows reached, by milestone id, with their counts:
    /// `POST /api/v2/analytics/flows/aggregates/query` filtered on the conversation, grouped
    /// by `flowMilestoneId` over `interval` (`start/end`, ISO-8601).
    pub async fn flow_milestones(
        &self,
        conversation_id: &str,
        interval: &str,
    ) -> Result<BTreeMap<String, u64>, PlatformError> {
        let body = json!({
            "interval": interval,
            "filter": {"type": "and", "predicates": [
                {"dimension": "conversationId", "value": conversation_id}
            ]},
            "groupBy": ["flowMilestoneId"],
            "metrics": ["nFlowMilestone"],
        });
        let answer: AggregateResponse = self
            .json(
                Method::POST,
                "/api/v2/analytics/flows/aggregates/query",
                &[],
                Some(&body),
            )
            .await?;
        let mut milestones = BTreeMap::new();
        for result in answer.results {
            let Some(id) = result.group.get("flowMilestoneId") else {
                continue;
            };
            let count: f64 = result
                .data
                .iter()
                .flat_map(|d| &d.metrics)
                .filter(|m| m.metric.as_deref() == Some("nFlowMilestone"))
                .filter_map(|m| m.stats.count)
                .sum();
            // A count is a whole, non-negative number; anything else is read as at least one.
            if count >= 1.0 {
                let whole = format!("{:.0}", count.floor()).parse::<u64>().unwrap_or(1);
                *milestones.entry(id.clone()).or_insert(0) += whole;
            }
        }
        Ok(milestones)
    }

    /// One page of a listing, filtered by `name` when given.
    pub async fn list(
        &self,
        kind: EntityKind,
        name: Option<&str>,
        page_size: u32,
    ) -> Result<Listing, PlatformError> {
        let size = page_size.clamp(1, 100).to_string();
        let mut query = vec![("pageSize", size.as_str()), ("pageNumber", "1")];
        if let Some(name) = name {
            query.push(("name", name));
        }
        self.get_json(kind.path(), &query).await
    }

    /// `GET {listing}/{id}`: the entity's name from its id (e.g. a milestone id from the
    /// flows aggregates).
    pub async fn entity(&self, kind: EntityKind, id: &str) -> Result<NamedEntity, PlatformError> {
        let path = format!("{}/{}", kind.path(), encode(id));
        self.get_json(&path, &[]).await
    }

    /// Finds the entity called `name` (case-insensitively); when there is none, the closest
    /// names of the first page of the listing.
    pub async fn lookup(&self, kind: EntityKind, name: &str) -> Result<Lookup, PlatformError> {
        let exact = self.list(kind, Some(name), 25).await?;
        if let Some(found) = exact
            .entities
            .into_iter()
            .find(|e| e.name.eq_ignore_ascii_case(name.trim()))
        {
            return Ok(Lookup::Found(found));
        }
        let all = self.list(kind, None, 100).await?;
        let names: Vec<&str> = all.entities.iter().map(|e| e.name.as_str()).collect();
        Ok(Lookup::Unknown {
            suggestions: crate::suggest::close_matches(name, &names, 3),
        })
    }

    /// `PATCH /api/v2/conversations/messages/{id}` `{"state":"disconnected"}`: ends the
    /// conversation for everyone (a test conversation must not wait in a queue for an agent).
    pub async fn disconnect(&self, conversation_id: &str) -> Result<(), PlatformError> {
        let path = format!("/api/v2/conversations/messages/{}", encode(conversation_id));
        let body = json!({"state": "disconnected"});
        self.call(Method::PATCH, &path, &[], Some(&body))
            .await
            .and_then(|answer| success(Method::PATCH.as_str(), &path, answer).map(|_| ()))
    }

    /// Whether the client has the permission `probe` needs: `Ok(true)` when the server
    /// answered anything but 403 for a made-up id (404 `not.found` means allowed), `Ok(false)`
    /// on 403, an error when it could not tell (no answer, 5xx, 401 after renewal).
    pub async fn check_permission(&self, probe: Probe) -> Result<bool, PlatformError> {
        let outcome = match probe {
            Probe::MessageDetails => self.message_details(PROBE_ID).await.map(|_| ()),
            Probe::Conversation => self.conversation(PROBE_ID).await.map(|_| ()),
            Probe::AnalyticsDetails => {
                let path = format!("/api/v2/analytics/conversations/{PROBE_ID}/details");
                self.get_json::<Value>(&path, &[]).await.map(|_| ())
            }
            Probe::FlowAggregates => {
                let now = jiff::Timestamp::now();
                let start = now - jiff::SignedDuration::from_hours(1);
                let interval = format!("{start}/{now}");
                self.flow_milestones(PROBE_ID, &interval).await.map(|_| ())
            }
            Probe::Lookup(kind) => self.list(kind, Some(PROBE_ID), 1).await.map(|_| ()),
            Probe::Disconnect => self.disconnect(PROBE_ID).await,
        };
        match outcome {
            Ok(()) => Ok(true),
            Err(e) if e.is_not_found() => Ok(true),
            Err(e) if e.is_missing_permission() => Ok(false),
            // A PATCH of a made-up id may be refused as a bad request: the permission check
            // passed before the id was looked at.
            Err(e) if probe == Probe::Disconnect && e.status() == Some(400) => Ok(true),
            Err(e) => Err(e),
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, PlatformError> {
        self.json(Method::GET, path, query, None).await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<T, PlatformError> {
        let answer = self.call(method.clone(), path, query, body).await?;
        let body = success(method.as_str(), path, answer)?;
        serde_json::from_str(&body).map_err(|e| PlatformError::Garbage {
            method: method.to_string(),
            path: path.to_string(),
            reason: format!(
                "{} at line {} column {}; {} bytes",
                category(&e),
                e.line(),
                e.column(),
                body.len()
            ),
        })
    }

    /// A valid token: the cached one, or a new login. `stale` is a token the API refused
    /// (401): it is dropped, unless another call already replaced it.
    async fn token(&self, stale: Option<&str>) -> Result<String, PlatformError> {
        let mut cached = self.inner.token.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() < *expires
            && stale != Some(token.as_str())
        {
            return Ok(token.clone());
        }
        *cached = None;
        let url = format!("{}/oauth/token", self.inner.endpoints.login);
        let credentials = &self.inner.credentials;
        let answer = self
            .send("POST", "/oauth/token", || {
                self.inner
                    .http
                    .post(&url)
                    .basic_auth(&credentials.client_id, Some(&credentials.secret))
                    .form(&[("grant_type", "client_credentials")])
            })
            .await?;
        let body = success("POST", "/oauth/token", answer)?;
        let garbage = |reason: &str| PlatformError::Garbage {
            method: "POST".into(),
            path: "/oauth/token".into(),
            reason: reason.into(),
        };
        let parsed: TokenAnswer =
            serde_json::from_str(&body).map_err(|_| garbage("not the login's JSON"))?;
        let token = parsed
            .access_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| garbage("no access_token"))?;
        if let Some(observer) = &self.inner.options.token_observer {
            observer(&token);
        }
        let lifetime = parsed.expires_in.unwrap_or(3600);
        // Renewed a minute early, so that no call goes out with a token about to expire.
        let expires = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1));
        *cached = Some((token.clone(), expires));
        Ok(token)
    }

    /// An authenticated call, within the call deadline, with one renewal of the token on 401.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, PlatformError> {
        let deadline = self.inner.options.call_deadline;
        let work = async {
            let url = format!("{}{path}", self.inner.endpoints.api);
            let mut token = self.token(None).await?;
            let mut renewed = false;
            loop {
                let answer = self
                    .send(method.as_str(), path, || {
                        let mut request = self
                            .inner
                            .http
                            .request(method.clone(), &url)
                            .bearer_auth(&token);
                        if !query.is_empty() {
                            request = request.query(query);
                        }
                        if let Some(body) = body {
                            request = request.json(body);
                        }
                        request
                    })
                    .await?;
                if answer.status == 401 && !renewed {
                    renewed = true;
                    token = self.token(Some(&token)).await?;
                    continue;
                }
                return Ok(answer);
            }
        };
        match tokio::time::timeout(deadline, work).await {
            Ok(result) => result,
            Err(_) => Err(PlatformError::Timeout {
                method: method.to_string(),
                path: path.to_string(),
                after: deadline,
            }),
        }
    }

    /// Sends a request (built again for each attempt) within the budget, retrying 429 (after
    /// `Retry-After`, capped), 5xx, time-outs and connection errors.
    async fn send(
        &self,
        method: &str,
        path: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, PlatformError> {
        let options = &self.inner.options;
        let attempts = options.attempts.max(1);
        let rule = crate::retry::RetryRule {
            attempts,
            first_backoff: options.backoff,
            max_wait: options.max_retry_wait,
        };
        for attempt in 1..=attempts {
            let last = attempt == attempts;
            self.inner.bucket.take().await;
            let started = Instant::now();
            let outcome = async {
                let response = build().send().await?;
                let status = response.status().as_u16();
                let wait = retry_after::from_headers(response.headers());
                let body = response.text().await?;
                Ok::<_, reqwest::Error>((status, wait, body))
            }
            .await;
            let record = |status| CallRecord {
                method: method.to_string(),
                path: path.to_string(),
                status,
                latency: started.elapsed(),
                attempt,
            };
            match outcome {
                Ok((status, retry_after, body)) => {
                    self.observe(&record(Some(status)));
                    if !crate::retry::RetryRule::retryable(status) || last {
                        return Ok(Answer { status, body });
                    }
                    let wait = rule.wait(attempt, retry_after);
                    if status == 429 {
                        // Every clone waits: the budget is the OAuth client's, not this call's.
                        self.inner.bucket.pause(wait);
                    } else {
                        tokio::time::sleep(wait).await;
                    }
                    tracing::debug!(target: "genesys_platform", status, method, path, "retrying in {wait:?}");
                }
                Err(e) => {
                    self.observe(&record(None));
                    if last {
                        return Err(if e.is_timeout() {
                            PlatformError::Timeout {
                                method: method.into(),
                                path: path.into(),
                                after: options.attempt_timeout,
                            }
                        } else {
                            PlatformError::Transport {
                                method: method.into(),
                                path: path.into(),
                                reason: self.mask(&format!(
                                    "{} (after {attempts} attempts)",
                                    describe_transport(&e)
                                )),
                            }
                        });
                    }
                    tokio::time::sleep(rule.wait(attempt, None)).await;
                }
            }
        }
        Err(PlatformError::Config("no attempt was made".into()))
    }

    fn observe(&self, record: &CallRecord) {
        tracing::debug!(
            target: "genesys_platform",
            "{} {} → {} in {} ms",
            record.method,
            record.path,
            record.status.map_or_else(|| "no answer".to_string(), |s| s.to_string()),
            record.latency.as_millis()
        );
        if let Some(observer) = &self.inner.options.observer {
            observer(record);
        }
    }

    /// Takes the secret out of a text that is about to leave the client.
    fn mask(&self, text: &str) -> String {
        let secret = &self.inner.credentials.secret;
        if secret.is_empty() {
            text.to_string()
        } else {
            text.replace(secret.as_str(), "***")
        }
    }
}

/// A 2xx answer's body, or the error it describes (Platform or OAuth shape).
fn success(method: &str, path: &str, answer: Answer) -> Result<String, PlatformError> {
    if (200..300).contains(&answer.status) {
        return Ok(answer.body);
    }
    let parsed: ErrorBody = serde_json::from_str(&answer.body).unwrap_or_default();
    Err(PlatformError::Status {
        method: method.to_string(),
        path: path.to_string(),
        status: answer.status,
        code: parsed
            .code
            .as_deref()
            .and_then(error_code)
            .or_else(|| parsed.error.as_deref().and_then(error_code)),
    })
}

fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "unexpected JSON types",
        serde_json::error::Category::Eof => "cut short",
    }
}

fn describe_transport(e: &reqwest::Error) -> String {
    // reqwest's own text names the URL; this says what happened in plain words.
    if e.is_connect() {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
        let mut innermost = String::new();
        while let Some(s) = source {
            innermost = s.to_string();
            source = s.source();
        }
        format!("cannot connect: {innermost}")
    } else if e.is_body() || e.is_decode() {
        "the answer broke off".to_string()
    } else {
        "the exchange failed".to_string()
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_for_a_region_and_for_a_base_url() {
        let e = Endpoints::for_region("mypurecloud.ie").unwrap();
        assert_eq!(e.login, "https://login.mypurecloud.ie");
        assert_eq!(e.api, "https://api.mypurecloud.ie");
        assert_eq!(
            e.conversation_link("c-1"),
            "https://apps.mypurecloud.ie/directory/#/analytics/interactions/c-1/admin"
        );
        let e = Endpoints::for_region("http://127.0.0.1:9/").unwrap();
        assert_eq!(e.login, "http://127.0.0.1:9");
        assert_eq!(e.api, "http://127.0.0.1:9");
        assert!(Endpoints::for_region("my purecloud").is_err());
    }

    #[test]
    fn credentials_never_show_the_secret() {
        let c = Credentials::new("id", "s3cr3t");
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode("ab-1_2.~"), "ab-1_2.~");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
    }
}
