//! `wss://`: the simulator's self-signed certificate, trusted by a raw tokio-tungstenite client,
//! by the project's own client library, and by a client that is not ours (Python `websockets`).

mod support;

use genesys_web_messaging::{Conversation, ConversationOptions, SessionConfig};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;
use tokio_tungstenite::Connector;

const BOT: &str = r#"
session:
  welcome: "Welcome to the secure bot."
states:
  main:
    - when: { contains: "menu" }
      reply:
        text: "Tea or coffee?"
        quickReplies: [Tea, { text: Coffee, payload: COFFEE }]
      goto: drink
    - reply: "Say menu."
  drink:
    - when: { payload: "COFFEE" }
      reply: "One coffee coming up."
      disconnect: true
    - when: { contains: "tea" }
      reply: "One tea coming up."
      disconnect: true
"#;

/// Runs a Python guest (with a deadline) and returns the lines it printed; it must succeed.
async fn python_guest_lines(mut command: tokio::process::Command) -> Vec<String> {
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the Python guest finishes in time")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the Python guest failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().map(str::to_string).collect()
}

/// Installs `websockets` into `dir/site` (on a blocking thread) and returns that folder, for
/// `PYTHONPATH`.
async fn websockets_in(dir: &std::path::Path) -> std::path::PathBuf {
    let packages = dir.join("site");
    let target = packages.clone();
    tokio::task::spawn_blocking(move || install_websockets(&target))
        .await
        .expect("pip runs");
    packages
}

#[tokio::test]
async fn wss_serves_with_a_certificate_for_loopback_that_clients_can_trust() {
    let sim = tls_simulator(BOT).await;
    let url = sim.url();
    assert!(
        url.starts_with("wss://127.0.0.1:") && url.ends_with("/v1"),
        "{url}"
    );
    let pem = sim.certificate_pem().expect("a certificate");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let from_pem = CertificateDer::from_pem_slice(pem.as_bytes()).expect("PEM parses");
    assert_eq!(Some(from_pem), sim.certificate_der());

    let mut guest = connect(&sim).await;
    assert_eq!(guest.configure().await["body"]["newSession"], true);
    guest.say_and_echo("hello").await;
    assert_eq!(guest.reply().await, "Welcome to the secure bot.");
    assert_eq!(guest.reply().await, "Say menu.");

    // `localhost` is in the certificate too.
    let local = format!(
        "wss://localhost:{}/v1?deploymentId=x",
        sim.local_addr().port()
    );
    let connector = Connector::Rustls(trusting(sim.certificate_der().unwrap()));
    tokio_tungstenite::connect_async_tls_with_config(local, None, true, Some(connector))
        .await
        .expect("localhost is a name of the certificate");

    // A client that does not trust the certificate is refused at the TLS handshake, and the
    // simulator goes on serving.
    let other = tls_simulator(BOT).await;
    let stranger = Connector::Rustls(trusting(other.certificate_der().unwrap()));
    let refused = tokio_tungstenite::connect_async_tls_with_config(
        format!("{}?deploymentId=x", sim.url()),
        None,
        true,
        Some(stranger),
    )
    .await;
    assert!(refused.is_err(), "an untrusted certificate must be refused");
    let mut again = connect(&sim).await;
    assert_eq!(again.configure().await["class"], "SessionResponse");
}

#[tokio::test]
async fn a_plain_simulator_has_no_certificate() {
    let sim = simulator(BOT).await;
    assert!(sim.url().starts_with("ws://"));
    assert!(sim.certificate_pem().is_none() && sim.certificate_der().is_none());
}

#[tokio::test]
async fn the_client_library_clicks_through_quick_replies_over_wss() {
    let sim = tls_simulator(BOT).await;
    let config = SessionConfig::for_endpoint("test-deployment", &sim.url())
        .trust_certificate(sim.certificate_der().unwrap());
    let options = ConversationOptions {
        say_delay: Duration::ZERO,
        ..ConversationOptions::default()
    };
    let mut conversation = Conversation::connect(config, options)
        .await
        .expect("connects over wss");
    conversation.wait_for_start(GENEROUS).await.expect("starts");
    // The welcome follows the guest's first message, as with Genesys without auto-start.
    conversation.say("show me the menu").await.expect("says");
    conversation
        .wait_for_reply_containing("Welcome", GENEROUS)
        .await
        .expect("welcome");
    conversation
        .wait_for_quick_replies(&["Tea", "Coffee"], GENEROUS)
        .await
        .expect("quick replies");
    conversation.click("coffee").await.expect("clicks");
    conversation
        .wait_for_reply_containing("One coffee coming up", GENEROUS)
        .await
        .expect("answer to the click");
    conversation
        .wait_for_disconnect(GENEROUS)
        .await
        .expect("disconnect");
    conversation.close().await;

    let received = sim.received();
    let click = received
        .iter()
        .find(|frame| frame["message"]["content"][0]["contentType"] == "ButtonResponse")
        .expect("the click was received");
    assert_eq!(
        click["message"]["content"][0]["buttonResponse"]["payload"],
        "COFFEE"
    );
}

