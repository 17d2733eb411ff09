//! Resource limits: the session store's cap and TTL eviction, token length, the connection
//! cap, the handshake, configure and idle timeouts, frame size and frame rate, and flows with
//! extreme numbers. Real sockets on loopback, hand-written JSON.

mod support;

use futures_util::SinkExt;
use serde_json::json;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use web_messaging_simulator::{BotFlow, Simulator, SimulatorLimits};

async fn limited(yaml: &str, limits: SimulatorLimits) -> Simulator {
    let flow = BotFlow::from_yaml_str(yaml, "bot.yml").expect("valid flow");
    Simulator::builder(flow)
        .limits(limits)
        .rate_limit(0)
        .start()
        .await
        .expect("simulator starts")
}

/// Polls `check` until it holds, or fails after [`GENEROUS`].
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + GENEROUS;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn configure_with(token: &str) -> serde_json::Value {
    json!({"action":"configureSession","deploymentId":"test-deployment","token":token})
}

// --- The session store ------------------------------------------------------------------------

/// Writes `head`, then `drip` every 50 ms, until the simulator drops the connection (within
/// [`GENEROUS`]); returns how long the connection lasted.
async fn dribble_until_dropped(
    stream: tokio::net::TcpStream,
    head: Vec<u8>,
    drip: &'static [u8],
) -> Duration {
    let start = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let dribble = tokio::spawn(async move {
        let _ = writer.write_all(&head).await;
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if writer.write_all(drip).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = [0; 1024];
    let end = tokio::time::timeout(GENEROUS, reader.read(&mut buffer))
        .await
        .expect("dropped in time");
    assert!(matches!(end, Ok(0) | Err(_)), "{end:?}");
    dribble.abort();
    start.elapsed()
}

#[tokio::test]
async fn many_sessions_with_long_tokens_do_not_accumulate_past_the_cap() {
    let mut limits = SimulatorLimits::default();
    limits.max_sessions = 50;
    let sim = limited("states:\n  main:\n    - reply: ok\n", limits).await;
    let mut guest = connect(&sim).await;
    let token = |i: usize| format!("{i:08}{}", "t".repeat(2040));
    for i in 0..300 {
        guest.send(configure_with(&token(i))).await;
        let response = guest.next().await;
        assert_eq!(response["body"]["newSession"], true, "{i}: {response}");
        assert!(sim.session_count() <= 50, "{}", sim.session_count());
    }
    assert_eq!(sim.session_count(), 50);
    // The most recent sessions are kept; the oldest were evicted (a new conversation).
    guest.send(configure_with(&token(299))).await;
    assert_eq!(guest.next().await["body"]["newSession"], false);
    guest.send(configure_with(&token(0))).await;
    assert_eq!(guest.next().await["body"]["newSession"], true);
    assert_eq!(sim.session_count(), 50);
    // The guest still talks to its (current) session.
    guest.token = token(0);
    guest.say_and_echo("hello").await;
    assert_eq!(guest.reply().await, "ok");
}

#[tokio::test]
async fn the_cap_evicts_sessions_without_a_socket_first() {
    let mut limits = SimulatorLimits::default();
    limits.max_sessions = 3;
    let sim = limited("states:\n  main:\n    - reply: ok\n", limits).await;
    // The oldest session keeps its socket.
    let mut kept = configured(&sim).await;
    let mut other = connect(&sim).await;
    for i in 0..10 {
        other.send(configure_with(&format!("t{i}"))).await;
        assert_eq!(other.next().await["body"]["newSession"], true);
    }
    assert_eq!(sim.session_count(), 3);
    let mut again = connect_with_token(&sim, &kept.token).await;
    assert_eq!(again.configure().await["body"]["newSession"], false);
    kept.say_and_echo("hello").await;
    assert_eq!(kept.reply().await, "ok");
}

#[tokio::test]
async fn expired_sessions_are_removed_from_the_store() {
    let sim = simulator("session:\n  ttlSeconds: 1\nstates:\n  main:\n    - reply: ok\n").await;
    let mut tokens = Vec::new();
    for _ in 0..20 {
        let mut guest = configured(&sim).await;
        tokens.push(guest.token.clone());
        guest.ws.close(None).await.expect("closes");
    }
    assert_eq!(sim.session_count(), 20);
    eventually("every expired session is removed", || {
        sim.session_count() == 0
    })
    .await;
    // Their tokens stay dead; a new token starts a new session.
    let mut late = connect_with_token(&sim, &tokens[3]).await;
    assert_eq!(
        late.configure().await,
        json!({"type":"response","class":"string","code":4006,"body":"session expired error message"})
    );
    assert_eq!(sim.session_count(), 0);
    let mut fresh = connect(&sim).await;
    assert_eq!(fresh.configure().await["body"]["newSession"], true);
    assert_eq!(sim.session_count(), 1);
}

// --- Tokens -----------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_that_is_empty_or_over_2048_characters_is_refused_and_not_stored() {
    let sim = simulator("states:\n  main:\n    - reply: ok\n").await;
    let mut guest = connect(&sim).await;
    for token in [String::new(), "x".repeat(3000), "é".repeat(2049)] {
        guest
            .send(json!({"action":"configureSession","deploymentId":"d","token":token,"tracingId":"bad"}))
            .await;
        assert_eq!(
            guest.next().await,
            json!({"type":"response","class":"string","code":400,
                   "body":"token must be 1 to 2048 characters","tracingId":"bad"})
        );
        assert_eq!(sim.session_count(), 0);
    }
    // Still unconfigured.
    guest
        .send(json!({"action":"onMessage","token":"x".repeat(3000),"message":{"type":"Text","text":"hi"}}))
        .await;
    assert_eq!(guest.next().await["code"], 4007);
    // 2048 characters (of any width) are fine.
    guest.token = "é".repeat(2048);
    assert_eq!(guest.configure().await["body"]["newSession"], true);
    assert_eq!(sim.session_count(), 1);
    guest.say_and_echo("hello").await;
    assert_eq!(guest.reply().await, "ok");
}

// --- Connections ------------------------------------------------------------------------------

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_while_a_configured_guest_keeps_working() {
    let mut limits = SimulatorLimits::default();
    limits.max_connections = 3;
    let sim = limited("states:\n  main:\n    - reply: ok\n", limits).await;
    let mut guest = configured(&sim).await;
    let _second = connect(&sim).await;
    // An idle TCP connection that never upgrades counts too.
    let _raw = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .expect("connects");
    eventually("three connections are open", || sim.connection_count() == 3).await;
    for _ in 0..5 {
        let url = format!("{}?deploymentId=test-deployment", sim.url());
        let refused = tokio::time::timeout(GENEROUS, tokio_tungstenite::connect_async(url))
            .await
            .expect("refused promptly");
        assert!(refused.is_err(), "a connection over the cap was served");
    }
    assert_eq!(sim.connection_count(), 3);
    guest.say_and_echo("hello").await;
    assert_eq!(guest.reply().await, "ok");
    // A closed connection makes room.
    drop(_raw);
    eventually("a connection is closed", || sim.connection_count() == 2).await;
    let mut next = connect(&sim).await;
    assert_eq!(next.configure().await["body"]["newSession"], true);
}

#[tokio::test]
async fn a_client_that_never_completes_the_upgrade_is_dropped_after_the_handshake_timeout() {
    let mut limits = SimulatorLimits::default();
    limits.handshake_timeout = Duration::from_millis(300);
    let sim = limited("states:\n  main:\n    - reply: ok\n", limits).await;
    let slow = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .expect("connects");
    // A header line now and then does not keep it alive.
    let head = b"GET /v1?deploymentId=d HTTP/1.1\r\nHost: x\r\n".to_vec();
    let lasted = dribble_until_dropped(slow, head, b"X-Slow: 1\r\n").await;
    assert!(lasted >= Duration::from_millis(250));
    eventually("the connection is gone", || sim.connection_count() == 0).await;
}

#[tokio::test]
async fn an_upload_that_dribbles_its_body_is_dropped_after_the_http_timeout() {
    let mut limits = SimulatorLimits::default();
    limits.http_timeout = Duration::from_millis(300);
    let sim = limited(
        "messenger:\n  fileUpload:\n    modes: [{ fileTypes: [text/plain], maxFileSizeKB: 100 }]\nstates:\n  main: []\n",
        limits,
    )
    .await;
    let mut guest = configured(&sim).await;
    guest
        .send(json!({"action":"onAttachment","token":guest.token,"fileName":"a.txt","fileType":"text/plain","fileSize":100000}))
        .await;
    let presigned = guest.next().await;
    let url = presigned["body"]["url"].as_str().unwrap().to_string();
    let path = &url[url.find("/uploads/").unwrap()..];
    let tagging = presigned["body"]["headers"]["x-amz-tagging"]
        .as_str()
        .unwrap()
        .to_string();
    let slow = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .expect("connects");
    // A complete head, then a body that never finishes.
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nx-amz-tagging: {tagging}\r\nContent-Length: 100000\r\n\r\n"
    );
    let lasted = dribble_until_dropped(slow, head.into_bytes(), b"x").await;
    assert!(lasted >= Duration::from_millis(250));
    eventually("the HTTP connection is gone", || {
        sim.connection_count() == 1
    })
    .await;
    // The guest's socket is not affected.
    guest.say_and_echo("still here").await;
}

