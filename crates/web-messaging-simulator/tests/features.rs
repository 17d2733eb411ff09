//! Rich messages, the session store, limits, expiry, autostart and typing, over real loopback
//! WebSockets driven by a raw tokio-tungstenite client.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

// --- Rich messages ----------------------------------------------------------------------------

const QUICK_REPLIES: &str = r#"
states:
  ask:
    - reply:
        text: "Do you like cheese?"
        quickReplies: [Yes, No, { text: "Not sure", payload: "UNSURE" }]
      goto: answer
  answer:
    - when: { payload: "UNSURE" }
      reply: "Take your time."
    - when: { contains: "yes" }
      reply: "Great!"
    - when: { matches: "^no$" }
      reply: "Shame."
"#;

#[tokio::test]
async fn quick_replies_are_offered_as_structured_content() {
    let sim = simulator(QUICK_REPLIES).await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    let offer = guest.bot_message().await;
    let body = &offer["body"];
    assert_eq!(body["type"], "Structured", "{offer}");
    assert_eq!(body["text"], "Do you like cheese?");
    assert_eq!(
        body["content"],
        json!([
            {"contentType":"QuickReply","quickReply":{"text":"Yes","payload":"Yes","action":"Message"}},
            {"contentType":"QuickReply","quickReply":{"text":"No","payload":"No","action":"Message"}},
            {"contentType":"QuickReply","quickReply":{"text":"Not sure","payload":"UNSURE","action":"Message"}}
        ])
    );
}

#[tokio::test]
async fn a_quick_reply_click_is_echoed_and_matched_by_label_or_payload() {
    let sim = simulator(QUICK_REPLIES).await;
    for (label, payload, answer) in [
        ("Yes", "Yes", "Great!"),
        ("No", "No", "Shame."),
        ("Not sure", "UNSURE", "Take your time."),
    ] {
        let mut guest = configured(&sim).await;
        guest.say_and_echo("hi").await;
        guest.bot_message().await;
        let click = quick_reply_click(label, payload);
        let echo = guest.send_message(click.clone()).await;
        let body = &echo["body"];
        assert_eq!(body["direction"], "Inbound", "{echo}");
        assert_eq!(body["type"], "Text", "{echo}");
        assert!(body.get("text").is_none(), "{echo}");
        assert_eq!(body["content"], click["content"], "{echo}");
        assert_eq!(guest.reply().await, answer);
    }
}

const CARDS: &str = r#"
states:
  offer:
    - when: { contains: "rooms" }
      reply:
        - text: "Our rooms:"
          carousel:
            - title: "Sea view"
              description: "Balcony over the bay"
              image: "https://example.com/sea.png"
              actions:
                - { text: "Book now", payload: "BOOK_SEA" }
                - { text: "Photos", url: "https://example.com/sea" }
            - title: "Garden"
              actions: [{ text: "Book now", payload: "BOOK_GARDEN" }]
    - when: { contains: "deal" }
      reply:
        card:
          title: "Weekend deal"
          actions: [{ text: "Take it", payload: "DEAL" }]
    - when: { payload: "BOOK_GARDEN" }
      reply: "Garden room booked."
    - when: { matches: "^take (it)$" }
      reply: "Deal taken."
"#;

#[tokio::test]
async fn cards_and_carousels_carry_postback_and_link_buttons() {
    let sim = simulator(CARDS).await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("show me rooms").await;
    let rooms = guest.bot_message().await;
    assert_eq!(rooms["body"]["type"], "Structured", "{rooms}");
    assert_eq!(rooms["body"]["text"], "Our rooms:");
    assert_eq!(
        rooms["body"]["content"],
        json!([{"contentType":"Carousel","carousel":{"cards":[
            {"title":"Sea view","description":"Balcony over the bay","image":"https://example.com/sea.png",
             "actions":[{"type":"Postback","text":"Book now","payload":"BOOK_SEA"},
                        {"type":"Link","text":"Photos","url":"https://example.com/sea"}]},
            {"title":"Garden","actions":[{"type":"Postback","text":"Book now","payload":"BOOK_GARDEN"}]}
        ]}}])
    );
    guest.say_and_echo("any deal?").await;
    let deal = guest.bot_message().await;
    assert_eq!(deal["body"]["type"], "Structured", "{deal}");
    assert!(deal["body"].get("text").is_none(), "{deal}");
    assert_eq!(
        deal["body"]["content"],
        json!([{"contentType":"Card","card":{"title":"Weekend deal",
            "actions":[{"type":"Postback","text":"Take it","payload":"DEAL"}]}}])
    );
}

