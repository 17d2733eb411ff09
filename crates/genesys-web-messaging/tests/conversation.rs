//! The conversation API against the simulator, over real loopback WebSockets.

use genesys_web_messaging::protocol::ServerError;
use genesys_web_messaging::{
    Closed, ConnectError, Conversation, ConversationOptions, Expectation, Fault, JsRegex, SayError,
    SessionConfig, Speaker, WaitFailure,
};
use std::time::Duration;
use web_messaging_simulator::{BotFlow, Simulator};

const GENEROUS: Duration = Duration::from_secs(20);

/// A simulator without the `onMessage` rate limit: with [`fast`] options, no test waits to
/// stay under it (the pacing and 429 tests use [`rate_limited_simulator`]).
async fn simulator(flow: &str) -> Simulator {
    let flow = BotFlow::from_yaml_str(flow, "bot.yml").expect("valid flow");
    Simulator::builder(flow)
        .rate_limit(0)
        .start()
        .await
        .expect("simulator starts")
}

/// A simulator with the flow's rate limit (Genesys' 2 per rolling second by default).
async fn rate_limited_simulator(flow: &str) -> Simulator {
    let flow = BotFlow::from_yaml_str(flow, "bot.yml").expect("valid flow");
    Simulator::start(flow).await.expect("simulator starts")
}

fn config(sim: &Simulator) -> SessionConfig {
    SessionConfig::for_endpoint("test-deployment", &sim.url())
        .custom_attribute("IsAutomatedTest", "true")
}

/// No wait before a `say`, and no pacing: the simulator of these tests has no rate limit.
fn fast() -> ConversationOptions {
    ConversationOptions {
        say_delay: Duration::ZERO,
        max_messages_per_second: 1000,
        ..ConversationOptions::default()
    }
}

async fn started(sim: &Simulator) -> Conversation {
    let mut conversation = Conversation::connect(config(sim), fast())
        .await
        .expect("connects");
    conversation
        .wait_for_start(GENEROUS)
        .await
        .expect("session starts");
    conversation
}

/// A simulator of `flow` and a started conversation with it, after the guest said `text`.
async fn after_saying(flow: &str, text: &str) -> (Simulator, Conversation) {
    let sim = simulator(flow).await;
    let mut conversation = started(&sim).await;
    conversation.say(text).await.unwrap();
    (sim, conversation)
}