#[tokio::test]
async fn plain_http_connections_count_toward_the_connection_cap() {
    let mut limits = SimulatorLimits::default();
    limits.max_connections = 1;
    let sim = limited("states:\n  main: []\n", limits).await;
    // An HTTP client that has not finished its head holds the only slot.
    let mut holder = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .expect("connects");
    holder.write_all(b"GET /webdeployments").await.unwrap();
    eventually("the first connection is counted", || {
        sim.connection_count() == 1
    })
    .await;
    let url = format!(
        "http://{}/webdeployments/v1/deployments/d/config.json",
        sim.local_addr()
    );
    // A fresh client each time, so no pooled connection decides the outcome.
    let http = || {
        genesys_web_messaging::http_client_builder()
            .build()
            .unwrap()
    };
    let refused = http().get(&url).send().await;
    assert!(refused.is_err(), "over the cap: {refused:?}");
    drop(holder);
    eventually("the slot is free", || sim.connection_count() == 0).await;
    let answered = http().get(&url).send().await.unwrap();
    assert_eq!(answered.status().as_u16(), 200);
}

#[tokio::test]
async fn a_socket_that_never_configures_is_closed_after_the_configure_timeout() {
    let mut limits = SimulatorLimits::default();
    limits.configure_timeout = Some(Duration::from_millis(400));
    let sim = limited("states:\n  main:\n    - reply: ok\n", limits).await;
    let mut configured = configured(&sim).await;
    let start = Instant::now();
    let mut silent = connect(&sim).await;
    // Requests other than a valid configureSession do not count.
    let mut chatty = connect(&sim).await;
    chatty
        .send(json!({"action":"echo","message":{"type":"Text","text":"ping"}}))
        .await;
    assert_eq!(chatty.next().await["code"], 4007);
    chatty
        .send(json!({"action":"configureSession","deploymentId":"d","token":""}))
        .await;
    assert_eq!(chatty.next().await["code"], 400);
    assert_eq!(silent.expect_close().await, Some(CloseCode::Policy));
    assert!(start.elapsed() >= Duration::from_millis(350));
    assert_eq!(chatty.expect_close().await, Some(CloseCode::Policy));
    // The configured guest, older than the timeout, is not affected.
    configured.say_and_echo("hello").await;
    assert_eq!(configured.reply().await, "ok");
}

