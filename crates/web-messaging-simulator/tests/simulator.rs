//! The simulator over real loopback WebSockets, driven by a raw tokio-tungstenite client.
//!
//! Real time throughout (a paused clock and real sockets do not mix), with generous timeouts
//! for waits that should succeed and short ones only where silence is the expected outcome.

mod support;

use futures_util::SinkExt;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use support::{
    GENEROUS, Guest, configured, connect, rate_limited_simulator, simulator, time_of, try_connect,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use web_messaging_simulator::{BotFlow, Simulator};

fn refusal_status(result: Result<Guest, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected an HTTP refusal, the upgrade succeeded"),
    }
}

/// The text of the next frame, which must be a bot message (checked in full).
async fn bot_reply(guest: &mut Guest) -> String {
    let frame = guest.next().await;
    assert_bot_message(&frame);
    frame["body"]["text"].as_str().unwrap().to_string()
}

fn is_uuid(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| uuid::Uuid::try_parse(s).is_ok() && s.len() == 36)
}

fn is_iso_millis(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.len() == "2024-01-01T10:00:00.000Z".len()
            && s.ends_with('Z')
            && s.parse::<jiff::Timestamp>().is_ok()
    })
}

fn assert_bot_message(frame: &Value) {
    assert_eq!(frame["type"], "message", "{frame}");
    assert_eq!(frame["class"], "StructuredMessage", "{frame}");
    assert_eq!(frame["code"], 200, "{frame}");
    let body = &frame["body"];
    assert_eq!(body["type"], "Text", "{frame}");
    assert_eq!(body["direction"], "Outbound", "{frame}");
    assert_eq!(body["originatingEntity"], "Bot", "{frame}");
    let id = body["id"].as_str().unwrap();
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{frame}"
    );
    assert_eq!(body["channel"]["type"], "Private", "{frame}");
    assert!(is_iso_millis(&body["channel"]["time"]), "{frame}");
}

fn survey_bot() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/survey/bot.yml")
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn configure_session_gets_a_session_response() {
    let sim = simulator("states:\n  main: []\n").await;
    let mut guest = connect(&sim).await;
    let response = guest.configure().await;
    // The fields of the mobile SDK's rich capture; no file uploads are
    // configured, so no allowedMedia.
    assert_eq!(response["type"], "response");
    assert_eq!(response["class"], "SessionResponse");
    assert_eq!(response["code"], 200);
    let body = &response["body"];
    assert_eq!(body["connected"], true);
    assert_eq!(body["newSession"], true);
    assert_eq!(body["readOnly"], false);
    assert_eq!(body["maxCustomDataBytes"], 2048);
    assert_eq!(body["clearedExistingSession"], false);
    assert!(
        body["blockedExtensions"]
            .as_array()
            .unwrap()
            .contains(&json!(".ade"))
    );
    assert!(body.get("allowedMedia").is_none(), "{body}");
    assert!(body.get("durationSeconds").is_none(), "{body}");
    // No greeting follows.
    guest.expect_silence().await;
    // The same token again resumes the session; a tracingId is copied.
    guest
        .send(json!({"action":"configureSession","deploymentId":"test-deployment","token":guest.token,"tracingId":"again"}))
        .await;
    let again = guest.next().await;
    assert_eq!(again["tracingId"], "again");
    assert_eq!(again["body"]["newSession"], false);
    assert_eq!(again["body"]["connected"], true);
    let received = sim.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0]["action"], "configureSession");
    assert_eq!(received[0]["token"], guest.token.as_str());
}

