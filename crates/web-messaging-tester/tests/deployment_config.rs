//! Deployment discovery and auto-start, end to end: the built binary against one loopback
//! port that stands in for both `api-cdn` (serving `config.json` as raw text: a captured
//! deployment's file, edited as a deployment's owner would) and the Web Messaging WebSocket (a tiny
//! server answering with raw JSON and recording every frame the guest sends). Nothing here
//! uses the project's serde types.

mod common;

use common::{run, write};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// A captured `config.json` of a real deployment, as is.
const FIXTURE: &str = r##"{"id":"test_config_id","version":"3","languages":["en-us"],"defaultLanguage":"en-us","apiEndpoint":"https://api.inindca.com",
 "messenger":{"enabled":true,
   "apps":{"conversations":{"messagingEndpoint":"wss://webmessaging.inindca.com",
       "conversationDisconnect":{"enabled":true,"type":"ReadOnly"},"conversationClear":{"enabled":true}}},
   "styles":{"primaryColor":"#ff0000"},"launcherButton":{"visibility":"On"},
   "fileUpload":{"modes":[{"fileTypes":["image/png","image/jpeg","image/gif"],"maxFileSizeKB":10000}]}},
 "journeyEvents":{"enabled":true},"status":"Active","auth":{"enabled":true,"allowSessionUpgrade":true}}"##;

/// The fixture for a deployment without authentication (so guests may start).
fn guest_fixture() -> String {
    FIXTURE.replace(
        r#""auth":{"enabled":true,"allowSessionUpgrade":true}"#,
        r#""auth":{"enabled":false}"#,
    )
}

/// The guest fixture with auto-start on.
fn autostart_fixture() -> String {
    guest_fixture().replace(
        r#""messagingEndpoint":"wss://webmessaging.inindca.com","#,
        r#""messagingEndpoint":"wss://webmessaging.inindca.com","autoStart":{"enabled":true},"#,
    )
}

/// What the fake api-cdn answers on the config path.
#[derive(Clone)]
enum ConfigAnswer {
    Json(String),
    Status(u16),
    Garbage,
}

/// The fake deployment: its address and what it saw.
struct Fake {
    addr: SocketAddr,
    /// Every frame guests sent, parsed as generic JSON, in arrival order.
    frames: Arc<Mutex<Vec<Value>>>,
    /// WebSocket upgrades accepted.
    sockets: Arc<AtomicUsize>,
    /// Requests for config.json.
    config_requests: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl Fake {
    fn start(answer: ConfigAnswer) -> Fake {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let sockets = Arc::new(AtomicUsize::new(0));
        let config_requests = Arc::new(AtomicUsize::new(0));
        let read_only =
            matches!(&answer, ConfigAnswer::Json(j) if j.contains(r#""type":"ReadOnly""#));
        let shared = (
            Arc::clone(&frames),
            Arc::clone(&sockets),
            Arc::clone(&config_requests),
        );
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (frames, sockets, config_requests) = (
                    Arc::clone(&shared.0),
                    Arc::clone(&shared.1),
                    Arc::clone(&shared.2),
                );
                let answer = answer.clone();
                tokio::spawn(async move {
                    let Some(path) = peek_path(&stream).await else {
                        return;
                    };
                    if path.starts_with("/webdeployments/") {
                        config_requests.fetch_add(1, Ordering::SeqCst);
                        serve_config(stream, &answer).await;
                    } else {
                        sockets.fetch_add(1, Ordering::SeqCst);
                        serve_socket(stream, frames, read_only).await;
                    }
                });
            }
        });
        Fake {
            addr,
            frames,
            sockets,
            config_requests,
            _runtime: runtime,
        }
    }

    fn endpoint(&self) -> String {
        format!("ws://{}/v1", self.addr)
    }

    fn config_url(&self) -> String {
        format!(
            "http://{}/webdeployments/v1/deployments/test-deployment/config.json",
            self.addr
        )
    }

    fn frames(&self) -> Vec<Value> {
        self.frames.lock().unwrap().clone()
    }

    /// Runs `scripted` on `script` against this fake, with `extra` flags.
    fn scripted(&self, script: &str, extra: &[&str]) -> common::Run {
        let endpoint = self.endpoint();
        let mut args = vec![
            "scripted",
            script,
            "--endpoint",
            &endpoint,
            "-id",
            "test-deployment",
            "--say-delay",
            "0",
        ];
        args.extend_from_slice(extra);
        run(&args)
    }
}

