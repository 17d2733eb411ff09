//! Handover to a queue and an agent, DatePicker offers and picks, and attachment replies, over
//! real loopback WebSockets driven by a raw tokio-tungstenite client with hand-written JSON.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;
use tokio::time::Instant;

/// Spaces a guest's `onMessage` requests so that at most two fall within any rolling second
/// (Genesys' limit; the simulator answers 429 beyond it).
struct Pacer {
    sent: Vec<Instant>,
}

impl Pacer {
    fn new() -> Pacer {
        Pacer { sent: Vec::new() }
    }

    async fn ready(&mut self) {
        if self.sent.len() >= 2 {
            let due = self.sent[self.sent.len() - 2] + Duration::from_millis(1100);
            tokio::time::sleep_until(due).await;
        }
        self.sent.push(Instant::now());
    }
}

/// The body of a frame that must be an Outbound StructuredMessage.
fn outbound(frame: &Value) -> &Value {
    assert_eq!(frame["type"], "message", "{frame}");
    assert_eq!(frame["class"], "StructuredMessage", "{frame}");
    assert_eq!(frame["code"], 200, "{frame}");
    let body = &frame["body"];
    assert_eq!(body["direction"], "Outbound", "{frame}");
    body
}

/// Asserts the exact shape of an agent Typing On event (as captured: no `originatingEntity`,
/// `channel` with `time` and `messageId`, `duration` 5000 ms).
fn assert_agent_typing(frame: &Value) {
    let body = outbound(frame);
    assert_eq!(body["type"], "Event", "{frame}");
    assert_eq!(
        body["events"],
        json!([{"eventType":"Typing","typing":{"type":"On","duration":5000}}]),
        "{frame}"
    );
    assert!(body.get("originatingEntity").is_none(), "{frame}");
    let channel = body["channel"].as_object().expect("a channel");
    let mut keys: Vec<&str> = channel.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["messageId", "time"], "{frame}");
    assert!(body["metadata"]["correlationId"].is_string(), "{frame}");
}

/// Asserts an agent's text message: `Human`, `channel.from` as given (or none), the text.
fn assert_agent_message(frame: &Value, from: Option<Value>, text: &str) {
    let body = outbound(frame);
    assert_eq!(body["type"], "Text", "{frame}");
    assert_eq!(body["originatingEntity"], "Human", "{frame}");
    assert_eq!(body["text"], text, "{frame}");
    assert_eq!(body["channel"]["type"], "Private", "{frame}");
    assert!(body["channel"]["time"].is_string(), "{frame}");
    match from {
        Some(from) => assert_eq!(body["channel"]["from"], from, "{frame}"),
        None => assert!(body["channel"].get("from").is_none(), "{frame}"),
    }
    let id = body["id"].as_str().expect("an id");
    assert_eq!(id.len(), 32, "{frame}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{frame}");
}

const HANDOVER: &str = r#"
states:
  main:
    - when: { contains: agent }
      reply: "Transferring you to an agent."
      transfer:
        queue: Billing
        after: 400ms
        agent:
          nickname: Anna
          image: https://example.com/anna.png
          firstName: Anna
          lastName: Smith
        say: ["Hi, I'm Anna.", "How can I help?"]
        answers:
          - "Let me check that for you."
          - { text: "Done. Goodbye!", delayMs: 50 }
        disconnect: true
    - when: { contains: help }
      reply: "The bot can help."
    - reply: "Say agent."
"#;