#[tokio::test]
async fn messages_are_echoed_then_answered_with_increasing_times() {
    let sim = simulator(
        "replyDelayMs: 20\nstates:\n  main:\n    - when: { contains: HELLO }\n      reply: [\"one\", { text: \"two\", delayMs: 0 }, \"three\"]\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    guest
        .send(json!({"action":"onMessage","token":guest.token,"tracingId":"trace-1","message":{"type":"Text","text":"well hello there"}}))
        .await;
    let echo = guest.next().await;
    assert_eq!(echo["type"], "message");
    assert_eq!(echo["class"], "StructuredMessage");
    assert_eq!(echo["code"], 200);
    assert_eq!(echo["tracingId"], "trace-1");
    let body = &echo["body"];
    assert!(is_uuid(&body["id"]), "{echo}");
    assert_eq!(body["type"], "Text");
    assert_eq!(body["direction"], "Inbound");
    assert_eq!(body["text"], "well hello there");
    assert_eq!(body["originatingEntity"], "");
    assert!(is_iso_millis(&body["channel"]["time"]), "{echo}");
    assert!(is_uuid(&body["channel"]["messageId"]), "{echo}");
    assert!(is_uuid(&body["metadata"]["correlationId"]), "{echo}");

    let mut times = vec![time_of(&echo)];
    for expected in ["one", "two", "three"] {
        let frame = guest.next().await;
        assert_bot_message(&frame);
        assert_eq!(frame["body"]["text"], expected);
        assert!(frame.get("tracingId").is_none(), "{frame}");
        times.push(time_of(&frame));
    }
    for pair in times.windows(2) {
        assert!(
            pair[0] < pair[1],
            "channel.time must strictly increase: {times:?}"
        );
    }
    // A message no rule matches gets its echo and nothing else.
    guest.say_and_echo("goodbye").await;
    guest.expect_silence().await;
}

#[tokio::test]
async fn custom_attributes_are_accepted_in_both_places() {
    let sim = simulator("states:\n  main:\n    - reply: ok\n").await;
    let mut guest = configured(&sim).await;
    let attrs = json!({"metadata":{"customAttributes":{"A":"B"}}});
    guest
        .send(json!({"action":"onMessage","token":guest.token,"message":{"type":"Text","text":"top"},"channel":attrs}))
        .await;
    assert_eq!(guest.next().await["body"]["text"], "top");
    assert_eq!(bot_reply(&mut guest).await, "ok");
    guest
        .send(json!({"action":"onMessage","token":guest.token,"message":{"type":"Text","text":"inside","channel":attrs}}))
        .await;
    assert_eq!(guest.next().await["body"]["text"], "inside");
    assert_eq!(bot_reply(&mut guest).await, "ok");
    let received = sim.received();
    assert_eq!(
        received[1]["channel"]["metadata"]["customAttributes"]["A"],
        "B"
    );
    assert_eq!(
        received[2]["message"]["channel"]["metadata"]["customAttributes"]["A"],
        "B"
    );
}

#[tokio::test]
async fn echo_heartbeats_are_answered_and_do_not_trigger_the_bot() {
    let sim = simulator("states:\n  main:\n    - reply: \"should not be sent\"\n").await;
    let mut guest = configured(&sim).await;
    guest
        .send(json!({"action":"echo","token":guest.token,"tracingId":"SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=","message":{"type":"Text","text":"ping"}}))
        .await;
    let response = guest.next().await;
    assert_eq!(response["type"], "response");
    assert_eq!(response["class"], "StructuredMessage");
    assert_eq!(response["code"], 200);
    assert_eq!(response["tracingId"], "SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=");
    assert_eq!(response["body"]["text"], "ping");
    assert_eq!(response["body"]["type"], "Text");
    assert_eq!(response["body"]["direction"], "Inbound");
    assert!(is_uuid(&response["body"]["id"]), "{response}");
    assert!(response["body"].get("channel").is_none(), "{response}");
    guest.expect_silence().await;
}

#[tokio::test]
async fn the_connection_keeps_reading_while_replies_are_pending() {
    let sim = simulator("states:\n  main:\n    - reply: { text: late, delayMs: 1000 }\n").await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    guest
        .send(json!({"action":"echo","token":guest.token,"message":{"type":"Text","text":"ping"}}))
        .await;
    // The heartbeat is answered while the reply is still pending, not after it.
    let response = guest.next().await;
    assert_eq!(response["type"], "response", "{response}");
    assert_eq!(response["body"]["text"], "ping", "{response}");
    assert_eq!(bot_reply(&mut guest).await, "late");
}

#[tokio::test]
async fn out_of_order_replies_are_written_latest_first() {
    let sim = simulator(
        "replyDelayMs: 10\nstates:\n  main:\n    - reply: [\"hello1\", \"hello2\", \"hello3\"]\n      outOfOrder: true\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    let echo = guest.say_and_echo("hi").await;
    let mut frames = Vec::new();
    for _ in 0..3 {
        let frame = guest.next().await;
        assert_bot_message(&frame);
        frames.push(frame);
    }
    let texts: Vec<&str> = frames
        .iter()
        .map(|f| f["body"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["hello3", "hello2", "hello1"]);
    let times: Vec<String> = frames.iter().map(time_of).collect();
    assert!(times[2] < times[1] && times[1] < times[0], "{times:?}");
    assert!(time_of(&echo) < times[2]);
}

#[tokio::test]
async fn the_bot_disconnects_and_the_conversation_becomes_read_only() {
    let sim = simulator("states:\n  main:\n    - reply: Goodbye\n      disconnect: true\n").await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("bye").await;
    assert_eq!(bot_reply(&mut guest).await, "Goodbye");
    let event = guest.next().await;
    assert_eq!(event["type"], "message");
    assert_eq!(event["class"], "StructuredMessage");
    let body = &event["body"];
    assert_eq!(body["type"], "Event");
    assert_eq!(body["direction"], "Outbound");
    assert_eq!(
        body["events"],
        json!([{"eventType":"Presence","presence":{"type":"Disconnect"}}])
    );
    assert_eq!(body["metadata"]["readOnly"], "true");
    assert!(is_iso_millis(&body["channel"]["time"]), "{event}");

    guest
        .send(json!({"action":"onMessage","token":guest.token,"tracingId":"late","message":{"type":"Text","text":"hello?"}}))
        .await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"string","code":400,"body":"Conversation is read-only","tracingId":"late"})
    );
    guest.expect_silence().await;
}