/// The request line's path, read without consuming the request (so a WebSocket upgrade can
/// still be accepted from the same stream).
async fn peek_path(stream: &TcpStream) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let n = tokio::time::timeout_at(deadline, stream.peek(&mut buf))
            .await
            .ok()?
            .ok()?;
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        if head.contains("\r\n\r\n") || n == buf.len() {
            return head.split_whitespace().nth(1).map(str::to_string);
        }
        if n == 0 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn serve_config(mut stream: TcpStream, answer: &ConfigAnswer) {
    // Read the request head (a GET has no body).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16_384 {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let (status, content_type, body) = match answer {
        ConfigAnswer::Json(json) => ("200 OK", "application/json", json.clone()),
        ConfigAnswer::Status(404) => (
            "404 Not Found",
            "application/json",
            r#"{"message":"Not Found"}"#.to_string(),
        ),
        ConfigAnswer::Status(code) => (
            if *code == 500 {
                "500 Internal Server Error"
            } else {
                "503 Service Unavailable"
            },
            "text/plain",
            "upstream trouble".to_string(),
        ),
        ConfigAnswer::Garbage => ("200 OK", "text/html", "<html>oops</html>".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn bot_text(text: &str) -> String {
    json!({"type":"message","class":"StructuredMessage","code":200,"body":{
        "text": text, "direction":"Outbound", "id": uuid_like(),
        "channel":{"time": now(), "type":"Private"}, "type":"Text", "originatingEntity":"Bot",
        "metadata":{"correlationId":"c"}}})
    .to_string()
}

fn uuid_like() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("{:032x}", COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// A deployment whose flow greets on the guest's Join only, answers text with `You said: …`,
/// and on `bye` says goodbye and disconnects (read-only when its config says ReadOnly).
async fn serve_socket(stream: TcpStream, frames: Arc<Mutex<Vec<Value>>>, read_only: bool) {
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        frames.lock().unwrap().push(frame.clone());
        let mut replies = Vec::new();
        match frame["action"].as_str() {
            Some("configureSession") => replies.push(
                r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true}}"#.to_string(),
            ),
            Some("onMessage") => {
                let message = &frame["message"];
                let mut echo = message.clone();
                echo["direction"] = json!("Inbound");
                echo["id"] = json!(uuid_like());
                echo["channel"] = json!({"time": now(), "messageId": uuid_like()});
                replies.push(
                    json!({"type":"message","class":"StructuredMessage","code":200,"body":echo,"tracingId":frame["tracingId"]})
                        .to_string(),
                );
                let join = message["events"][0]["presence"]["type"] == "Join";
                match message["text"].as_str() {
                    _ if join => replies.push(bot_text("Welcome! How can I help?")),
                    Some("bye") => {
                        replies.push(bot_text("Goodbye"));
                        let mut metadata = json!({"correlationId":"c"});
                        if read_only {
                            metadata["readOnly"] = json!("true");
                        }
                        replies.push(
                            json!({"type":"message","class":"StructuredMessage","code":200,"body":{
                                "direction":"Outbound","id":uuid_like(),"channel":{"time":now()},
                                "type":"Event","events":[{"eventType":"Presence","presence":{"type":"Disconnect"}}],
                                "metadata":metadata}})
                            .to_string(),
                        );
                    }
                    Some(text) => replies.push(bot_text(&format!("You said: {text}"))),
                    None => {}
                }
            }
            _ => {}
        }
        for reply in replies {
            if socket.send(Message::text(reply)).await.is_err() {
                return;
            }
        }
    }
}

fn script(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    write(dir.path(), name, text)
}

const GREETED: &str = "scenarios:\n  Greeted:\n    - waitForReplyContaining: Welcome\n    - say: hi\n    - waitForReplyContaining: 'You said: hi'\n";
const CHAT: &str = "scenarios:\n  Chat:\n    - say: hi\n    - waitForReplyContaining: 'You said: hi'\n  Again:\n    - say: hello\n    - waitForReplyContaining: 'You said: hello'\n";

fn is_join(frame: &Value) -> bool {
    frame["action"] == "onMessage" && frame["message"]["events"][0]["presence"]["type"] == "Join"
}