#[tokio::test]
async fn an_idle_configured_socket_is_closed_after_the_idle_timeout() {
    let mut limits = SimulatorLimits::default();
    limits.idle_timeout = Some(Duration::from_millis(600));
    let sim = limited("states:\n  main:\n    - reply: ok\n", limits).await;
    let mut guest = configured(&sim).await;
    // Heartbeats keep it open past the timeout.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        guest
            .send(json!({"action":"echo","token":guest.token,"message":{"type":"Text","text":"ping"}}))
            .await;
        assert_eq!(guest.next().await["class"], "StructuredMessage");
    }
    let idle = Instant::now();
    assert_eq!(guest.expect_close().await, Some(CloseCode::Away));
    assert!(idle.elapsed() >= Duration::from_millis(500));
    // The session survives its socket.
    let mut again = connect_with_token(&sim, &guest.token).await;
    assert_eq!(again.configure().await["body"]["newSession"], false);
}

// --- Frames -----------------------------------------------------------------------------------

#[tokio::test]
async fn an_oversized_frame_closes_that_connection_only() {
    let mut limits = SimulatorLimits::default();
    limits.max_frame_bytes = 256 * 1024;
    let sim = limited("states:\n  main:\n    - reply: ok\n", limits).await;
    let mut other = configured(&sim).await;
    let mut guest = configured(&sim).await;
    // Under the frame limit, a long text is refused (4011) and the socket stays.
    guest.say(&"x".repeat(200 * 1024)).await;
    assert_eq!(guest.next().await["code"], 4011);
    guest.say_and_echo("still here").await;
    assert_eq!(guest.reply().await, "ok");
    assert_oversized_frame_closes(&mut guest, 300 * 1024).await;
    other.say_and_echo("hello").await;
    assert_eq!(other.reply().await, "ok");
}