/// A guest written in Python with the `websockets` package, trusting only the PEM file.
const PYTHON_GUEST: &str = r#"
import asyncio, json, ssl, sys
import websockets

async def main(url, cafile):
    context = ssl.create_default_context(cafile=cafile)
    async with websockets.connect(url + "?deploymentId=python", ssl=context) as ws:
        async def frame():
            return json.loads(await asyncio.wait_for(ws.recv(), 10))
        async def bot():
            while True:
                f = await frame()
                body = f.get("body", {})
                if f.get("type") == "message" and body.get("direction") == "Outbound":
                    return body
        await ws.send(json.dumps({"action": "configureSession", "deploymentId": "python", "token": "python-guest"}))
        response = await frame()
        assert response["class"] == "SessionResponse" and response["body"]["connected"], response
        await ws.send(json.dumps({"action": "onMessage", "token": "python-guest", "message": {"type": "Text", "text": "menu please"}}))
        print("welcome:", (await bot())["text"])
        offer = await bot()
        labels = [c["quickReply"]["text"] for c in offer["content"] if c["contentType"] == "QuickReply"]
        print("offered:", ",".join(labels))
        click = {"contentType": "ButtonResponse", "buttonResponse": {"text": "Tea", "payload": "Tea", "type": "QuickReply"}}
        await ws.send(json.dumps({"action": "onMessage", "token": "python-guest", "message": {"type": "Text", "content": [click]}}))
        print("answer:", (await bot())["text"])
        event = await bot()
        print("event:", event["events"][0]["presence"]["type"], event["metadata"]["readOnly"])

asyncio.run(main(sys.argv[1], sys.argv[2]))
"#;