#[tokio::test]
async fn postbacks_are_echoed_and_matched_by_text_or_payload() {
    let sim = simulator(CARDS).await;
    let mut guest = configured(&sim).await;
    let click = postback_click("Book now", "BOOK_GARDEN");
    let echo = guest.send_message(click.clone()).await;
    assert_eq!(echo["body"]["type"], "Structured", "{echo}");
    assert_eq!(echo["body"]["text"], "Book now", "{echo}");
    assert_eq!(echo["body"]["content"], click["content"], "{echo}");
    assert_eq!(guest.reply().await, "Garden room booked.");
    let echo = guest.send_message(postback_click("Take it", "DEAL")).await;
    assert_eq!(echo["body"]["text"], "Take it");
    assert_eq!(guest.reply().await, "Deal taken.");
}

#[tokio::test]
async fn captured_values_fill_later_replies() {
    let sim = simulator(
        r#"
states:
  name:
    - when: { matches: "(?:my name is|i am) (?<name>\\w+)" }
      reply: "Nice to meet you, {name}!"
      goto: city
    - reply: "What is your name?"
  city:
    - when: { matches: "^(?<city>[a-z ]+)$" }
      reply: ["{city}? Lovely.", "Goodbye {name} from {city}, {{literal}}"]
"#,
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hello").await;
    assert_eq!(guest.reply().await, "What is your name?");
    guest.say_and_echo("My name is Ann").await;
    assert_eq!(guest.reply().await, "Nice to meet you, Ann!");
    guest.say_and_echo("Lyon").await;
    assert_eq!(guest.reply().await, "Lyon? Lovely.");
    assert_eq!(guest.reply().await, "Goodbye Ann from Lyon, {literal}");
}

#[tokio::test]
async fn rules_branch_on_custom_attributes_which_the_session_keeps() {
    let sim = simulator(
        r#"
states:
  main:
    - when: { attribute: { name: Tier, equals: Gold } }
      reply: "Welcome back, Gold member."
    - when: { attribute: { name: Tier } }
      reply: "Welcome back."
    - reply: "Hello stranger."
"#,
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    assert_eq!(guest.reply().await, "Hello stranger.");
    // Top level `channel`, as upstream sends it.
    let attrs = json!({"metadata":{"customAttributes":{"Tier":"Silver"}}});
    guest
        .send(json!({"action":"onMessage","token":guest.token,"message":{"type":"Text","text":"hi"},"channel":attrs}))
        .await;
    guest.next().await;
    assert_eq!(guest.reply().await, "Welcome back.");
    // Inside `message`, as Genesys' mobile SDK sends it.
    let attrs = json!({"metadata":{"customAttributes":{"Tier":"Gold"}}});
    guest
        .send(json!({"action":"onMessage","token":guest.token,"message":{"type":"Text","text":"hi","channel":attrs}}))
        .await;
    guest.next().await;
    assert_eq!(guest.reply().await, "Welcome back, Gold member.");
    // The session remembers them.
    guest.say_and_echo("hi again").await;
    assert_eq!(guest.reply().await, "Welcome back, Gold member.");
}

#[tokio::test]
async fn typing_events_precede_replies() {
    let sim = simulator(
        r#"
states:
  main:
    - typing: true
      reply: [{ text: "Let me check", delayMs: 150 }, { text: "Done", delayMs: 0, typing: false }]
"#,
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("status?").await;
    let typing = guest.next().await;
    assert_eq!(typing["type"], "message", "{typing}");
    let body = &typing["body"];
    assert_eq!(body["type"], "Event", "{typing}");
    assert_eq!(body["direction"], "Outbound", "{typing}");
    assert_eq!(
        body["events"],
        json!([{"eventType":"Typing","typing":{"type":"On","duration":150}}])
    );
    let started = Instant::now();
    assert_eq!(guest.reply().await, "Let me check");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(guest.reply().await, "Done");
}

#[tokio::test]
async fn jitter_adds_up_to_jitter_ms() {
    let sim = simulator(
        "seed: 1\nstates:\n  main:\n    - reply: [{ text: a, delayMs: 100, jitterMs: 200 }]\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    let mut waits = Vec::new();
    for _ in 0..3 {
        guest.say_and_echo("hi").await;
        let asked = Instant::now();
        assert_eq!(guest.reply().await, "a");
        waits.push(asked.elapsed());
    }
    for wait in &waits {
        assert!(
            *wait >= Duration::from_millis(95) && *wait < Duration::from_secs(3),
            "{waits:?}"
        );
    }
}

// --- Sessions ---------------------------------------------------------------------------------

const TWO_STATES: &str = r#"
session:
  welcome: "Welcome!"
states:
  first:
    - reply: "first state"
      goto: second
  second:
    - when: { contains: "bye" }
      reply: "Goodbye"
      disconnect: true
    - reply: "second state"
"#;

#[tokio::test]
async fn reconnecting_with_the_same_token_resumes_the_conversation() {
    let sim = simulator(TWO_STATES).await;
    let mut guest = connect(&sim).await;
    assert_eq!(guest.configure().await["body"]["newSession"], true);
    // Silent until the guest speaks; then the welcome, then the answer.
    guest.expect_silence().await;
    guest.say_and_echo("hi").await;
    assert_eq!(guest.reply().await, "Welcome!");
    assert_eq!(guest.reply().await, "first state");
    let token = guest.token.clone();
    drop(guest);

    let mut again = connect_with_token(&sim, &token).await;
    let response = again.configure().await;
    assert_eq!(response["class"], "SessionResponse");
    assert_has(
        &response["body"],
        json!({"connected":true,"newSession":false,"readOnly":false}),
    );
    // No replay, no second welcome; the state is kept.
    again.expect_silence().await;
    again.say_and_echo("hi").await;
    assert_eq!(again.reply().await, "second state");
}

#[tokio::test]
async fn start_new_begins_a_new_conversation_on_the_same_token() {
    let sim = simulator(TWO_STATES).await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    assert_eq!(guest.reply().await, "Welcome!");
    assert_eq!(guest.reply().await, "first state");
    let mut frame = guest.configure_frame();
    frame["startNew"] = json!(true);
    guest.send(frame).await;
    assert_eq!(guest.next().await["body"]["newSession"], true);
    guest.expect_silence().await;
    guest.say_and_echo("hi").await;
    assert_eq!(guest.reply().await, "Welcome!");
    assert_eq!(guest.reply().await, "first state");
}

#[tokio::test]
async fn after_a_disconnect_the_conversation_stays_read_only_across_reconnects() {
    let sim = simulator(TWO_STATES).await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    guest.reply().await;
    guest.reply().await;
    guest.say_and_echo("bye").await;
    assert_eq!(guest.reply().await, "Goodbye");
    let event = guest.next().await;
    assert_eq!(event["body"]["events"][0]["presence"]["type"], "Disconnect");
    assert_eq!(event["body"]["metadata"]["readOnly"], "true");
    let token = guest.token.clone();
    drop(guest);

    let mut again = connect_with_token(&sim, &token).await;
    assert_has(
        &again.configure().await["body"],
        json!({"connected":true,"newSession":false,"readOnly":true}),
    );
    again.say("hello?").await;
    assert_eq!(
        again.next().await,
        json!({"type":"response","class":"string","code":400,"body":"Conversation is read-only"})
    );
    // startNew opens a new conversation.
    let mut frame = again.configure_frame();
    frame["startNew"] = json!(true);
    again.send(frame).await;
    assert_has(
        &again.next().await["body"],
        json!({"connected":true,"newSession":true,"readOnly":false}),
    );
}

#[tokio::test]
async fn close_session_with_close_all_connections_kicks_the_other_sockets() {
    let sim = simulator(TWO_STATES).await;
    let mut a = configured(&sim).await;
    let mut b = connect_with_token(&sim, &a.token).await;
    assert_eq!(b.configure().await["body"]["newSession"], false);
    let mut other = configured(&sim).await;

    // Without closeAllConnections the other socket is left alone.
    a.send(json!({"action":"closeSession","token":a.token,"closeAllConnections":false}))
        .await;
    assert_eq!(a.next().await["body"]["connected"], false);
    b.expect_silence().await;

    a.send(
        json!({"action":"closeSession","token":a.token,"closeAllConnections":true,"tracingId":"c"}),
    )
    .await;
    let closed = a.next().await;
    assert_eq!(closed["class"], "SessionResponse");
    assert_eq!(closed["tracingId"], "c");
    // The mobile SDK's fixture of this reply.
    assert_has(
        &closed["body"],
        json!({"connected":false,"newSession":true,"readOnly":true,"maxCustomDataBytes":2048,"clearedExistingSession":false}),
    );
    assert_eq!(
        b.next().await,
        json!({"type":"message","class":"ConnectionClosedEvent","code":200,"body":{}})
    );
    assert_eq!(b.expect_close().await, Some(CloseCode::Normal));
    // Another token's socket is untouched.
    other.expect_silence().await;
    other.say_and_echo("still here?").await;
    assert_eq!(other.reply().await, "Welcome!");
    assert_eq!(other.reply().await, "first state");
}

// --- Limits -----------------------------------------------------------------------------------

#[tokio::test]
async fn a_message_too_long_gets_4011_and_the_session_goes_on() {
    let sim = simulator("states:\n  main:\n    - reply: ok\n").await;
    let mut guest = configured(&sim).await;
    let long = "x".repeat(4097);
    guest
        .send(json!({"action":"onMessage","token":guest.token,"tracingId":"long","message":{"type":"Text","text":long}}))
        .await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"string","code":4011,"body":"message too long","tracingId":"long"})
    );
    // 4096 characters (not bytes) are fine.
    let longest = "é".repeat(4096);
    guest.say(&longest).await;
    assert_eq!(guest.next().await["body"]["text"], longest.as_str());
    assert_eq!(guest.reply().await, "ok");

    let strict =
        simulator("limits: { maxMessageLength: 5 }\nstates:\n  main:\n    - reply: ok\n").await;
    let mut guest = connect(&strict).await;
    guest.configure().await;
    guest.say("123456").await;
    assert_eq!(guest.next().await["code"], 4011);
    guest.say_and_echo("12345").await;
    assert_eq!(guest.reply().await, "ok");
}

#[tokio::test]
async fn custom_attributes_over_2048_bytes_get_4013() {
    let sim = simulator("states:\n  main:\n    - reply: ok\n").await;
    let mut guest = configured(&sim).await;
    // {"A":"xxx…"} is 8 bytes plus the value.
    let at_limit = json!({"metadata":{"customAttributes":{"A":"x".repeat(2040)}}});
    let over = json!({"metadata":{"customAttributes":{"A":"x".repeat(2041)}}});
    guest
        .send(json!({"action":"onMessage","token":guest.token,"tracingId":"big","message":{"type":"Text","text":"hi"},"channel":over}))
        .await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"string","code":4013,
               "body":"Custom Attributes in channel metadata is larger than 2048 bytes","tracingId":"big"})
    );
    guest
        .send(json!({"action":"onMessage","token":guest.token,"message":{"type":"Text","text":"hi","channel":at_limit}}))
        .await;
    assert_eq!(guest.next().await["body"]["text"], "hi");
    assert_eq!(guest.reply().await, "ok");
}

