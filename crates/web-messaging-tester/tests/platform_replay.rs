//! The expect… steps against a local HTTP server replaying the Platform API's JSON shapes of
//! Genesys' Platform API documentation as literal text (never produced by this project's types), with the guest
//! sessions going to the simulator: every step kind passing and failing, the not-indexed
//! window (404s first), a 429 with Retry-After, the cleanup of a conversation still
//! connected, scenarios in parallel, `--verbose` API logs, and no secret anywhere.

mod common;

use common::{read_json, run_in, write};
use std::sync::atomic::{AtomicUsize, Ordering};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CLIENT_ID: &str = "replay-client";
const SECRET: &str = "Replay-S3cret-4c1d";
const TOKEN: &str = "replay-token-77aa";
const CONVERSATION: &str = "e5958a27-27ac-4da5-83a5-7ecac4a2ff11";

fn literal(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// A 404 `not.found` in Genesys' error shape (what a conversation not indexed yet gets).
const NOT_FOUND: &str = include_str!("../../genesys-platform/tests/fixtures/not-found.json");
/// A 429 with Genesys' wording of the wait.
const TOO_MANY_REQUESTS: &str =
    include_str!("../../genesys-platform/tests/fixtures/too-many-requests.json");

/// Genesys' documented example (a customer still connected, the bot's flow transferred to a queue,
/// an agent connected).
const LIVE: &str = include_str!("../../genesys-platform/tests/fixtures/conversation-live.json");

/// Genesys' documented example of the same conversation's analytics details.
const ANALYTICS: &str = include_str!("../../genesys-platform/tests/fixtures/analytics-live.json");

const MILESTONES: &str = r#"{"results":[{"group":{"flowMilestoneId":"m-1"},"data":[{"interval":"2024-04-09T18:00:00Z/2024-04-09T19:00:00Z","metrics":[{"metric":"nFlowMilestone","stats":{"count":1}}]}]}]}"#;

/// 404 `not.found` for the first `misses` calls (not indexed yet), then the details.
struct NotIndexedYet {
    misses: usize,
    calls: AtomicUsize,
}

impl Respond for NotIndexedYet {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.misses {
            literal(404, NOT_FOUND)
        } else {
            literal(200, ANALYTICS)
        }
    }
}