/// Installs `websockets` into `target` with pip; panics with the reason when it cannot.
fn install_websockets(target: &Path) {
    let output = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("--target")
        .arg(target)
        .arg("websockets")
        .output()
        .unwrap_or_else(|e| {
            panic!("this test needs python3 (with pip) to run a foreign WebSocket client: {e}")
        });
    assert!(
        output.status.success(),
        "this test needs the Python package `websockets`, but `python3 -m pip install --target \
         {} websockets` failed ({}):\n{}{}",
        target.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_websockets_client_talks_to_the_simulator_over_wss() {
    let dir = tempfile::tempdir().expect("temp dir");
    let packages = websockets_in(dir.path()).await;

    let sim = tls_simulator(BOT).await;
    let cert = dir.path().join("simulator.pem");
    std::fs::write(&cert, sim.certificate_pem().unwrap()).expect("writes the PEM");
    let script = dir.path().join("guest.py");
    std::fs::write(&script, PYTHON_GUEST).expect("writes the script");

    let mut command = tokio::process::Command::new("python3");
    command
        .arg(&script)
        .arg(sim.url())
        .arg(&cert)
        .env("PYTHONPATH", &packages)
        .kill_on_drop(true);
    assert_eq!(
        python_guest_lines(command).await,
        [
            "welcome: Welcome to the secure bot.",
            "offered: Tea,Coffee",
            "answer: One tea coming up.",
            "event: Disconnect true",
        ]
    );
    let received = sim.received();
    assert_eq!(received[0]["token"], "python-guest");
}

/// A flow with every deployment-level behaviour the Python guest checks.
const PROTOCOL_BOT: &str = r#"
deploymentId: py
session: { autostart: true, welcome: "Hello from the flow." }
messenger:
  conversationClear: { enabled: true }
  fileUpload: { modes: [{ fileTypes: [text/plain], maxFileSizeKB: 1 }] }
states:
  main:
    - when: { attachment: true }
      reply: "Got your file."
    - reply: "ok"
"#;

/// A guest written in Python (`websockets` for the socket, the standard library for HTTP)
/// that checks the session-level protocol: config.json, the rich SessionResponse, no greeting
/// before the Join, 4007 for another token, the attachment upload, the captured 429, getJwt
/// and the history, and Presence Clear.
const PYTHON_PROTOCOL_GUEST: &str = r#"
import asyncio, json, sys, urllib.request, urllib.error
import websockets

def http(method, url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

async def main(ws_url, http_url):
    status, raw = http("GET", http_url + "/webdeployments/v1/deployments/py/config.json")
    config = json.loads(raw)
    conversations = config["messenger"]["apps"]["conversations"]
    print("config:", status, conversations["autoStart"]["enabled"], conversations["conversationClear"]["enabled"], config["status"])
    print("other deployment:", http("GET", http_url + "/webdeployments/v1/deployments/nope/config.json")[0])

    async with websockets.connect(ws_url + "?deploymentId=py") as ws:
        async def frame(timeout=10):
            return json.loads(await asyncio.wait_for(ws.recv(), timeout))
        async def send(request):
            await ws.send(json.dumps(request))
        token = "python-protocol-guest"
        await send({"action": "configureSession", "deploymentId": "py", "token": token})
        body = (await frame())["body"]
        print("session:", body["connected"], body["newSession"], body["readOnly"], body["maxCustomDataBytes"],
              body["allowedMedia"]["inbound"]["fileTypes"][0]["type"], body["clearedExistingSession"])
        try:
            early = await frame(0.5)
            print("greeted before the guest spoke:", early)
        except asyncio.TimeoutError:
            print("silent until the guest speaks")
        await send({"action": "onMessage", "token": token, "message": {"type": "Event", "events": [{"eventType": "Presence", "presence": {"type": "Join"}}]}})
        echo = await frame()
        print("join echoed:", echo["body"]["direction"], echo["body"]["events"][0]["presence"]["type"])
        print("welcome:", (await frame())["body"]["text"])

        await send({"action": "onMessage", "token": "someone-else", "message": {"type": "Text", "text": "x"}})
        print("other token:", (await frame())["code"])

        await send({"action": "onAttachment", "token": token, "attachmentId": "att-1", "fileName": "notes.txt", "fileType": "text/plain", "fileSize": 5})
        presigned = (await frame())["body"]
        status, _ = http("PUT", presigned["url"], b"hello", dict(presigned["headers"], **{"Content-Type": "text/plain"}))
        success = await frame()
        print("upload:", status, success["class"], success["body"]["attachmentId"])
        await send({"action": "onMessage", "token": token, "message": {"type": "Text", "text": "see file", "content": [{"contentType": "Attachment", "attachment": {"id": "att-1"}}]}})
        echo = await frame()
        print("attachment echoed:", echo["body"]["content"][0]["attachment"]["filename"])
        print("answer:", (await frame())["body"]["text"])

        for n in range(3):
            await send({"action": "onMessage", "token": token, "tracingId": "burst-%d" % n, "message": {"type": "Text", "text": "burst"}})
        limited = []
        for _ in range(6):
            try:
                f = await frame(1.5)
            except asyncio.TimeoutError:
                break
            if f["class"] == "TooManyRequestsErrorMessage":
                limited.append(f)
        print("429:", len(limited) >= 1, all(f["body"] == {"retryAfter": 3, "errorCode": 4029, "errorMessage": "Message rate too high for this session"} and "tracingId" not in f for f in limited))

        await send({"action": "getJwt", "token": token})
        jwt = (await frame())["body"]["jwt"]
        status, raw = http("GET", http_url + "/api/v2/webmessaging/messages?pageSize=2", headers={"Authorization": "Bearer " + jwt})
        page = json.loads(raw)
        print("history:", status, page["pageSize"], page["entities"][0]["direction"], page["total"] >= 3)
        print("history without jwt:", http("GET", http_url + "/api/v2/webmessaging/messages")[0])

    async with websockets.connect(ws_url + "?deploymentId=py") as ws:
        await ws.send(json.dumps({"action": "configureSession", "deploymentId": "py", "token": "python-clear"}))
        await asyncio.wait_for(ws.recv(), 10)
        await ws.send(json.dumps({"action": "onMessage", "token": "python-clear", "message": {"type": "Event", "events": [{"eventType": "Presence", "presence": {"type": "Clear"}}]}}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        second = json.loads(await asyncio.wait_for(ws.recv(), 10))
        print("clear:", first["class"], second["class"])

asyncio.run(main(sys.argv[1], sys.argv[2]))
"#;

#[tokio::test]
async fn a_python_client_checks_the_session_level_protocol() {
    let dir = tempfile::tempdir().expect("temp dir");
    let packages = websockets_in(dir.path()).await;
    // Genesys' rate limit, as the flow leaves it.
    let flow = web_messaging_simulator::BotFlow::from_yaml_str(PROTOCOL_BOT, "bot.yml").unwrap();
    let sim = web_messaging_simulator::Simulator::start(flow)
        .await
        .unwrap();
    let script = dir.path().join("protocol_guest.py");
    std::fs::write(&script, PYTHON_PROTOCOL_GUEST).expect("writes the script");
    let mut command = tokio::process::Command::new("python3");
    command
        .arg(&script)
        .arg(sim.url())
        .arg(sim.http_url())
        .env("PYTHONPATH", &packages)
        .env("NO_PROXY", "*")
        .kill_on_drop(true);
    assert_eq!(
        python_guest_lines(command).await,
        [
            "config: 200 True True Active",
            "other deployment: 404",
            "session: True True False 2048 text/plain False",
            "silent until the guest speaks",
            "join echoed: Inbound Join",
            "welcome: Hello from the flow.",
            "other token: 4007",
            "upload: 200 UploadSuccessEvent att-1",
            "attachment echoed: notes.txt",
            "answer: Got your file.",
            "429: True True",
            "history: 200 2 Outbound True",
            "history without jwt: 401",
            "clear: SessionClearedEvent ConnectionClosedEvent",
        ]
    );
}