#[test]
fn autostart_sends_join_right_after_the_session_response_and_the_welcome_is_seen() {
    let fake = Fake::start(ConfigAnswer::Json(autostart_fixture()));
    let dir = tempfile::tempdir().unwrap();
    let path = script(&dir, "greeted.yml", GREETED);
    let result = fake.scripted(&path, &["-t", "5"]);
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert!(
        result.stdout.contains("Them: Welcome! How can I help?"),
        "{}",
        result.stdout
    );
    let frames = fake.frames();
    assert_eq!(frames[0]["action"], "configureSession", "{frames:?}");
    // The Join is the very next frame: sent right after the SessionResponse, before any say.
    assert!(is_join(&frames[1]), "{frames:?}");
    assert_eq!(frames[1]["message"]["type"], "Event");
    assert_eq!(
        frames[1]["message"]["channel"]["metadata"]["customAttributes"]["IsAutomatedTest"], "true",
        "the Join carries the custom attributes inside the message, as the Messenger does"
    );
    assert_eq!(frames[1]["token"], frames[0]["token"]);
    assert_eq!(frames[2]["message"]["text"], "hi");
    assert_eq!(frames.iter().filter(|f| is_join(f)).count(), 1);
    // The Join's Inbound echo is not a bot reply, nor a guest line.
    assert!(!result.stdout.contains("You: \n"), "{}", result.stdout);
    assert_eq!(fake.config_requests.load(Ordering::SeqCst), 1);
}

#[test]
fn no_autostart_overrides_the_deployment_and_the_welcome_never_comes() {
    let fake = Fake::start(ConfigAnswer::Json(autostart_fixture()));
    let dir = tempfile::tempdir().unwrap();
    let path = script(&dir, "greeted.yml", GREETED);
    let result = fake.scripted(&path, &["-t", "1", "--no-autostart"]);
    assert_eq!(result.code, 1, "{}\n{}", result.stdout, result.stderr);
    assert!(result.stdout.contains("Welcome"), "{}", result.stdout);
    assert!(!fake.frames().iter().any(is_join), "{:?}", fake.frames());

    // config.autostart: false in the file does the same.
    let fake = Fake::start(ConfigAnswer::Json(autostart_fixture()));
    let path = script(
        &dir,
        "off.yml",
        &format!("config:\n  autostart: false\n{GREETED}"),
    );
    let result = fake.scripted(&path, &["-t", "1"]);
    assert_eq!(result.code, 1, "{}\n{}", result.stdout, result.stderr);
    assert!(!fake.frames().iter().any(is_join));
}