#[tokio::test]
async fn a_rule_can_answer_with_an_error_frame() {
    let sim = simulator(
        "states:\n  main:\n    - when: { contains: break }\n      error: { code: 5000, body: \"Request failed.\" }\n    - reply: fine\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("break it").await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"string","code":5000,"body":"Request failed."})
    );
    guest.say_and_echo("and now?").await;
    assert_eq!(bot_reply(&mut guest).await, "fine");
}

#[tokio::test]
async fn a_rule_can_send_raw_garbage() {
    let sim = simulator(
        "states:\n  main:\n    - reply: before\n      raw: [\"this is not json\", \"{\\\"half\\\":\"]\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("go").await;
    assert_eq!(bot_reply(&mut guest).await, "before");
    assert_eq!(guest.next_raw().await, "this is not json");
    assert_eq!(guest.next_raw().await, "{\"half\":");
}

#[tokio::test]
async fn a_rule_can_close_the_socket() {
    let sim = simulator("states:\n  main:\n    - reply: bye\n      closeSocket: true\n").await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hang up").await;
    assert_eq!(bot_reply(&mut guest).await, "bye");
    assert_eq!(guest.expect_close().await, Some(CloseCode::Normal));
    // The simulator itself keeps serving.
    let mut other = connect(&sim).await;
    assert_eq!(other.configure().await["class"], "SessionResponse");
}

#[tokio::test]
async fn a_silent_deployment_never_answers() {
    let sim = simulator("session:\n  respond: false\nstates:\n  main:\n    - reply: x\n").await;
    let mut guest = connect(&sim).await;
    guest
        .send(json!({"action":"configureSession","deploymentId":"test-deployment","token":guest.token}))
        .await;
    guest.expect_silence().await;
    guest.say("anyone?").await;
    guest.expect_silence().await;
    let received = sim.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0]["action"], "configureSession");
    assert_eq!(received[1]["message"]["text"], "anyone?");
}

