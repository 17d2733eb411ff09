//! The client against the simulator's Platform API: what the bot flow did in a real guest
//! conversation (over a real WebSocket), the not-indexed window, the disconnect, and the
//! simulator's faults.

use futures_util::{SinkExt, StreamExt};
use genesys_platform::{
    CallRecord, ClientOptions, Credentials, Endpoints, EntityKind, Lookup, PlatformClient, Probe,
};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use web_messaging_simulator::{BotFlow, Simulator};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const FLOW: &str = r#"
botFlow: Support Bot
platform:
  messageFlow: Web Chat Entry
  analyticsDelayMs: 1500
  queues: [General]
states:
  main:
    - when: { contains: bill }
      reply: Let me get someone from billing.
      setParticipantData: { Intent: Billing, Verified: true }
      outcome: { Identified: success }
      milestone: Intent captured
      transfer: { queue: Billing }
    - reply: Sorry?
"#;

async fn guest(simulator: &Simulator, text: &str) -> (Socket, Value) {
    let url = format!("{}?deploymentId=d", simulator.url());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(Message::text(
        r#"{"action":"configureSession","deploymentId":"d","token":"t1"}"#,
    ))
    .await
    .unwrap();
    let frame = serde_json::json!({"action":"onMessage","token":"t1","message":{"type":"Text","text":text}});
    ws.send(Message::text(frame.to_string())).await.unwrap();
    let reply = next_outbound(&mut ws).await;
    (ws, reply)
}

/// The next Outbound StructuredMessage body.
async fn next_outbound(ws: &mut Socket) -> Value {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let Some(Ok(Message::Text(text))) = ws.next().await else {
                panic!("the socket closed");
            };
            let frame: Value = serde_json::from_str(text.as_str()).unwrap();
            if frame["class"] == "StructuredMessage" && frame["body"]["direction"] == "Outbound" {
                return frame["body"].clone();
            }
        }
    })
    .await
    .expect("an outbound message within 10 s")
}

fn client(simulator: &Simulator, options: ClientOptions) -> PlatformClient {
    PlatformClient::with_options(
        Endpoints::single(&simulator.http_url()),
        Credentials::new("any", "thing"),
        options,
    )
    .unwrap()
}

async fn found(client: &PlatformClient, kind: EntityKind, name: &str) -> String {
    match client.lookup(kind, name).await.unwrap() {
        Lookup::Found(e) => e.id,
        Lookup::Unknown { suggestions } => panic!("{name} not found; close: {suggestions:?}"),
    }
}