#[tokio::test]
async fn a_transfer_hands_the_conversation_to_an_agent_who_types_and_writes_as_a_human() {
    let sim = simulator(HANDOVER).await;
    let mut guest = connect(&sim).await;
    let mut pace = Pacer::new();
    guest.configure().await;
    assert_eq!(sim.conversation_state(&guest.token).unwrap().transfer, None);

    pace.ready().await;
    let asked = Instant::now();
    guest.say_and_echo("I want an agent").await;
    assert_eq!(guest.reply().await, "Transferring you to an agent.");
    // The queue is recorded at once; the agent has not joined yet.
    let state = sim.conversation_state(&guest.token).expect("a session");
    let transfer = state.transfer.expect("the transfer is recorded");
    assert_eq!(transfer.queue, "Billing");
    assert!(!transfer.agent_joined);
    assert_eq!(transfer.answered, 0);
    let agent = transfer.agent.expect("an agent");
    assert_eq!(agent.nickname.as_deref(), Some("Anna"));
    assert_eq!(agent.last_name.as_deref(), Some("Smith"));
    assert!(!state.read_only);

    let from = json!({"nickname":"Anna","image":"https://example.com/anna.png",
        "firstName":"Anna","lastName":"Smith"});
    // After `after`: Typing On, then the line, for each `say` line.
    let typing = guest.next().await;
    assert!(
        asked.elapsed() >= Duration::from_millis(400),
        "the agent joined after {:?}",
        asked.elapsed()
    );
    assert_agent_typing(&typing);
    assert_agent_message(&guest.next().await, Some(from.clone()), "Hi, I'm Anna.");
    assert_agent_typing(&guest.next().await);
    assert_agent_message(&guest.next().await, Some(from.clone()), "How can I help?");
    assert!(
        sim.conversation_state(&guest.token)
            .unwrap()
            .transfer
            .unwrap()
            .agent_joined
    );

    // The agent answers the guest's messages in turn; the bot's rules are silent ("help"
    // would be the bot's).
    pace.ready().await;
    guest.say_and_echo("I need help with an invoice").await;
    assert_agent_typing(&guest.next().await);
    assert_agent_message(
        &guest.next().await,
        Some(from.clone()),
        "Let me check that for you.",
    );
    pace.ready().await;
    guest.say_and_echo("thanks").await;
    assert_agent_typing(&guest.next().await);
    assert_agent_message(&guest.next().await, Some(from), "Done. Goodbye!");
    // After the last answer, the agent disconnects: read-only, as the bot's disconnect.
    let bye = guest.next().await;
    let body = outbound(&bye);
    assert_eq!(
        body["events"],
        json!([{"eventType":"Presence","presence":{"type":"Disconnect"}}]),
        "{bye}"
    );
    assert_eq!(body["metadata"]["readOnly"], "true", "{bye}");
    let state = sim.conversation_state(&guest.token).unwrap();
    assert!(state.read_only);
    assert_eq!(state.transfer.unwrap().answered, 2);
    pace.ready().await;
    guest.say("anyone there?").await;
    let refused = guest.next().await;
    assert_eq!(refused["class"], "string", "{refused}");
    guest.expect_silence().await;
}

#[tokio::test]
async fn the_bot_is_silent_once_it_transferred_even_before_the_agent_joins() {
    let sim = simulator(
        r#"
states:
  main:
    - when: { contains: agent }
      transfer: { queue: Support, after: 1h, agent: Bob, say: ["Hi"] }
    - reply: "The bot answers."
"#,
    )
    .await;
    let mut guest = connect(&sim).await;
    let mut pace = Pacer::new();
    guest.configure().await;
    pace.ready().await;
    guest.say_and_echo("hello").await;
    assert_eq!(guest.reply().await, "The bot answers.");
    pace.ready().await;
    guest.say_and_echo("agent please").await;
    // No reply of its own: the rule only transfers; the agent is an hour away.
    guest.expect_silence().await;
    pace.ready().await;
    guest.say_and_echo("hello?").await;
    guest.expect_silence().await;
    let transfer = sim
        .conversation_state(&guest.token)
        .unwrap()
        .transfer
        .unwrap();
    assert_eq!(transfer.queue, "Support");
    assert!(!transfer.agent_joined);
    assert_eq!(
        transfer.answered, 0,
        "messages in the queue are not answered"
    );
    assert_eq!(
        transfer.agent.unwrap().nickname.as_deref(),
        Some("Bob"),
        "`agent: Bob` is a nickname"
    );
}