#[tokio::test]
async fn an_oversized_frame_gets_4011_and_a_1009_close_while_others_are_served() {
    let sim = simulator("states:\n  main:\n    - reply: ok\n").await;
    let mut other = configured(&sim).await;
    let mut guest = configured(&sim).await;
    assert_oversized_frame_closes(&mut guest, 3 << 19).await;
    other.say_and_echo("hello").await;
    assert_eq!(other.reply().await, "ok");
}

// --- Expiry -----------------------------------------------------------------------------------

#[tokio::test]
async fn an_inactive_session_expires_after_its_ttl() {
    let sim = simulator("session:\n  ttlSeconds: 1\nstates:\n  main:\n    - reply: ok\n").await;
    let mut guest = connect(&sim).await;
    let before = jiff::Timestamp::now().as_second();
    let response = guest.configure().await;
    let body = &response["body"];
    assert_eq!(body["durationSeconds"], 1, "{response}");
    let expires = body["expirationDate"].as_i64().expect("epoch seconds");
    assert!(
        (before + 1..=jiff::Timestamp::now().as_second() + 1).contains(&expires),
        "{response}"
    );
    // Activity (here heartbeats) keeps the session alive past its TTL.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        guest
            .send(json!({"action":"echo","token":guest.token,"message":{"type":"Text","text":"ping"}}))
            .await;
        let pong = guest.next().await;
        assert_eq!(pong["class"], "StructuredMessage", "{pong}");
        assert_eq!(pong["body"]["metadata"]["durationSeconds"], "1", "{pong}");
        assert!(
            pong["body"]["metadata"]["expirationDate"].is_string(),
            "{pong}"
        );
    }
    // Then a second of silence.
    let idle = Instant::now();
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"SessionExpiredEvent","code":200,"body":{}})
    );
    assert!(idle.elapsed() >= Duration::from_millis(400));
    guest
        .send(json!({"action":"onMessage","token":guest.token,"tracingId":"late","message":{"type":"Text","text":"hi"}}))
        .await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"string","code":4006,"body":"session expired error message","tracingId":"late"})
    );
    guest
        .send(json!({"action":"echo","token":guest.token,"message":{"type":"Text","text":"ping"}}))
        .await;
    assert_eq!(guest.next().await["code"], 4006);
    // The token is dead, on any socket; a new token works.
    let mut again = connect_with_token(&sim, &guest.token).await;
    assert_eq!(again.configure().await["code"], 4006);
    let mut fresh = connect(&sim).await;
    assert_eq!(fresh.configure().await["body"]["newSession"], true);
}

