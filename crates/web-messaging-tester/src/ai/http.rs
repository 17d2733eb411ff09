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

/// When and how often a failed request is tried again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub first_backoff: Duration,
    /// The longest wait between attempts, `Retry-After` included.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempts count from 1): `Retry-After` when the
    /// server gave one, else exponential backoff; never more than `max_wait`.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .first_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        retry_after.unwrap_or(backoff).min(self.max_wait)
    }
}

/// The shared HTTP client of every provider.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    policy: RetryPolicy,
}

impl Http {
    /// A client with the time limits above.
    pub fn new() -> Result<Http, String> {
        let client = reqwest::Client::builder()
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

    /// The underlying client, to build requests with.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes (again for each attempt) and decodes its JSON answer.
    /// `what` names the request in errors and logs; every text in `secrets` is replaced by
    /// `***` in any error.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
        secrets: &[&str],
    ) -> Result<T, ProviderError> {
        let clean = |text: String| ProviderError(redact(&text, secrets));
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
                    redact(&describe_transport(e), secrets)
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
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After` as seconds or as an HTTP date.
fn parse_retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get("retry-after")?.to_str().ok()?.trim();
    retry_after_value(value, jiff::Timestamp::now())
}

fn retry_after_value(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, String> {
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| format!("HTTP {status}, but the answer could not be read: {e}"))?;
    if !status.is_success() {
        return Err(match error_message(&body) {
            Some(message) => format!("HTTP {status}: {message}"),
            None if body.trim().is_empty() => format!("HTTP {status}"),
            None => format!("HTTP {status}: {}", snippet(&body)),
        });
    }
    serde_json::from_str(&body).map_err(|e| {
        format!(
            "the answer was not what the API returns ({e}): {}",
            snippet(&body)
        )
    })
}

/// The error text of the usual JSON error shapes: OpenAI's and Google's
/// `{"error": {"message": ...}}`, Ollama's `{"error": "..."}`, OAuth's `error_description`.
fn error_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let error = value.get("error");
    let text = error
        .and_then(|e| e.get("message"))
        .or_else(|| value.get("error_description"))
        .or(error)?
        .as_str()?
        .trim()
        .to_string();
    (!text.is_empty()).then_some(text)
}

/// The start of a body, on one line, for error messages.
fn snippet(body: &str) -> String {
    const LIMIT: usize = 200;
    let flat: String = body
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > LIMIT {
        let cut: String = flat.chars().take(LIMIT).collect();
        format!("'{cut}...'")
    } else {
        format!("'{flat}'")
    }
}

/// A transport error with its causes (reqwest's own text stops at "error sending request").
fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!(
            "no answer within {} seconds ({})",
            REQUEST_TIMEOUT.as_secs(),
            e.url().map(|u| u.as_str()).unwrap_or("no URL")
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
    let url = e.url().map(|u| u.as_str()).unwrap_or("the server");
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

/// `text` with every secret replaced by `***`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_and_retry_after_wins() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.wait(1, None), Duration::from_millis(500));
        assert_eq!(policy.wait(2, None), Duration::from_secs(1));
        assert_eq!(policy.wait(3, None), Duration::from_secs(2));
        assert_eq!(policy.wait(20, None), Duration::from_secs(30));
        assert_eq!(
            policy.wait(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            policy.wait(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now: jiff::Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(retry_after_value("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after_value("Wed, 01 Jan 2025 00:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            retry_after_value("Tue, 31 Dec 2024 00:00:05 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after_value("soon", now), None);
    }

    #[test]
    fn error_shapes_and_redaction() {
        assert_eq!(
            error_message(r#"{"error":{"message":"Incorrect API key provided: sk-123"}}"#),
            Some("Incorrect API key provided: sk-123".into())
        );
        assert_eq!(
            error_message(r#"{"error":"model 'x' not found"}"#),
            Some("model 'x' not found".into())
        );
        assert_eq!(
            error_message(r#"{"error":"invalid_grant","error_description":"Invalid JWT"}"#),
            Some("Invalid JWT".into())
        );
        assert_eq!(error_message("<html>"), None);
        assert_eq!(
            redact("key sk-123 and sk-123", &["sk-123"]),
            "key *** and ***"
        );
    }
}