#[tokio::test]
async fn welcome_messages_follow_the_guests_first_message() {
    let sim = simulator(
        "session:\n  welcome: [\"Hello!\", { text: \"How can I help?\", delayMs: 30 }]\nstates:\n  main: []\n",
    )
    .await;
    let mut guest = connect(&sim).await;
    assert_eq!(guest.configure().await["class"], "SessionResponse");
    // Genesys runs no inbound flow before the guest's first message (without auto-start).
    guest.expect_silence().await;
    guest.say_and_echo("hi").await;
    let first = guest.next().await;
    assert_bot_message(&first);
    assert_eq!(first["body"]["text"], "Hello!");
    let second = guest.next().await;
    assert_bot_message(&second);
    assert_eq!(second["body"]["text"], "How can I help?");
    assert!(time_of(&first) < time_of(&second));
}

#[tokio::test]
async fn zero_delay_messages_are_never_overtaken_by_the_next_request() {
    let sim =
        simulator("session:\n  welcome: [\"Welcome!\"]\nstates:\n  main:\n    - reply: [a, b]\n")
            .await;
    let mut guest = connect(&sim).await;
    assert_eq!(guest.configure().await["class"], "SessionResponse");
    guest.say("first").await;
    guest.say("second").await;
    let mut seen = Vec::new();
    for _ in 0..7 {
        let frame = guest.next().await;
        seen.push(format!(
            "{}:{}",
            frame["body"]["direction"].as_str().unwrap(),
            frame["body"]["text"].as_str().unwrap()
        ));
    }
    assert_eq!(
        seen,
        [
            "Inbound:first",
            "Outbound:Welcome!",
            "Outbound:a",
            "Outbound:b",
            "Inbound:second",
            "Outbound:a",
            "Outbound:b"
        ]
    );
}

#[tokio::test]
async fn more_than_two_messages_a_second_are_refused_with_429() {
    let sim = rate_limited_simulator("states:\n  main: []\n").await;
    let mut guest = configured(&sim).await;
    guest.say("one").await;
    guest.say("two").await;
    guest
        .send(json!({"action":"onMessage","token":guest.token,"tracingId":"third","message":{"type":"Text","text":"three"}}))
        .await;
    assert_eq!(guest.next().await["body"]["text"], "one");
    assert_eq!(guest.next().await["body"]["text"], "two");
    // The captured frame: retryAfter 3 and no tracingId.
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"TooManyRequestsErrorMessage","code":429,
               "body":{"retryAfter":3,"errorCode":4029,"errorMessage":"Message rate too high for this session"}})
    );
    guest.expect_silence().await;
    // A second later there is room again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    guest.say_and_echo("four").await;
}

#[tokio::test]
async fn a_wrong_or_missing_deployment_id_is_refused_at_the_upgrade() {
    let sim = simulator("deploymentId: right-id\nstates:\n  main:\n    - reply: ok\n").await;
    assert_eq!(
        refusal_status(try_connect(&sim, Some("wrong-id"), None).await),
        403
    );
    assert_eq!(refusal_status(try_connect(&sim, None, None).await), 403);
    let mut guest = try_connect(&sim, Some("right-id"), None).await.unwrap();
    assert_eq!(guest.configure().await["class"], "SessionResponse");
    // Without `deploymentId` in the flow, any id is accepted.
    let open = simulator("states:\n  main: []\n").await;
    try_connect(&open, Some("anything"), None).await.unwrap();
    try_connect(&open, None, None).await.unwrap();
}

#[tokio::test]
async fn an_origin_outside_allowed_origins_is_refused_at_the_upgrade() {
    let sim = simulator(
        "allowedOrigins: [\"https://allowed.example\"]\nstates:\n  main:\n    - reply: ok\n",
    )
    .await;
    let some = Some("test-deployment");
    assert_eq!(refusal_status(try_connect(&sim, some, None).await), 403);
    assert_eq!(
        refusal_status(try_connect(&sim, some, Some("https://evil.example")).await),
        403
    );
    let mut guest = try_connect(&sim, some, Some("https://allowed.example"))
        .await
        .unwrap();
    assert_eq!(guest.configure().await["class"], "SessionResponse");
}