#[test]
fn not_published_means_defaults_said_once_in_verbose_and_the_file_can_turn_autostart_on() {
    let fake = Fake::start(ConfigAnswer::Status(404));
    let dir = tempfile::tempdir().unwrap();
    let chat = script(&dir, "chat.yml", CHAT);
    let other = script(&dir, "other.yml", CHAT);
    let result = fake.scripted(&chat, &["-t", "5", &other, "--verbose"]);
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert!(
        !fake.frames().iter().any(is_join),
        "defaults: no auto-start"
    );
    assert_eq!(
        result
            .stderr
            .matches("no deployment configuration published at")
            .count(),
        1,
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains(&fake.config_url()),
        "{}",
        result.stderr
    );
    // Two files with the same target: one request (cached for the run).
    assert_eq!(fake.config_requests.load(Ordering::SeqCst), 1);

    // Without --verbose nothing is said.
    let result = fake.scripted(&chat, &["-t", "5"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        !result.stderr.contains("deployment configuration"),
        "{}",
        result.stderr
    );

    // config.autostart: true in the file sends the Join though nothing was published.
    let fake = Fake::start(ConfigAnswer::Status(404));
    let greeted = script(
        &dir,
        "on.yml",
        &format!("config:\n  autostart: true\n{GREETED}"),
    );
    let result = fake.scripted(&greeted, &["-t", "5"]);
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert!(is_join(&fake.frames()[1]));

    // And so does --autostart.
    let fake = Fake::start(ConfigAnswer::Status(404));
    let result = fake.scripted(
        &script(&dir, "plain.yml", GREETED),
        &["-t", "5", "--autostart"],
    );
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
}

#[test]
fn an_inactive_or_disabled_deployment_stops_the_run_before_any_socket_opens() {
    let dir = tempfile::tempdir().unwrap();
    let chat = script(&dir, "chat.yml", CHAT);
    for (config, words) in [
        (
            guest_fixture().replace(r#""status":"Active""#, r#""status":"Inactive""#),
            "is inactive (status: Inactive",
        ),
        (
            guest_fixture().replace(
                r#""messenger":{"enabled":true"#,
                r#""messenger":{"enabled":false"#,
            ),
            "has its Messenger turned off (messenger.enabled: false",
        ),
    ] {
        let fake = Fake::start(ConfigAnswer::Json(config));
        let result = fake.scripted(&chat, &["-t", "5"]);
        // The deployment cannot be tested: exit 3.
        assert_eq!(result.code, 3, "{}\n{}", result.stdout, result.stderr);
        assert!(result.stderr.contains(words), "{}", result.stderr);
        assert!(
            result.stderr.contains(&fake.config_url()),
            "{}",
            result.stderr
        );
        assert_eq!(
            fake.sockets.load(Ordering::SeqCst),
            0,
            "no WebSocket opened"
        );
        assert!(result.stdout.is_empty(), "{}", result.stdout);
    }
}

#[test]
fn authentication_required_names_what_is_needed() {
    // The capture as it is: auth.enabled true.
    let fake = Fake::start(ConfigAnswer::Json(FIXTURE.to_string()));
    let dir = tempfile::tempdir().unwrap();
    let result = fake.scripted(&script(&dir, "chat.yml", CHAT), &["-t", "5"]);
    assert_eq!(result.code, 2, "{}\n{}", result.stdout, result.stderr);
    for words in [
        "requires authenticated messaging (auth.enabled: true",
        "--auth-code-variable",
        "config.auth.codeVariable",
    ] {
        assert!(result.stderr.contains(words), "{}", result.stderr);
    }
    assert_eq!(fake.sockets.load(Ordering::SeqCst), 0);
}

#[test]
fn an_unreadable_configuration_is_an_error_naming_the_url_unless_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let chat = script(&dir, "chat.yml", CHAT);
    for (answer, words) in [
        (ConfigAnswer::Status(500), "HTTP 500"),
        (ConfigAnswer::Status(503), "HTTP 503"),
        (ConfigAnswer::Garbage, "is not a deployment configuration"),
        (
            ConfigAnswer::Json(r#"{"status":42}"#.into()),
            "is not a deployment configuration",
        ),
    ] {
        let fake = Fake::start(answer);
        let result = fake.scripted(&chat, &["-t", "5"]);
        assert_eq!(
            result.code, 3,
            "{words}: {}\n{}",
            result.stdout, result.stderr
        );
        let error = format!(
            "error: cannot read the deployment configuration at {}",
            fake.config_url()
        );
        assert!(result.stderr.contains(&error), "{}", result.stderr);
        assert!(result.stderr.contains(words), "{}", result.stderr);
        assert!(
            result.stderr.contains("--no-deployment-config"),
            "{}",
            result.stderr
        );
        assert_eq!(fake.sockets.load(Ordering::SeqCst), 0);

        let result = fake.scripted(&chat, &["-t", "5", "--no-deployment-config"]);
        assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
        assert_eq!(
            fake.config_requests.load(Ordering::SeqCst),
            1,
            "not fetched"
        );
    }

    // A closed port: nobody answers at all.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("ws://127.0.0.1:{port}/v1");
    let result = run(&[
        "scripted",
        &chat,
        "--endpoint",
        &endpoint,
        "-id",
        "d",
        "-t",
        "2",
    ]);
    // Nothing listens: the deployment could not be tested (3).
    assert_eq!(result.code, 3, "{}\n{}", result.stdout, result.stderr);
    assert!(
        result.stderr.contains(&format!(
            "cannot read the deployment configuration at http://127.0.0.1:{port}/webdeployments/v1/deployments/d/config.json: cannot connect"
        )),
        "{}",
        result.stderr
    );
}

const DISCONNECTING: &str = "scenarios:\n  After the end:\n    - say: bye\n    - waitForDisconnect: true\n    - say: again\n    - waitForReplyContaining: 'You said: again'\n";

#[test]
fn read_only_refuses_sends_after_a_disconnect_and_send_allows_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(&dir, "after.yml", DISCONNECTING);

    let fake = Fake::start(ConfigAnswer::Json(guest_fixture()));
    let result = fake.scripted(&path, &["-t", "5"]);
    assert_eq!(result.code, 1, "{}\n{}", result.stdout, result.stderr);
    assert!(
        result.stdout.contains(
            "Cannot send text as conversation was disconnected by Genesys and is read-only (the deployment's conversationDisconnect type is ReadOnly)"
        ),
        "{}",
        result.stdout
    );
    assert!(
        !fake
            .frames()
            .iter()
            .any(|f| f["message"]["text"] == "again"),
        "refused locally: never sent"
    );

    let send = guest_fixture().replace(r#""type":"ReadOnly""#, r#""type":"Send""#);
    let fake = Fake::start(ConfigAnswer::Json(send));
    let result = fake.scripted(&path, &["-t", "5"]);
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert!(
        result.stdout.contains("Them: You said: again"),
        "{}",
        result.stdout
    );
}