// One conversation followed from start to cleanup: splitting it would hide the order.
#[allow(clippy::too_many_lines)]
#[tokio::test]
async fn what_the_flow_did_live_then_in_analytics_then_disconnected() {
    let flow = BotFlow::from_yaml_str(FLOW, "bot.yml").unwrap();
    let simulator = Simulator::builder(flow)
        .rate_limit(0)
        .start()
        .await
        .unwrap();
    let (mut ws, reply) = guest(&simulator, "about my bill").await;
    assert_eq!(reply["text"], "Let me get someone from billing.");
    let client = client(&simulator, ClientOptions::default());

    let details = client
        .message_details(reply["id"].as_str().unwrap())
        .await
        .unwrap();
    let conversation_id = details.conversation_id.unwrap();

    let live = client.conversation(&conversation_id).await.unwrap();
    let customer = live.customer().unwrap();
    assert_eq!(customer.attributes["Intent"], "Billing");
    assert_eq!(customer.attributes["Verified"], "true");
    let acd = live
        .participants
        .iter()
        .find(|p| p.has_purpose("acd"))
        .unwrap();
    let billing = found(&client, EntityKind::Queue, "Billing").await;
    assert_eq!(
        acd.queue.as_ref().unwrap().id.as_deref(),
        Some(billing.as_str())
    );
    assert!(acd.is_active(), "nobody answers: it waits in the queue");
    let workflow = live
        .participants
        .iter()
        .find(|p| p.has_purpose("workflow"))
        .unwrap();
    assert_eq!(workflow.disconnect_type.as_deref(), Some("transfer"));

    // Not indexed yet, then indexed.
    assert_eq!(
        client
            .analytics_conversation(&conversation_id)
            .await
            .unwrap(),
        None
    );
    let started = Instant::now();
    let analytics = loop {
        if let Some(a) = client
            .analytics_conversation(&conversation_id)
            .await
            .unwrap()
        {
            break a;
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let flows: Vec<_> = analytics.flows().collect();
    let message_flow = flows
        .iter()
        .find(|(p, _)| p.purpose.as_deref() == Some("workflow"))
        .unwrap()
        .1;
    assert_eq!(message_flow.flow_name.as_deref(), Some("Web Chat Entry"));
    assert_eq!(message_flow.exit_reason.as_deref(), Some("TRANSFER"));
    assert_eq!(
        message_flow.transfer_target_name.as_deref(),
        Some("Billing")
    );
    assert_eq!(
        message_flow.transfer_target_address.as_deref(),
        Some(billing.as_str())
    );
    let bot = flows
        .iter()
        .find(|(p, _)| p.purpose.as_deref() == Some("botflow"))
        .unwrap()
        .1;
    assert_eq!(bot.flow_type.as_deref(), Some("BOT"));
    assert_eq!(bot.exit_reason.as_deref(), Some("FLOW_EXIT"));
    let identified = found(&client, EntityKind::FlowOutcome, "identified").await;
    assert_eq!(
        bot.outcomes[0].flow_outcome_id.as_deref(),
        Some(identified.as_str())
    );
    assert_eq!(
        bot.outcomes[0].flow_outcome_value.as_deref(),
        Some("SUCCESS")
    );
    let flow_id = found(&client, EntityKind::Flow, "Support Bot").await;
    assert_eq!(bot.flow_id.as_deref(), Some(flow_id.as_str()));

    let milestone = found(&client, EntityKind::FlowMilestone, "Intent captured").await;
    let now = jiff::Timestamp::now();
    let interval = format!(
        "{}/{}",
        now - jiff::SignedDuration::from_hours(1),
        now + jiff::SignedDuration::from_hours(1)
    );
    let milestones = client
        .flow_milestones(&conversation_id, &interval)
        .await
        .unwrap();
    assert_eq!(milestones.get(&milestone), Some(&1));

    assert_eq!(
        client.lookup(EntityKind::Queue, "Biling").await.unwrap(),
        Lookup::Unknown {
            suggestions: vec!["Billing".into()]
        }
    );

    // The cleanup: the queued conversation is disconnected, and the guest sees it.
    client.disconnect(&conversation_id).await.unwrap();
    let event = next_outbound(&mut ws).await;
    assert_eq!(event["events"][0]["presence"]["type"], "Disconnect");
    let live = client.conversation(&conversation_id).await.unwrap();
    assert!(!live.is_active(), "{live:?}");
    assert_eq!(
        live.customer().unwrap().disconnect_type.as_deref(),
        Some("client")
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn faults_429_403_401_and_credentials() {
    let flow = BotFlow::from_yaml_str(
        r#"
platform:
  credentials: { clientId: tester, clientSecret: right-secret }
  missingPermissions: [analytics:conversationDetail:view]
  faults:
    tooManyRequests: { every: 3, retryAfterSeconds: 1 }
    expireTokensAfterRequests: 2
  queues: [Billing]
states:
  main:
    - reply: Hi
"#,
        "bot.yml",
    )
    .unwrap();
    let simulator = Simulator::start(flow).await.unwrap();
    let wrong = PlatformClient::new(
        Endpoints::single(&simulator.http_url()),
        Credentials::new("tester", "wrong"),
    )
    .unwrap();
    let e = wrong.login().await.unwrap_err();
    assert_eq!(e.code(), Some("invalid_client"));
    assert!(!e.to_string().contains("wrong"));

    let calls: Arc<Mutex<Vec<CallRecord>>> = Arc::default();
    let seen = Arc::clone(&calls);
    let client = PlatformClient::with_options(
        Endpoints::single(&simulator.http_url()),
        Credentials::new("tester", "right-secret"),
        ClientOptions {
            observer: Some(Arc::new(move |r: &CallRecord| {
                seen.lock().unwrap().push(r.clone())
            })),
            backoff: Duration::from_millis(10),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let started = Instant::now();
    for _ in 0..4 {
        assert!(matches!(
            client.lookup(EntityKind::Queue, "Billing").await.unwrap(),
            Lookup::Found(_)
        ));
    }
    assert_eq!(
        client.check_permission(Probe::AnalyticsDetails).await,
        Ok(false)
    );
    assert_eq!(client.check_permission(Probe::Conversation).await, Ok(true));
    let calls = calls.lock().unwrap().clone();
    let statuses: Vec<Option<u16>> = calls.iter().map(|c| c.status).collect();
    assert!(statuses.contains(&Some(429)), "{statuses:?}");
    assert!(statuses.contains(&Some(401)), "{statuses:?}");
    assert!(calls.iter().filter(|c| c.path == "/oauth/token").count() >= 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    simulator.shutdown().await;
}