#[tokio::test]
async fn an_agent_without_a_profile_writes_without_channel_from_and_typing_can_be_off() {
    let sim = simulator(
        r#"
states:
  main:
    - transfer: { queue: Support, typing: false, say: ["Hello from the queue."] }
"#,
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    assert_agent_message(&guest.next().await, None, "Hello from the queue.");
    guest.expect_silence().await;
}

#[tokio::test]
async fn start_new_ends_the_handover() {
    let sim = simulator(
        r#"
states:
  main:
    - when: { contains: agent }
      transfer: { queue: Support, after: 1h }
    - reply: "The bot answers."
"#,
    )
    .await;
    let mut guest = connect(&sim).await;
    let mut pace = Pacer::new();
    guest.configure().await;
    pace.ready().await;
    guest.say_and_echo("agent").await;
    assert!(
        sim.conversation_state(&guest.token)
            .unwrap()
            .transfer
            .is_some()
    );
    let mut restart = guest.configure_frame();
    restart["startNew"] = json!(true);
    guest.send(restart).await;
    let answer = guest.next().await;
    assert_eq!(answer["body"]["newSession"], true, "{answer}");
    let state = sim.conversation_state(&guest.token).unwrap();
    assert_eq!(state.transfer, None);
    assert_eq!(state.bot_state, "main");
    pace.ready().await;
    guest.say_and_echo("hello").await;
    assert_eq!(guest.reply().await, "The bot answers.");
    assert!(sim.conversation_state("no-such-token").is_none());
}

// --- DatePicker -------------------------------------------------------------------------------

const DATES: &str = r#"
states:
  main:
    - when: { contains: appointment }
      reply:
        text: "When suits you?"
        datePicker:
          title: "Book a call"
          subtitle: "30 minutes with an adviser"
          imageUrl: https://example.com/calendar.png
          availableTimes:
            - { dateTime: "2030-01-15T09:00:00Z", duration: 1800 }
            - { dateTime: "2030-01-15T10:30:00+01:00", duration: 3600 }
    - when: { datePicked: "2030-01-15T09:30:00.000Z" }
      reply: "Booked for 09:30 UTC."
    - when: { datePicked: any }
      reply: "Booked."
    - reply: "That is not one of the times offered."
"#;

/// The guest's DatePicker answer, as Genesys' mobile SDK sends it.
fn pick(date_time: &str, origin: &str) -> Value {
    json!({"type":"Text","content":[{"contentType":"ButtonResponse","buttonResponse":{
        "text":date_time,"payload":date_time,"type":"DatePicker","originatingMessageId":origin}}]})
}

async fn offer(sim: &web_messaging_simulator::Simulator, pace: &mut Pacer) -> (Guest, String) {
    let mut guest = connect(sim).await;
    guest.configure().await;
    pace.ready().await;
    guest.say_and_echo("an appointment please").await;
    let frame = guest.next().await;
    let body = outbound(&frame);
    assert_eq!(body["type"], "Structured", "{frame}");
    assert_eq!(body["originatingEntity"], "Bot", "{frame}");
    assert_eq!(body["text"], "When suits you?", "{frame}");
    assert_eq!(
        body["content"],
        json!([{"contentType":"DatePicker","datePicker":{
        "title":"Book a call",
        "subtitle":"30 minutes with an adviser",
        "imageUrl":"https://example.com/calendar.png",
        "availableTimes":[
            {"dateTime":"2030-01-15T09:00:00Z","duration":1800},
            {"dateTime":"2030-01-15T09:30:00Z","duration":3600}
        ]}}]),
        "{frame}"
    );
    let id = body["id"].as_str().expect("an id").to_string();
    (guest, id)
}

#[tokio::test]
async fn a_date_picker_is_offered_and_a_pick_of_an_offered_time_is_matched() {
    let sim = simulator(DATES).await;
    let mut pace = Pacer::new();
    let (mut guest, id) = offer(&sim, &mut pace).await;
    pace.ready().await;
    let echo = guest.send_message(pick("2030-01-15T09:00:00Z", &id)).await;
    assert_eq!(echo["body"]["direction"], "Inbound", "{echo}");
    assert_eq!(guest.reply().await, "Booked.");

    // The same instant written with another offset matches a `datePicked` time.
    let (mut guest, id) = offer(&sim, &mut pace).await;
    pace.ready().await;
    guest
        .send_message(pick("2030-01-15T10:30:00+01:00", &id))
        .await;
    assert_eq!(guest.reply().await, "Booked for 09:30 UTC.");
}

#[tokio::test]
async fn a_pick_of_a_time_not_offered_or_of_another_message_is_not_a_date_picked() {
    let sim = simulator(DATES).await;
    let mut pace = Pacer::new();
    let (mut guest, id) = offer(&sim, &mut pace).await;
    for bad in [
        pick("2030-01-16T09:00:00Z", &id),
        pick("2030-01-15T09:00:00Z", "0123456789abcdef0123456789abcdef"),
        pick("not a time", &id),
        json!({"type":"Text","content":[{"contentType":"ButtonResponse","buttonResponse":{
            "text":"x","payload":"2030-01-15T09:00:00Z","type":"DatePicker"}}]}),
    ] {
        pace.ready().await;
        guest.send_message(bad).await;
        assert_eq!(guest.reply().await, "That is not one of the times offered.");
    }
}

// --- Attachments ------------------------------------------------------------------------------

#[tokio::test]
async fn a_bot_reply_carries_an_attachment_offered_on_the_simulators_own_port() {
    let sim = simulator(
        r#"
states:
  main:
    - when: { contains: invoice }
      reply:
        text: "Here is your invoice."
        attachment: { filename: invoice.pdf, mediaType: File, mime: application/pdf, fileSize: 48213 }
    - reply:
        attachment:
          filename: logo.png
          mediaType: Image
          mime: image/png
          url: https://cdn.example.com/logo.png
"#,
    )
    .await;
    let mut guest = connect(&sim).await;
    let mut pace = Pacer::new();
    guest.configure().await;
    pace.ready().await;
    guest.say_and_echo("my invoice").await;
    let frame = guest.bot_message().await;
    let body = outbound(&frame);
    assert_eq!(body["type"], "Text", "{frame}");
    assert_eq!(body["text"], "Here is your invoice.", "{frame}");
    let content = body["content"].as_array().expect("content");
    assert_eq!(content.len(), 1, "{frame}");
    assert_eq!(content[0]["contentType"], "Attachment", "{frame}");
    let attachment = &content[0]["attachment"];
    let id = attachment["id"].as_str().expect("an id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{frame}");
    let url = format!("http://{}/downloads/{id}", sim.local_addr());
    assert_eq!(
        attachment,
        &json!({"id":id,"filename":"invoice.pdf","mediaType":"File","mime":"application/pdf",
            "fileSize":48213,"url":url}),
        "{frame}"
    );

    pace.ready().await;
    guest.say_and_echo("logo").await;
    let frame = guest.bot_message().await;
    let body = outbound(&frame);
    assert_eq!(body["type"], "Text", "{frame}");
    assert!(body.get("text").is_none(), "{frame}");
    let attachment = &body["content"][0]["attachment"];
    assert_eq!(
        attachment["url"], "https://cdn.example.com/logo.png",
        "{frame}"
    );
    assert_eq!(attachment["mediaType"], "Image", "{frame}");
    assert!(attachment.get("fileSize").is_none(), "{frame}");
}

#[tokio::test]
async fn an_agent_can_send_an_attachment_and_a_wss_simulator_offers_https_downloads() {
    let sim = tls_simulator(
        r#"
states:
  main:
    - transfer:
        queue: Support
        agent: Anna
        say:
          - text: "Hi"
            attachment: { filename: image.png, mediaType: Image, mime: image/png }
"#,
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    assert_agent_typing(&guest.next().await);
    let frame = guest.next().await;
    let body = outbound(&frame);
    // The captured agent attachment (MT `onMessageWithAttachment`): Text, Human.
    assert_eq!(body["type"], "Text", "{frame}");
    assert_eq!(body["originatingEntity"], "Human", "{frame}");
    assert_eq!(
        body["channel"]["from"],
        json!({"nickname":"Anna"}),
        "{frame}"
    );
    let attachment = &body["content"][0]["attachment"];
    let url = attachment["url"].as_str().expect("a url");
    assert!(
        url.starts_with(&format!("https://{}/downloads/", sim.local_addr())),
        "{url}"
    );
}
