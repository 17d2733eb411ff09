//! The client against a local server that replays the JSON shapes Genesys documents, as
//! literal text (not produced by this crate's types), with Genesys' faults.

use genesys_platform::{
    CallRecord, ClientOptions, Credentials, Endpoints, EntityKind, Lookup, PlatformClient,
    PlatformError, Probe,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "s3cr3t-Value-77";

fn literal(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

async fn login(server: &MockServer, token: &str, times: Option<u64>) {
    let mock = Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(literal(
            200,
            &format!(r#"{{"access_token":"{token}","token_type":"bearer","expires_in":86399}}"#),
        ));
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

fn fast() -> ClientOptions {
    ClientOptions {
        backoff: Duration::from_millis(10),
        attempt_timeout: Duration::from_millis(800),
        call_deadline: Duration::from_secs(10),
        rate_per_minute: 6000,
        ..ClientOptions::default()
    }
}

fn client(server: &MockServer, options: ClientOptions) -> PlatformClient {
    PlatformClient::with_options(
        Endpoints::single(&server.uri()),
        Credentials::new("client-1", SECRET),
        options,
    )
    .unwrap()
}

/// A 404 `not.found` in Genesys' error shape (also what a conversation not indexed yet gets).
const NOT_FOUND: &str = include_str!("fixtures/not-found.json");
/// A 429 with Genesys' wording of the wait.
const TOO_MANY_REQUESTS: &str = include_str!("fixtures/too-many-requests.json");

/// Genesys' documented example, verbatim but for the ellipses.
const CONVERSATION: &str = include_str!("fixtures/conversation-live.json");

/// Genesys' documented example, trimmed the same way.
const ANALYTICS: &str = include_str!("fixtures/analytics-ended.json");

#[tokio::test]
async fn reads_the_documented_shapes() {
    let server = MockServer::start().await;
    login(&server, "tok-1", None).await;
    Mock::given(method("GET"))
        .and(path(
            "/api/v2/conversations/messages/e5958a27-27ac-4da5-83a5-7ecac4a2ff11",
        ))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(literal(200, CONVERSATION))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/api/v2/analytics/conversations/e5958a27-27ac-4da5-83a5-7ecac4a2ff11/details",
        ))
        .respond_with(literal(200, ANALYTICS))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/analytics/flows/aggregates/query"))
        .and(body_partial_json(serde_json::json!({"groupBy": ["flowMilestoneId"]})))
        .respond_with(literal(200, r#"{"results":[{"group":{"flowMilestoneId":"m1"},"data":[{"interval":"2024-04-09T18:00:00Z/2024-04-09T19:00:00Z","metrics":[{"metric":"nFlowMilestone","stats":{"count":1}}]}]}]}"#))
        .mount(&server)
        .await;
    let client = client(&server, fast());
    let conversation = client
        .conversation("e5958a27-27ac-4da5-83a5-7ecac4a2ff11")
        .await
        .unwrap();
    let customer = conversation.customer().unwrap();
    assert_eq!(customer.attributes["intent"], "billing");
    let acd = conversation
        .participants
        .iter()
        .find(|p| p.has_purpose("ACD"))
        .unwrap();
    assert_eq!(
        acd.queue.as_ref().unwrap().id.as_deref(),
        Some("e535e3d0-6c99-47e9-aa00-bf253e3b3aaa")
    );
    assert_eq!(acd.disconnect_type.as_deref(), Some("transfer"));
    assert!(
        conversation.is_active(),
        "the customer and agent are connected"
    );

    let analytics = client
        .analytics_conversation("e5958a27-27ac-4da5-83a5-7ecac4a2ff11")
        .await
        .unwrap()
        .unwrap();
    let flows: Vec<_> = analytics.flows().collect();
    assert_eq!(flows.len(), 2);
    assert_eq!(
        flows[0].1.transfer_target_name.as_deref(),
        Some("Connor Test")
    );
    assert_eq!(
        flows[0].1.outcomes[0].flow_outcome_value.as_deref(),
        Some("SUCCESS")
    );
    assert_eq!(flows[1].0.purpose.as_deref(), Some("botflow"));
    assert_eq!(flows[1].1.exit_reason.as_deref(), Some("FLOW_EXIT"));

    let milestones = client
        .flow_milestones(
            "e5958a27-27ac-4da5-83a5-7ecac4a2ff11",
            "2024-04-09T18:00:00Z/2024-04-09T19:00:00Z",
        )
        .await
        .unwrap();
    assert_eq!(milestones.get("m1"), Some(&1));
}

#[tokio::test]
async fn analytics_404_is_not_indexed_yet_and_garbage_is_an_error() {
    let server = MockServer::start().await;
    login(&server, "tok-1", None).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/analytics/conversations/c-1/details"))
        .respond_with(literal(404, NOT_FOUND))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/conversations/messages/c-1"))
        .respond_with(literal(200, "<html>gateway</html>"))
        .mount(&server)
        .await;
    let client = client(&server, fast());
    assert_eq!(client.analytics_conversation("c-1").await.unwrap(), None);
    let e = client.conversation("c-1").await.unwrap_err();
    assert!(matches!(e, PlatformError::Garbage { .. }), "{e}");
    assert!(
        !e.to_string().contains("gateway"),
        "the body is never echoed: {e}"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_by_every_clone() {
    let server = MockServer::start().await;
    login(&server, "tok-1", None).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/conversations/messages/c-1"))
        .respond_with(literal(429, TOO_MANY_REQUESTS).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(literal(200, r#"{"id":"c-1","participants":[]}"#))
        .mount(&server)
        .await;
    let client = client(&server, fast());
    client.login().await.unwrap();
    let started = Instant::now();
    let other = client.clone();
    let (a, b) = tokio::join!(client.conversation("c-1"), async {
        // Leaves the first call time to meet the 429.
        tokio::time::sleep(Duration::from_millis(200)).await;
        other.conversation("c-2").await
    });
    a.unwrap();
    b.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "both waited out Retry-After: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_401_renews_the_token_once() {
    let server = MockServer::start().await;
    login(&server, "old", Some(1)).await;
    login(&server, "new", None).await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer old"))
        .respond_with(literal(
            401,
            r#"{"message":"Invalid login credentials.","code":"bad.credentials","status":401}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer new"))
        .respond_with(literal(200, r#"{"id":"c-1","participants":[]}"#))
        .mount(&server)
        .await;
    let client = client(&server, fast());
    client.conversation("c-1").await.unwrap();

    // A server that keeps refusing gets exactly one renewal, then the 401 is the answer.
    let server = MockServer::start().await;
    login(&server, "tok", None).await;
    Mock::given(method("GET"))
        .respond_with(literal(401, r#"{"code":"bad.credentials","status":401}"#))
        .expect(2)
        .mount(&server)
        .await;
    let client2 = PlatformClient::with_options(
        Endpoints::single(&server.uri()),
        Credentials::new("client-1", SECRET),
        fast(),
    )
    .unwrap();
    let e = client2.conversation("c-1").await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.code(), Some("bad.credentials"));
}

#[tokio::test]
async fn permissions_lookups_and_disconnect() {
    let server = MockServer::start().await;
    login(&server, "tok-1", None).await;
    Mock::given(method("GET"))
        .and(path_regex_analytics())
        .respond_with(literal(403, &format!(r#"{{"message":"You are missing the following permission(s): analytics:conversationDetail:view {SECRET}","code":"missing.any.permissions","status":403}}"#)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/routing/queues"))
        .and(query_param("name", "Billing"))
        .respond_with(literal(200, r#"{"entities":[{"id":"q-1","name":"Billing","division":{"id":"d"}}],"pageSize":25,"pageNumber":1,"total":1}"#))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/routing/queues"))
        .respond_with(literal(200, r#"{"entities":[{"id":"q-1","name":"Billing"},{"id":"q-2","name":"General"}],"pageSize":100,"pageNumber":1,"total":2}"#))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/api/v2/conversations/messages/c-1"))
        .and(body_partial_json(
            serde_json::json!({"state": "disconnected"}),
        ))
        .respond_with(literal(202, "{}"))
        .expect(1)
        .mount(&server)
        .await;
    let calls: Arc<Mutex<Vec<CallRecord>>> = Arc::default();
    let seen = Arc::clone(&calls);
    let client = client(
        &server,
        ClientOptions {
            observer: Some(Arc::new(move |r: &CallRecord| {
                seen.lock().unwrap().push(r.clone())
            })),
            ..fast()
        },
    );
    assert_eq!(
        client.check_permission(Probe::AnalyticsDetails).await,
        Ok(false)
    );
    let e = client.analytics_conversation("c-9").await.unwrap_err();
    assert_eq!(e.code(), Some("missing.any.permissions"));
    assert!(!e.to_string().contains(SECRET));
    match client.lookup(EntityKind::Queue, "billing").await.unwrap() {
        Lookup::Found(q) => assert_eq!(q.id, "q-1"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        client.lookup(EntityKind::Queue, "Generall").await.unwrap(),
        Lookup::Unknown {
            suggestions: vec!["General".into()]
        }
    );
    client.disconnect("c-1").await.unwrap();
    let calls = calls.lock().unwrap();
    assert!(
        calls
            .iter()
            .any(|c| c.method == "PATCH" && c.status == Some(202))
    );
    assert!(calls.iter().all(|c| !format!("{c:?}").contains("tok-1")));
}

fn path_regex_analytics() -> wiremock::matchers::PathRegexMatcher {
    wiremock::matchers::path_regex("^/api/v2/analytics/conversations/.*/details$")
}

#[tokio::test]
async fn the_budget_is_shared_by_clones() {
    let server = MockServer::start().await;
    login(&server, "tok-1", None).await;
    Mock::given(method("GET"))
        .respond_with(literal(200, r#"{"participants":[]}"#))
        .mount(&server)
        .await;
    // 600 a minute = 10 a second, burst 2: 12 calls (and the login) need about a second.
    let client = client(
        &server,
        ClientOptions {
            rate_per_minute: 600,
            burst: 2,
            ..fast()
        },
    );
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..12 {
        let c = client.clone();
        tasks.spawn(async move { c.conversation(&format!("c-{i}")).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1000), "{elapsed:?}");
}

#[tokio::test]
async fn a_bad_login_names_the_oauth_error_and_never_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(literal(
            400,
            &format!(
                r#"{{"error":"invalid_client","description":"client secret {SECRET} is wrong"}}"#
            ),
        ))
        .mount(&server)
        .await;
    let e = client(&server, fast()).login().await.unwrap_err();
    assert_eq!(e.to_string(), "POST /oauth/token: HTTP 400 invalid_client");
}