#[tokio::test]
async fn other_paths_are_not_found() {
    let sim = simulator("states:\n  main: []\n").await;
    let url = format!("ws://{}/v2?deploymentId=x", sim.local_addr());
    match tokio_tungstenite::connect_async(url).await {
        Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 404),
        other => panic!("expected 404, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn garbage_from_the_guest_gets_400_and_the_connection_keeps_working() {
    let sim = simulator("states:\n  main:\n    - reply: still here\n").await;
    let mut guest = connect(&sim).await;
    let bad_request =
        json!({"type":"response","class":"string","code":400,"body":"Request failed."});
    guest.send_text("this is not json").await;
    assert_eq!(guest.next().await, bad_request);
    guest
        .send_text(r#"{"action":"noSuchAction","token":"t","tracingId":"x"}"#)
        .await;
    let mut with_tracing = bad_request.clone();
    with_tracing["tracingId"] = json!("x");
    assert_eq!(guest.next().await, with_tracing);
    // A known action before configureSession: no session yet.
    guest.send_text(r#"{"action":"onMessage"}"#).await;
    assert_eq!(guest.next().await["code"], 4007);
    guest.send_text("[1,2,3]").await;
    assert_eq!(guest.next().await, bad_request);
    guest
        .ws
        .send(Message::binary(vec![0xff, 0x00, 0x01]))
        .await
        .unwrap();
    assert_eq!(guest.next().await, bad_request);

    assert_eq!(guest.configure().await["class"], "SessionResponse");
    guest.say_and_echo("hello").await;
    assert_eq!(bot_reply(&mut guest).await, "still here");
    let received = sim.received();
    assert_eq!(received[0], json!("this is not json"));
    assert_eq!(received[1]["action"], "noSuchAction");
    assert_eq!(received[3], json!([1, 2, 3]));
    assert_eq!(received[5]["action"], "configureSession");
}

#[tokio::test]
async fn requests_before_configure_session_get_4007() {
    let sim = simulator("states:\n  main:\n    - reply: x\n").await;
    let mut guest = connect(&sim).await;
    guest
        .send(json!({"action":"onMessage","token":"t","tracingId":"early","message":{"type":"Text","text":"hi"}}))
        .await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"string","code":4007,"body":"session not found error message","tracingId":"early"})
    );
    guest
        .send(json!({"action":"echo","message":{"type":"Text","text":"ping"}}))
        .await;
    assert_eq!(guest.next().await["code"], 4007);
    assert_eq!(guest.configure().await["class"], "SessionResponse");
}

#[tokio::test]
async fn close_session_answers_connected_false_read_only() {
    let sim = simulator("states:\n  main:\n    - reply: x\n").await;
    let mut guest = configured(&sim).await;
    guest
        .send(json!({"action":"closeSession","token":guest.token,"closeAllConnections":true,"tracingId":"c"}))
        .await;
    // The mobile SDK's capture of this reply.
    let closed = guest.next().await;
    assert_eq!(closed["class"], "SessionResponse");
    assert_eq!(closed["tracingId"], "c");
    assert_eq!(
        closed["body"],
        json!({"connected":false,"newSession":true,"readOnly":true,"maxCustomDataBytes":2048,"clearedExistingSession":false})
    );
    // startNew opens a new session on the same token.
    guest
        .send(json!({"action":"configureSession","deploymentId":"test-deployment","token":guest.token,"startNew":true}))
        .await;
    assert_eq!(guest.next().await["body"]["newSession"], true);
    guest.say_and_echo("again").await;
    assert_eq!(bot_reply(&mut guest).await, "x");
}