fn texts(received: &[serde_json::Value], action: &str) -> Vec<serde_json::Value> {
    received
        .iter()
        .filter(|f| f["action"] == action)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_reply_that_arrives_while_no_step_waits_is_not_lost() {
    let (_sim, mut conversation) = after_saying(
        "session:\n  welcome: [\"Welcome!\"]\nstates:\n  main:\n    - reply: \"Checking\"\n",
        "where is my parcel?",
    )
    .await;
    // The welcome (which follows the guest's first message) arrived before any step waited:
    // still seen, in order.
    conversation
        .wait_for_reply_containing("welcome", GENEROUS)
        .await
        .unwrap();
    conversation
        .wait_for_reply_containing("checking", GENEROUS)
        .await
        .unwrap();
    let lines = conversation.transcript().render("You", "Them");
    assert_eq!(
        lines,
        [
            "You: where is my parcel?",
            "Them: Welcome!",
            "Them: Checking"
        ]
    );
}

#[tokio::test]
async fn the_next_wait_sees_replies_that_arrived_before_it_started() {
    let (_sim, mut conversation) = after_saying(
        "states:\n  main:\n    - reply: [\"first\", \"second\", \"third\"]\n",
        "go",
    )
    .await;
    conversation
        .wait_for_reply_containing("third", GENEROUS)
        .await
        .unwrap();
    // All three arrived; a fresh wait for anything now times out (nothing after "third").
    let err = conversation
        .wait_for_next_reply(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(err.reason, WaitFailure::TimedOut);
    assert!(err.received.is_empty());
}

#[tokio::test]
async fn out_of_order_delivery_is_repaired_by_channel_time() {
    let (_sim, mut conversation) = after_saying(
        "states:\n  main:\n    - reply: [\"hello1\", \"hello2\"]\n      outOfOrder: true\n",
        "hi",
    )
    .await;
    conversation
        .wait_for_reply_containing("hello1", GENEROUS)
        .await
        .unwrap();
    conversation
        .wait_for_reply_containing("hello2", GENEROUS)
        .await
        .unwrap();
    assert_eq!(
        conversation.transcript().render("You", "Them"),
        ["You: hi", "Them: hello1", "Them: hello2"]
    );
}

#[tokio::test]
async fn the_guests_own_echo_is_never_a_reply() {
    let (_sim, mut conversation) = after_saying(
        "states:\n  main:\n    - when: { contains: \"never\" }\n      reply: \"x\"\n",
        "hello",
    )
    .await;
    let err = conversation
        .wait_for_reply_containing("hello", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err.reason, WaitFailure::TimedOut);
    assert!(err.received.is_empty());
    assert_eq!(conversation.transcript().lines[0].speaker, Speaker::Guest);
}

#[tokio::test]
async fn a_wait_ends_at_once_when_the_bot_disconnects() {
    let (_sim, mut conversation) = after_saying(
        "states:\n  main:\n    - reply: \"Goodbye\"\n      disconnect: true\n",
        "bye",
    )
    .await;
    let err = conversation
        .wait_for_reply_containing("anything else", GENEROUS)
        .await
        .unwrap_err();
    assert_eq!(err.reason, WaitFailure::BotDisconnected);
    assert_eq!(err.received, ["Goodbye"]);
    assert!(conversation.is_disconnected());
    conversation.wait_for_disconnect(GENEROUS).await.unwrap();
    assert_eq!(
        conversation.say("hello?").await,
        Err(SayError::Disconnected)
    );
}

#[tokio::test]
async fn server_errors_end_the_wait_with_the_code() {
    let (_sim, mut conversation) = after_saying(
        "states:\n  main:\n    - error: { code: 5000, body: \"Request failed.\" }\n",
        "hi",
    )
    .await;
    let err = conversation
        .wait_for_next_reply(GENEROUS)
        .await
        .unwrap_err();
    assert_eq!(
        err.reason,
        WaitFailure::Server(Fault::Server(ServerError::Coded {
            code: 5000,
            message: "Request failed.".into()
        }))
    );
}

#[tokio::test]
async fn malformed_frames_and_closed_sockets_end_the_wait() {
    let (_sim, mut conversation) =
        after_saying("states:\n  main:\n    - raw: [\"not json\"]\n", "hi").await;
    let err = conversation
        .wait_for_next_reply(GENEROUS)
        .await
        .unwrap_err();
    assert!(
        matches!(err.reason, WaitFailure::Server(Fault::Frame(_))),
        "{err:?}"
    );

    let (_sim, mut conversation) = after_saying(
        "states:\n  main:\n    - reply: \"bye\"\n      closeSocket: true\n",
        "hi",
    )
    .await;
    conversation
        .wait_for_reply_containing("bye", GENEROUS)
        .await
        .unwrap();
    let err = conversation
        .wait_for_next_reply(GENEROUS)
        .await
        .unwrap_err();
    assert!(
        matches!(err.reason, WaitFailure::Closed(Closed::ByServer { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_session_that_never_starts_fails_the_start_wait() {
    let sim = simulator("session:\n  respond: false\nstates:\n  main:\n    - reply: x\n").await;
    let mut conversation = Conversation::connect(config(&sim), fast()).await.unwrap();
    let err = conversation
        .wait_for_start(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err.reason, WaitFailure::SessionNotStarted);
}

#[tokio::test]
async fn regular_expressions_have_javascript_semantics() {
    let (_sim, mut conversation) = after_saying(
        "states:\n  main:\n    - reply: \"Order 12345 shipped.\\r\\nArrives Tuesday.\"\n",
        "status",
    )
    .await;
    let pattern = JsRegex::new(r"^arrives \w+day\.$", "im").unwrap();
    conversation
        .wait_for_reply_matching(&pattern, GENEROUS)
        .await
        .unwrap();
}

#[tokio::test]
async fn pacing_keeps_within_two_messages_per_second() {
    // The simulator answers a third message within one second with 429; none may come back.
    let sim = rate_limited_simulator("states:\n  main:\n    - reply: \"ok\"\n").await;
    let paced = ConversationOptions {
        say_delay: Duration::ZERO,
        ..ConversationOptions::default()
    };
    let mut conversation = Conversation::connect(config(&sim), paced).await.unwrap();
    conversation.wait_for_start(GENEROUS).await.unwrap();
    for n in 0..5 {
        conversation.say(&format!("message {n}")).await.unwrap();
    }
    let replies = conversation
        .wait_for_replies_until_silence(Duration::from_millis(300), GENEROUS)
        .await;
    assert_eq!(replies.len(), 5);
    assert!(conversation.session().log().snapshot().faults.is_empty());
}

#[tokio::test]
async fn sends_upstreams_frames_with_participant_data() {
    let (sim, mut conversation) =
        after_saying("states:\n  main:\n    - reply: \"ok\"\n", "hello world").await;
    conversation
        .wait_for_reply(&Expectation::Any, GENEROUS)
        .await
        .unwrap();
    let received = sim.received();
    let configure = &texts(&received, "configureSession")[0];
    assert_eq!(configure["deploymentId"], "test-deployment");
    assert_eq!(configure["token"], conversation.session().token());
    let message = &texts(&received, "onMessage")[0];
    assert_eq!(message["message"]["text"], "hello world");
    assert_eq!(message["message"]["type"], "Text");
    assert_eq!(
        message["channel"]["metadata"]["customAttributes"]["IsAutomatedTest"],
        "true"
    );
}

#[tokio::test]
async fn idle_sessions_send_echo_heartbeats() {
    let sim = simulator("states:\n  main:\n    - reply: \"ok\"\n").await;
    let mut config = config(&sim);
    config.heartbeat_interval = Duration::from_millis(100);
    let mut conversation = Conversation::connect(config, fast()).await.unwrap();
    conversation.wait_for_start(GENEROUS).await.unwrap();
    // Wait (on the log, not a sleep) long enough for a few idle periods.
    let replies = conversation
        .wait_for_replies_until_silence(Duration::from_millis(450), GENEROUS)
        .await;
    assert!(replies.is_empty());
    assert!(texts(&sim.received(), "echo").len() >= 2);
    // Echo responses are not messages.
    assert!(conversation.transcript().lines.is_empty());
}

#[tokio::test]
async fn refused_upgrades_are_typed_errors() {
    let sim = simulator(
        "allowedOrigins: [\"https://allowed.example\"]\nstates:\n  main:\n    - reply: ok\n",
    )
    .await;
    let refused = Conversation::connect(config(&sim), fast())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ConnectError::Refused { status: 403, .. }),
        "{refused}"
    );
    let allowed = config(&sim).origin("https://allowed.example");
    let mut conversation = Conversation::connect(allowed, fast()).await.unwrap();
    conversation.wait_for_start(GENEROUS).await.unwrap();
}

#[tokio::test]
async fn a_rate_limited_message_is_sent_again_after_retry_after() {
    // Pacing turned off on purpose: the simulator refuses the third message within a second
    // with 429 (retryAfter 1 s); the conversation waits and sends it again. The simulator's
    // variant with the request's tracingId (the captured frame has none).
    let sim = rate_limited_simulator(
        "limits:\n  rateLimit: { retryAfterSeconds: 1, tracingId: true }\nstates:\n  main:\n    - reply: \"got it\"\n",
    )
    .await;
    let options = ConversationOptions {
        say_delay: Duration::ZERO,
        max_messages_per_second: 100,
        ..ConversationOptions::default()
    };
    let mut conversation = Conversation::connect(config(&sim), options).await.unwrap();
    conversation.wait_for_start(GENEROUS).await.unwrap();
    for n in 0..3 {
        conversation.say(&format!("message {n}")).await.unwrap();
    }
    for _ in 0..3 {
        conversation.wait_for_next_reply(GENEROUS).await.unwrap();
    }
    let sent = texts(&sim.received(), "onMessage");
    assert_eq!(sent.len(), 4, "three messages and one resend");
    let echoed: Vec<String> = conversation
        .transcript()
        .lines
        .iter()
        .filter(|l| l.speaker == Speaker::Guest)
        .map(|l| l.text.clone())
        .collect();
    assert_eq!(echoed, ["message 0", "message 1", "message 2"]);
}

#[tokio::test]
async fn quick_replies_and_card_buttons_can_be_awaited_and_clicked() {
    let sim = simulator(
        r#"
session:
  welcome:
    - text: "Order a pizza?"
      quickReplies: [Yes, No]
states:
  ask:
    - when: { payload: "Yes" }
      reply:
        card:
          title: Margherita
          actions:
            - { text: "Order", payload: ORDER }
            - { text: "Menu", url: "https://example.com/menu" }
      goto: order
  order:
    - when: { payload: ORDER }
      reply: "Ordered"
"#,
    )
    .await;
    let mut conversation = started(&sim).await;
    // The welcome follows the guest's first message.
    conversation.say("hi").await.unwrap();
    let offer = conversation
        .wait_for_quick_replies(&["yes", "no"], GENEROUS)
        .await
        .unwrap();
    assert_eq!(offer.message.quick_replies().count(), 2);
    assert!(matches!(
        conversation.click("Maybe").await,
        Err(SayError::NoSuchOption { offered, .. }) if offered == ["Yes", "No"]
    ));
    conversation.click("Yes").await.unwrap();
    conversation
        .wait_for_reply(&Expectation::Buttons(vec!["Order".into()]), GENEROUS)
        .await
        .unwrap();
    assert!(matches!(
        conversation.click("Menu").await,
        Err(SayError::NotClickable { .. })
    ));
    conversation.click("order").await.unwrap();
    conversation
        .wait_for_reply_containing("Ordered", GENEROUS)
        .await
        .unwrap();

    // The clicks went out as Genesys' own clients send them.
    let sent = texts(&sim.received(), "onMessage");
    let quick = &sent[1]["message"];
    assert_eq!(quick["type"], "Text");
    assert_eq!(quick["content"][0]["buttonResponse"]["type"], "QuickReply");
    assert_eq!(quick["content"][0]["buttonResponse"]["payload"], "Yes");
    let postback = &sent[2]["message"];
    assert_eq!(postback["type"], "Structured");
    assert_eq!(postback["text"], "Order");
    assert_eq!(postback["content"][0]["buttonResponse"]["type"], "Button");
    assert_eq!(
        conversation.transcript().render("You", "Them"),
        [
            "You: hi",
            "Them: Order a pizza? [Yes] [No]",
            "You: Yes",
            "Them: Margherita [Order] [Menu]",
            "You: Order",
            "Them: Ordered"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_instant_is_taken_after_pacing_and_before_any_reply() {
    // A bot that answers at once: the reply can come back before `say` itself returns, so a
    // response time measured from `say`'s return could read 0. From `last_sent_at` it never
    // does, and the say delay (pacing) is not part of it.
    let sim = simulator("replyDelayMs: 0\nstates:\n  main:\n    - reply: \"pong\"\n").await;
    let mut conversation = started(&sim).await;
    assert!(conversation.last_sent_at().is_none());
    // (Genesys' 2 messages per second keep this to a few rounds.)
    for n in 0..5 {
        conversation.say(&format!("ping {n}")).await.unwrap();
        let sent_at = conversation.last_sent_at().expect("a say was sent");
        let reply = conversation
            .wait_for_reply(&Expectation::containing("pong"), GENEROUS)
            .await
            .unwrap();
        assert!(reply.received_at > sent_at, "round {n}");
    }
    let echoes = conversation.session().log().snapshot();
    let last_echo = echoes
        .messages
        .iter()
        .rfind(|m| !m.message.is_reply())
        .expect("the guest's echo");
    assert!(last_echo.received_at > conversation.last_sent_at().unwrap());

    // With a say delay, `say` first waits for the bot's silence: not counted.
    let mut paced = Conversation::connect(
        config(&sim),
        ConversationOptions {
            say_delay: Duration::from_millis(300),
            ..ConversationOptions::default()
        },
    )
    .await
    .expect("connects");
    paced.wait_for_start(GENEROUS).await.expect("starts");
    let before = tokio::time::Instant::now();
    paced.say("ping").await.unwrap();
    let sent_at = paced.last_sent_at().expect("sent");
    assert!(sent_at.duration_since(before) >= Duration::from_millis(250));
}

#[tokio::test]
async fn the_autostart_join_counts_towards_the_rate_limit() {
    // Genesys' 2 `onMessage` a second count the auto-start Join too: two says right after it
    // must wait, or the simulator refuses the second with 429 (and it is sent again).
    let sim = rate_limited_simulator("states:\n  main:\n    - reply: \"got it\"\n").await;
    let options = ConversationOptions {
        say_delay: Duration::ZERO,
        max_messages_per_second: 2,
        ..ConversationOptions::default()
    };
    let mut conversation = Conversation::connect(config(&sim).autostart(true), options)
        .await
        .unwrap();
    conversation.wait_for_start(GENEROUS).await.unwrap();
    conversation.say("one").await.unwrap();
    conversation.say("two").await.unwrap();
    for _ in 0..2 {
        conversation
            .wait_for_reply_containing("got it", GENEROUS)
            .await
            .unwrap();
    }
    let sent = texts(&sim.received(), "onMessage");
    assert_eq!(
        sent.len(),
        3,
        "the Join and two messages, none sent again: {sent:?}"
    );
}