async fn genesys() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(literal(
            200,
            &format!(r#"{{"access_token":"{TOKEN}","token_type":"bearer","expires_in":86399}}"#),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(
            r"^/api/v2/conversations/messages/[^/]+/details$",
        ))
        .respond_with(literal(
            200,
            &format!(r#"{{"id":"m","conversationId":"{CONVERSATION}","direction":"outbound"}}"#),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/api/v2/conversations/messages/{CONVERSATION}"
        )))
        .respond_with(literal(200, LIVE))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!(
            "/api/v2/conversations/messages/{CONVERSATION}"
        )))
        .respond_with(literal(202, "{}"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/api/v2/analytics/conversations/{CONVERSATION}/details"
        )))
        .respond_with(NotIndexedYet {
            misses: 2,
            calls: AtomicUsize::new(0),
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/analytics/flows/aggregates/query"))
        .respond_with(literal(200, MILESTONES))
        .mount(&server)
        .await;
    // The first queue lookup meets the rate limit (F429's normalized answer).
    Mock::given(method("GET"))
        .and(path("/api/v2/routing/queues"))
        .and(query_param("name", "Connor Test"))
        .respond_with(literal(429, TOO_MANY_REQUESTS).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    for (listing, name, id) in [
        (
            "/api/v2/routing/queues",
            "Connor Test",
            "e535e3d0-6c99-47e9-aa00-bf253e3b3aaa",
        ),
        (
            "/api/v2/routing/queues",
            "General",
            "0a0a0a0a-0000-4000-8000-000000000001",
        ),
        ("/api/v2/flows/outcomes", "Identified", "9b1f-1"),
        ("/api/v2/flows/milestones", "Greeted", "m-1"),
        ("/api/v2/flows", "Connor", "c422793b-1"),
        ("/api/v2/flows", "MyBot", "12aeeeff-1"),
    ] {
        Mock::given(method("GET"))
            .and(path(listing))
            .and(query_param("name", name))
            .respond_with(literal(
                200,
                &format!(r#"{{"entities":[{{"id":"{id}","name":"{name}","selfUri":"{listing}/{id}"}}],"pageSize":25,"pageNumber":1,"total":1,"pageCount":1}}"#),
            ))
            .with_priority(2)
            .mount(&server)
            .await;
    }
    // Anything else listed (the preflight's made-up names): nothing.
    Mock::given(method("GET"))
        .and(path_regex(
            r"^/api/v2/(routing/queues|flows(/outcomes|/milestones)?)$",
        ))
        .respond_with(literal(
            200,
            r#"{"entities":[],"pageSize":25,"pageNumber":1,"total":0,"pageCount":0}"#,
        ))
        .with_priority(5)
        .mount(&server)
        .await;
    server
}

const BOT: &str = "states:\n  main:\n    - reply: Hello there\n";

const SCRIPT: &str = r#"
config:
  timeout: 5
scenarios:
  Every fact holds:
    - say: hi
    - waitForReplyContaining: hello
    - expectParticipantData: { intent: billing, customerTier: /^gold$/, ACD End: exists }
    - expectTransferTo: Connor Test
    - expectFlowOutcome: { Identified: success }
    - expectMilestone: Greeted
    - expectFlowExit: { flow: Connor, reason: TRANSFER }
    - expectBotFlow: MyBot
    - expectFlowExit: { flow: MyBot, reason: FLOW_EXIT }
  Wrong queue:
    - say: hi
    - waitForReplyContaining: hello
    - expectTransferTo: General
      timeout: 2s
  No transfer expected:
    - say: hi
    - waitForReplyContaining: hello
    - expectNoTransfer: true
  Disconnect type:
    - say: hi
    - waitForReplyContaining: hello
    - expectDisconnectType: client
      timeout: 2s
  Wrong outcome:
    - say: hi
    - waitForReplyContaining: hello
    - expectFlowOutcome: { Identified: failure }
      timeout: 8s
"#;

#[tokio::test]
async fn every_step_kind_against_the_documented_shapes() {
    let server = genesys().await;
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "script.yml", SCRIPT);
    let bot = write(dir.path(), "bot.yml", BOT);
    let report = dir.path().join("report.json");
    let uri = server.uri();
    let run = run_in(
        None,
        &[
            "scripted",
            &script,
            "--simulate",
            &bot,
            "--parallel",
            "5",
            "--verbose",
            "--report-json",
            &report.display().to_string(),
        ],
        &[
            ("GENESYS_REGION", uri.as_str()),
            ("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID),
            ("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET),
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(out.contains("PASS - Every fact holds"), "{out}");
    for wanted in [
        "expectTransferTo: General: transferred to queue Connor Test, not General (polled every second for 2 seconds)",
        "expectNoTransfer: transferred to queue Connor Test (checked once)",
        "expectDisconnectType: client: the customer is still connected (no disconnectType yet)",
        "expectFlowOutcome: {Identified: failure}: outcome Identified is SUCCESS, not FAILURE; outcomes in analytics: Identified=SUCCESS",
        "Conversation cleanup: disconnected: it was still connected",
        &format!("/directory/#/analytics/interactions/{CONVERSATION}/admin"),
    ] {
        assert!(out.contains(wanted), "missing {wanted:?} in:\n{out}");
    }
    // --verbose logs each API call, never a token.
    assert!(
        run.stderr
            .contains("platform: GET /api/v2/conversations/messages/"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("→ 429"), "the 429 was met and retried");
    let report_text = std::fs::read_to_string(&report).unwrap();
    for text in [out.as_str(), run.stderr.as_str(), report_text.as_str()] {
        assert!(!text.contains(SECRET) && !text.contains(TOKEN));
    }
    let json = read_json(&report);
    let scenarios = json["scenarios"].as_array().unwrap();
    let first = &scenarios[0];
    assert_eq!(first["passed"], true);
    let steps: Vec<&str> = first["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["description"].as_str().unwrap())
        .collect();
    assert!(steps.contains(&"expectMilestone: Greeted"), "{steps:?}");
    assert_eq!(first["conversation"]["id"], CONVERSATION);
    assert_eq!(
        first["conversation"]["cleanup"],
        "disconnected: it was still connected"
    );

    let requests = server.received_requests().await.unwrap();
    let count = |m: &str, p: &str| {
        requests
            .iter()
            .filter(|r| r.method.as_str() == m && r.url.path() == p)
            .count()
    };
    assert!(
        count(
            "GET",
            &format!("/api/v2/analytics/conversations/{CONVERSATION}/details")
        ) >= 3,
        "polled through the not-indexed window"
    );
    assert_eq!(
        count(
            "PATCH",
            &format!("/api/v2/conversations/messages/{CONVERSATION}")
        ),
        5,
        "each scenario's conversation was still connected, so each was disconnected"
    );
}

#[tokio::test]
async fn keep_conversations_and_a_missing_permission() {
    let server = genesys().await;
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "script.yml",
        "scenarios:\n  Data:\n    - say: hi\n    - waitForReplyContaining: hello\n    - expectParticipantData: { intent: billing }\n",
    );
    let bot = write(dir.path(), "bot.yml", BOT);
    let uri = server.uri();
    let env = [
        ("GENESYS_REGION", uri.as_str()),
        ("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID),
        ("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET),
    ];
    let run = run_in(
        None,
        &[
            "scripted",
            &script,
            "--simulate",
            &bot,
            "--keep-conversations",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Conversation cleanup: kept (--keep-conversations): it is still connected"),
        "{}",
        run.stdout
    );
    let patches = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .count();
    assert_eq!(
        patches, 0,
        "nothing disconnected, not even the preflight probe"
    );

    // A role without the disconnect permission: exit 2 before any session, naming it.
    Mock::given(method("PATCH"))
        .respond_with(literal(403, r#"{"message":"You are missing the following permission(s): conversation:communication:disconnect","code":"missing.any.permissions","status":403}"#))
        .with_priority(1)
        .mount(&server)
        .await;
    let run = run_in(None, &["scripted", &script, "--simulate", &bot], &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("conversation:communication:disconnect (needed by the cleanup"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("[STARTED]"),
        "nothing ran: {}",
        run.stdout
    );
}