#[tokio::test]
async fn a_flood_of_heartbeats_is_read_at_the_frame_rate_and_others_are_served() {
    let mut limits = SimulatorLimits::default();
    limits.frames_per_second = 20;
    limits.frame_burst = 20;
    let sim = limited("states:\n  main:\n    - reply: ok\n", limits).await;
    let mut flooder = configured(&sim).await;
    let mut other = configured(&sim).await;
    let start = Instant::now();
    let echo =
        json!({"action":"echo","token":flooder.token,"message":{"type":"Text","text":"ping"}});
    for _ in 0..100 {
        flooder
            .ws
            .feed(Message::text(echo.to_string()))
            .await
            .expect("sends");
    }
    flooder.ws.flush().await.expect("sends");
    other.say_and_echo("hello").await;
    assert_eq!(other.reply().await, "ok");
    let served_other = start.elapsed();
    for _ in 0..100 {
        assert_eq!(flooder.next().await["class"], "StructuredMessage");
    }
    let flood = start.elapsed();
    // 20 at once, then 20 a second: at least 4 s for the other 80.
    assert!(flood >= Duration::from_millis(3500), "{flood:?}");
    assert!(served_other < flood, "{served_other:?} {flood:?}");
}

// --- Flows with extreme numbers ---------------------------------------------------------------