// --- configureSession -------------------------------------------------------------------------

#[tokio::test]
async fn a_slow_deployment_answers_configure_session_late() {
    let sim = simulator(
        "session:\n  respondAfterMs: 700\n  welcome: Hi\nstates:\n  main:\n    - reply: ok\n",
    )
    .await;
    let mut guest = connect(&sim).await;
    let asked = Instant::now();
    let frame = guest.configure_frame();
    guest.send(frame).await;
    guest.expect_silence().await;
    let response = guest.next().await;
    assert_eq!(response["class"], "SessionResponse", "{response}");
    assert!(asked.elapsed() >= Duration::from_millis(650));
    // No welcome before the guest speaks.
    guest.expect_silence().await;
    guest.say_and_echo("hello").await;
    assert_eq!(guest.reply().await, "Hi");
    assert_eq!(guest.reply().await, "ok");
}

#[tokio::test]
async fn with_autostart_the_welcome_waits_for_presence_join() {
    let sim = simulator(
        "session:\n  autostart: true\n  welcome: [Hello!, How can I help?]\nstates:\n  main:\n    - reply: ok\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.expect_silence().await;
    let echo = guest.send_message(event("Presence", "Join")).await;
    assert_eq!(echo["body"]["type"], "Event", "{echo}");
    assert_eq!(echo["body"]["direction"], "Inbound", "{echo}");
    assert_eq!(
        echo["body"]["events"],
        json!([{"eventType":"Presence","presence":{"type":"Join"}}])
    );
    assert_eq!(guest.reply().await, "Hello!");
    assert_eq!(guest.reply().await, "How can I help?");
    // Typing and a second Join are echoed and nothing more.
    let echo = guest.send_message(event("Typing", "On")).await;
    assert_eq!(echo["body"]["events"][0]["typing"]["type"], "On");
    let echo = guest.send_message(event("Presence", "Join")).await;
    assert_eq!(echo["body"]["type"], "Event");
    guest.expect_silence().await;

    // Without a Join, the first message starts the conversation: welcome, then the answer.
    let mut other = configured(&sim).await;
    other.say_and_echo("hi").await;
    let texts: Vec<String> = vec![
        other.reply().await,
        other.reply().await,
        other.reply().await,
    ];
    assert_eq!(texts, ["Hello!", "How can I help?", "ok"]);
}

#[tokio::test]
async fn without_autostart_the_conversation_stays_silent_until_the_first_message() {
    let sim = simulator("session:\n  welcome: Hello!\nstates:\n  main: []\n").await;
    let mut guest = configured(&sim).await;
    // No greeting after the SessionResponse: Genesys runs no flow before the guest speaks.
    guest.expect_silence().await;
    // A Join (which a Messenger without auto-start does not send) is echoed, nothing more.
    let echo: Value = guest.send_message(event("Presence", "Join")).await;
    assert_eq!(echo["body"]["type"], "Event");
    guest.expect_silence().await;
    guest.say_and_echo("hi").await;
    assert_eq!(guest.reply().await, "Hello!");
}

#[tokio::test]
async fn the_example_bot_flows_are_valid() {
    let examples = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["survey", "quick-replies", "faults"] {
        let path = examples.join(name).join("bot.yml");
        web_messaging_simulator::BotFlow::from_file(&path)
            .unwrap_or_else(|e| panic!("{} is invalid: {e}", path.display()));
    }
}