#[tokio::test]
async fn states_and_goto_are_per_connection_and_connections_run_concurrently() {
    let sim = simulator(
        "states:\n\
         \x20 first:\n\
         \x20   - when: { contains: slow }\n\
         \x20     reply: { text: slow answer, delayMs: 600 }\n\
         \x20   - reply: first state\n\
         \x20     goto: second\n\
         \x20 second:\n\
         \x20   - reply: second state\n",
    )
    .await;
    let mut a = connect(&sim).await;
    let mut b = connect(&sim).await;
    a.configure().await;
    b.configure().await;
    // A waits for a slow reply; B is served meanwhile.
    a.say_and_echo("slow please").await;
    b.say_and_echo("hi").await;
    assert_eq!(bot_reply(&mut b).await, "first state");
    b.send_text("garbage from b").await;
    assert_eq!(b.next().await["code"], 400);
    assert_eq!(bot_reply(&mut a).await, "slow answer");
    // Each connection keeps its own state.
    a.say_and_echo("hi").await;
    assert_eq!(bot_reply(&mut a).await, "first state");
    b.say_and_echo("hi again").await;
    assert_eq!(bot_reply(&mut b).await, "second state");

    // Many guests at once.
    let mut tasks = Vec::new();
    for n in 0..20 {
        let url = format!("{}?deploymentId=d", sim.url());
        tasks.push(tokio::spawn(async move {
            let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            let mut guest = Guest {
                ws,
                token: format!("token-{n}"),
                deployment: "d".to_string(),
            };
            guest.configure().await;
            guest.say_and_echo(&format!("hello {n}")).await;
            bot_reply(&mut guest).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), "first state");
    }
}

#[tokio::test]
async fn shutdown_closes_connections_and_stops_accepting() {
    let sim = simulator("states:\n  main: []\n").await;
    let addr = sim.local_addr();
    let mut guest = configured(&sim).await;
    let (closed, ()) = tokio::join!(guest.expect_close(), sim.shutdown());
    assert_eq!(closed, Some(CloseCode::Away));
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_the_simulator_stops_it() {
    let sim = simulator("states:\n  main: []\n").await;
    let addr = sim.local_addr();
    let url = sim.url();
    drop(sim);
    let deadline = tokio::time::Instant::now() + GENEROUS;
    loop {
        if tokio_tungstenite::connect_async(format!("{url}?deploymentId=x"))
            .await
            .is_err()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{addr} still serves"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn survey_example_accept() {
    let flow = BotFlow::from_file(&survey_bot()).expect("the survey bot is valid");
    let sim = Simulator::start(flow).await.unwrap();
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    let mut reply = bot_reply(&mut guest).await;
    while !reply.contains("Can we ask you some questions about your experience today?") {
        reply = bot_reply(&mut guest).await;
    }
    guest.say_and_echo("Yes").await;
    let pattern =
        regress::Regex::with_flags(r"Thank you! Now for the next question[\.]+", "im").unwrap();
    let thanks = bot_reply(&mut guest).await;
    assert!(pattern.find(&thanks).is_some(), "{thanks}");
    let question = bot_reply(&mut guest).await;
    assert!(question.ends_with('?'), "{question}");
}

#[tokio::test]
async fn survey_example_decline() {
    let flow = BotFlow::from_file(&survey_bot()).unwrap();
    let sim = Simulator::start(flow).await.unwrap();
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    let mut reply = bot_reply(&mut guest).await;
    while !reply.contains("Can we ask you some questions about your experience today?") {
        reply = bot_reply(&mut guest).await;
    }
    guest.say_and_echo("No").await;
    assert!(
        bot_reply(&mut guest)
            .await
            .contains("Maybe next time. Goodbye")
    );
    let event = guest.next().await;
    assert_eq!(event["body"]["events"][0]["presence"]["type"], "Disconnect");
}

#[tokio::test]
async fn survey_example_incorrect_answer() {
    let flow = BotFlow::from_file(&survey_bot()).unwrap();
    let sim = Simulator::start(flow).await.unwrap();
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    let question = "Can we ask you some questions about your experience today?";
    let mut reply = bot_reply(&mut guest).await;
    while !reply.contains(question) {
        reply = bot_reply(&mut guest).await;
    }
    guest.say_and_echo("Example").await;
    assert!(
        guest
            .reply()
            .await
            .contains("Sorry I didn't understand you. Please answer with either 'yes' or 'no'")
    );
    assert!(bot_reply(&mut guest).await.contains(question));
}
