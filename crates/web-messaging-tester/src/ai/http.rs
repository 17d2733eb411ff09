//! HTTP for the model providers: one client, time limits on every request, retries with
//! backoff on 429 and 5xx (honouring `Retry-After`), and errors worded for a person with every
//! secret taken out.

use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

/// Log target of the provider requests (`RUST_LOG=ai=debug`).
pub const TARGET: &str = "ai";

/// Longest a request may take, answer included: local models on a CPU are slow.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A provider request that failed, worded for a person, with no secret in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError(pub String);

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When and how often a failed request is tried again: the project's one retry rule (429 and
/// 5xx, `Retry-After` honoured and capped), shared with the Platform API client.
pub use genesys_platform::RetryRule as RetryPolicy;

/// The shared HTTP client of every provider.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    policy: RetryPolicy,
}

impl Http {
    /// A client with the time limits above.
    pub fn new() -> Result<Http, String> {
        let client = genesys_platform::http_client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("web-messaging-tester/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot create the HTTP client: {e}"))?;
        Ok(Http {
            client,
            policy: RetryPolicy::default(),
        })
    }

    /// A client with another retry policy (tests: short waits).
    #[cfg(test)]
    pub fn with_policy(policy: RetryPolicy) -> Result<Http, String> {
        let mut http = Http::new()?;
        http.policy = policy;
        Ok(http)
    }

    /// The underlying client, to build requests with.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes (again for each attempt) and decodes its JSON answer.
    /// `what` names the request in errors and logs; `secrets` are registered with the run's
    /// redactor (so they are masked, in every encoding, in every output) and masked in any
    /// error.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
        secrets: &[&str],
    ) -> Result<T, ProviderError> {
        for secret in secrets {
            crate::secrets::register(secret);
        }
        let clean = |text: String| ProviderError(crate::secrets::redact(&text));
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let outcome = build().send().await;
            let elapsed = started.elapsed();
            let retry_after = match &outcome {
                Ok(response) if retryable(response.status()) => Some(parse_retry_after(response)),
                Err(e) if e.is_timeout() || e.is_connect() => Some(None),
                _ => None,
            };
            match (&outcome, retry_after) {
                (Ok(response), _) => tracing::debug!(
                    target: TARGET,
                    "{what}: HTTP {} in {} ms (attempt {attempt})",
                    response.status().as_u16(),
                    elapsed.as_millis()
                ),
                (Err(e), _) => tracing::debug!(
                    target: TARGET,
                    "{what}: {} (attempt {attempt})",
                    crate::secrets::redact(&describe_transport(e))
                ),
            }
            if let Some(retry_after) = retry_after
                && attempt < self.policy.attempts
            {
                let wait = self.policy.wait(attempt, retry_after);
                tracing::debug!(target: TARGET, "{what}: retrying in {} ms", wait.as_millis());
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            let tries = if attempt > 1 {
                format!(" (after {attempt} attempts)")
            } else {
                String::new()
            };
            return match outcome {
                Ok(response) => decode(response)
                    .await
                    .map_err(|e| clean(format!("{e}{tries}"))),
                Err(e) => Err(clean(format!("{}{tries}", describe_transport(&e)))),
            };
        }
    }
}

fn retryable(status: StatusCode) -> bool {
    RetryPolicy::retryable(status.as_u16())
}

/// `Retry-After` as seconds or as an HTTP date (capped, never a panic).
fn parse_retry_after(response: &Response) -> Option<Duration> {
    genesys_platform::retry_after::from_headers(response.headers())
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, String> {
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| format!("HTTP {status}, but the answer could not be read: {e}"))?;
    if !status.is_success() {
        // Never the body itself: a server may echo the request, key included.
        return Err(match error_summary(&body) {
            Some(summary) => format!("HTTP {status}: {summary}"),
            None => format!("HTTP {status}"),
        });
    }
    serde_json::from_str(&body).map_err(|e| {
        format!(
            "the answer was not what the API returns ({}; {} bytes)",
            crate::secrets::bound(&e.to_string()),
            body.len()
        )
    })
}

/// What an error body says, as codes: OpenAI's `error.code`/`error.type`, Google's
/// `error.status`, OAuth's `error`; Ollama's `{"error": "..."}` words, redacted and cut to
/// 200 characters. Never the body's `message`s, which may quote the request.
fn error_summary(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let error = value.get("error")?;
    if let Some(text) = error.as_str() {
        if let Some(code) = crate::run::associate::error_code(text) {
            return Some(code);
        }
        let text = crate::secrets::escape_controls(&crate::secrets::redact(text), false);
        let cut = crate::secrets::global().redact_truncated(&text, 200);
        return (!cut.trim().is_empty()).then(|| cut.into_owned());
    }
    let codes: Vec<String> = ["code", "status", "type"]
        .iter()
        .filter_map(|key| {
            let value = error.get(key)?;
            match value {
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::String(s) => crate::run::associate::error_code(s),
                _ => None,
            }
        })
        .collect();
    (!codes.is_empty()).then(|| codes.join(" "))
}

/// A transport error with its causes (reqwest's own text stops at "error sending request").
fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!(
            "no answer within {} seconds ({})",
            REQUEST_TIMEOUT.as_secs(),
            e.url().map(reqwest::Url::as_str).unwrap_or("no URL")
        );
    }
    // The innermost cause says what happened ("Connection refused"); the layers between
    // are the client's plumbing.
    let mut cause = std::error::Error::source(e);
    let mut innermost = None;
    while let Some(c) = cause {
        innermost = Some(c.to_string());
        cause = c.source();
    }
    let url = e.url().map(reqwest::Url::as_str).unwrap_or("the server");
    let what = if e.is_connect() {
        format!("could not connect to {url}")
    } else {
        format!("the request to {url} failed")
    };
    match innermost {
        Some(cause) => format!("{what}: {cause}"),
        None => format!("{what}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_huge_or_strange_retry_after_never_panics() {
        use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};
        let server = MockServer::start().await;
        for value in ["1e30", "NaN", "-5", "99999999999999999999999", "inf"] {
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(429).insert_header("retry-after", value))
                .up_to_n_times(1)
                .mount(&server)
                .await;
        }
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": 1})))
            .mount(&server)
            .await;
        let http = Http::with_policy(RetryPolicy {
            attempts: 6,
            first_backoff: Duration::from_millis(1),
            max_wait: Duration::from_millis(20),
        })
        .unwrap();
        let url = server.uri();
        let answer: serde_json::Value = http
            .send_json("test", || http.client().post(&url), &[])
            .await
            .unwrap();
        assert_eq!(answer["ok"], 1);
        assert_eq!(server.received_requests().await.unwrap().len(), 6);
    }

    #[test]
    fn error_bodies_are_summarised_never_echoed() {
        assert_eq!(
            error_summary(
                r#"{"error":{"message":"Incorrect API key provided: sk-123","type":"invalid_request_error","code":"invalid_api_key"}}"#
            ),
            Some("invalid_api_key invalid_request_error".into())
        );
        assert_eq!(
            error_summary(
                r#"{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT"}}"#
            ),
            Some("400 INVALID_ARGUMENT".into())
        );
        assert_eq!(
            error_summary(r#"{"error":"model 'x' not found"}"#),
            Some("model 'x' not found".into())
        );
        assert_eq!(
            error_summary(r#"{"error":"invalid_grant","error_description":"Invalid JWT"}"#),
            Some("invalid_grant".into())
        );
        assert_eq!(error_summary(r#"{"error":{"message":"only words"}}"#), None);
        assert_eq!(error_summary("<html>"), None);
    }
}