#[test]
fn flows_with_huge_numbers_are_refused_with_their_position() {
    let max = u64::MAX;
    let cases = [
        (
            format!("session:\n  ttlSeconds: {max}\n"),
            2,
            15,
            "session.ttlSeconds",
        ),
        (format!("replyDelayMs: {max}\n"), 1, 15, "replyDelayMs"),
        (format!("replyJitterMs: {max}\n"), 1, 16, "replyJitterMs"),
        (
            format!("session:\n  respondAfterMs: {max}\n"),
            2,
            19,
            "session.respondAfterMs",
        ),
        (
            format!("faults:\n  ignoreInputWithinMs: {max}\n"),
            2,
            24,
            "faults.ignoreInputWithinMs",
        ),
        (
            format!("faults:\n  latencyMs: {{ min: 0, max: {max} }}\n"),
            2,
            14,
            "faults.latencyMs",
        ),
        (
            format!("limits:\n  maxMessageLength: {max}\n"),
            2,
            21,
            "limits.maxMessageLength",
        ),
        (
            format!("limits:\n  maxCustomAttributesBytes: {max}\n"),
            2,
            29,
            "limits.maxCustomAttributesBytes",
        ),
    ];
    for (head, line, column, key) in cases {
        let yaml = format!("{head}states:\n  main:\n    - reply: ok\n");
        let error = BotFlow::from_yaml_str(&yaml, "bot.yml").expect_err(&yaml);
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("bot.yml:{line}:{column}:")),
            "{yaml}\n{text}"
        );
        assert!(text.contains(key) && text.contains("too large"), "{text}");
    }
    let yaml = format!("states:\n  main:\n    - reply:\n        - {{ text: a, delayMs: {max} }}\n");
    let text = BotFlow::from_yaml_str(&yaml, "bot.yml")
        .expect_err("refused")
        .to_string();
    assert!(text.starts_with("bot.yml:4:31:"), "{text}");
    assert!(text.contains("states.main[0].reply[0].delayMs"), "{text}");
    let yaml = format!("states:\n  main:\n    - reply: {{ text: a, jitterMs: {max} }}\n");
    let text = BotFlow::from_yaml_str(&yaml, "bot.yml")
        .expect_err("refused")
        .to_string();
    assert!(
        text.contains("jitterMs") && text.contains("too large"),
        "{text}"
    );
}

#[tokio::test]
async fn a_flow_at_the_largest_accepted_numbers_runs_without_panicking() {
    let day = 24 * 60 * 60 * 1000;
    let year = 365 * 24 * 60 * 60;
    let max = u64::MAX;
    let yaml = format!(
        "seed: {max}\nreplyDelayMs: {day}\nreplyJitterMs: {day}\n\
         limits: {{ maxMessageLength: 1048576, maxCustomAttributesBytes: 1048576 }}\n\
         session:\n  ttlSeconds: {year}\n\
         faults:\n  latencyMs: {{ min: {day}, max: {day} }}\n  ignoreInputWithinMs: {day}\n  \
         dropAfterMessages: {max}\n  error: {{ code: {min}, body: x }}\n\
         states:\n  main:\n    - reply: [a, {{ text: b, delayMs: {day}, jitterMs: {day}, typing: true }}]\n",
        min = i64::MIN
    );
    let sim = simulator(&yaml).await;
    let mut guest = connect(&sim).await;
    let response = guest.configure().await;
    assert_eq!(response["body"]["durationSeconds"], year, "{response}");
    guest.say_and_echo("hello").await;
    guest
        .send(json!({"action":"echo","token":guest.token,"message":{"type":"Text","text":"ping"}}))
        .await;
    assert_eq!(guest.next().await["class"], "StructuredMessage");
    guest.expect_silence().await;
    // Still serving.
    let mut other = connect(&sim).await;
    assert_eq!(other.configure().await["body"]["newSession"], true);
}

#[tokio::test]
async fn a_guest_cannot_grow_its_session_attributes_past_the_limit() {
    let sim =
        simulator("limits: { maxCustomAttributesBytes: 200 }\nstates:\n  main:\n    - reply: ok\n")
            .await;
    let mut guest = configured(&sim).await;
    let mut refused = 0;
    for i in 0..8 {
        // Each message alone is well under the limit; together they are not.
        let channel = json!({"metadata":{"customAttributes":{format!("name{i}"): "v".repeat(30)}}});
        let frame = guest
            .send_message(json!({"type":"Text","text":"hi","channel":channel}))
            .await;
        if frame["code"] == 4013 {
            refused += 1;
        } else {
            assert_eq!(frame["body"]["text"], "hi", "{frame}");
            assert_eq!(guest.reply().await, "ok");
        }
    }
    assert!(refused >= 3, "{refused}");
}
