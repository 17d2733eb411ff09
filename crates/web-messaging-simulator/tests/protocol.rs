//! Protocol fidelity: the simulator refuses what Genesys refuses and answers as the captures
//! in Genesys' captures say. Raw WebSocket guests with hand-written JSON and a plain HTTP client
//! (reqwest), over real loopback sockets; none of the project's serde types.

mod support;

use serde_json::{Value, json};
use support::*;
use web_messaging_simulator::{BotFlow, Simulator};

fn http() -> reqwest::Client {
    genesys_web_messaging::http_client_builder()
        .timeout(GENEROUS)
        .build()
        .expect("an HTTP client")
}

fn base(sim: &Simulator) -> String {
    format!("http://{}", sim.local_addr())
}

async fn get_json(url: &str) -> (u16, Value) {
    let response = http().get(url).send().await.expect("GET answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

// --- config.json ------------------------------------------------------------------------------

#[tokio::test]
async fn config_json_is_served_for_the_deployment_on_the_websocket_port() {
    let sim = simulator(
        r#"
deploymentId: dep-1
session: { autostart: true }
messenger:
  conversationDisconnect: { enabled: true, type: Send }
  conversationClear: { enabled: true }
  fileUpload:
    modes: [{ fileTypes: [image/png, image/jpeg], maxFileSizeKB: 100 }]
auth: { enabled: true, validCodes: [good] }
states:
  main: []
"#,
    )
    .await;
    let url = format!(
        "{}/webdeployments/v1/deployments/dep-1/config.json",
        base(&sim)
    );
    let (status, config) = get_json(&url).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["id"], "dep-1");
    assert_eq!(config["status"], "Active");
    assert_eq!(config["apiEndpoint"], base(&sim));
    let messenger = &config["messenger"];
    assert_eq!(messenger["enabled"], true);
    let conversations = &messenger["apps"]["conversations"];
    assert_eq!(
        conversations["messagingEndpoint"],
        format!("ws://{}", sim.local_addr())
    );
    assert_eq!(
        conversations["conversationDisconnect"],
        json!({"enabled":true,"type":"Send"})
    );
    assert_eq!(conversations["conversationClear"], json!({"enabled":true}));
    assert_eq!(conversations["autoStart"], json!({"enabled":true}));
    assert_eq!(
        messenger["fileUpload"]["modes"],
        json!([{"fileTypes":["image/png","image/jpeg"],"maxFileSizeKB":100}])
    );
    assert_eq!(config["auth"]["enabled"], true);

    // Another deployment has no configuration here.
    let other = format!(
        "{}/webdeployments/v1/deployments/other/config.json",
        base(&sim)
    );
    assert_eq!(get_json(&other).await.0, 404);
    // Other paths and methods.
    assert_eq!(get_json(&format!("{}/nothing", base(&sim))).await.0, 404);
    let post = http().post(&url).send().await.expect("POST answers");
    assert_eq!(post.status().as_u16(), 405);

    // The WebSocket upgrade still works on the same port.
    let mut guest = connect_to(&sim, "dep-1").await;
    assert_eq!(
        guest.configure_on("dep-1").await["class"],
        "SessionResponse"
    );
}

#[tokio::test]
async fn config_json_defaults_and_an_inactive_deployment() {
    let sim = simulator("messenger: { status: Inactive }\nstates:\n  main: []\n").await;
    let url = format!(
        "{}/webdeployments/v1/deployments/anything/config.json",
        base(&sim)
    );
    let (status, config) = get_json(&url).await;
    assert_eq!(status, 200);
    assert_eq!(config["status"], "Inactive");
    let conversations = &config["messenger"]["apps"]["conversations"];
    assert_eq!(conversations["autoStart"], json!({"enabled":false}));
    assert_eq!(
        conversations["conversationDisconnect"],
        json!({"enabled":true,"type":"ReadOnly"})
    );
    assert_eq!(conversations["conversationClear"], json!({"enabled":false}));
    assert_eq!(config["messenger"]["fileUpload"]["modes"], json!([]));
    assert_eq!(config["auth"]["enabled"], false);
    // An inactive deployment refuses sessions (the exact answer is inferred).
    let mut guest = connect(&sim).await;
    let refused = guest.configure().await;
    assert_eq!(refused["class"], "string", "{refused}");
    assert_eq!(refused["code"], 403, "{refused}");
}

#[tokio::test]
async fn config_json_over_https_on_a_wss_simulator() {
    let sim = tls_simulator("states:\n  main: []\n").await;
    let pem = sim.certificate_pem().unwrap();
    let client = genesys_web_messaging::http_client_builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .timeout(GENEROUS)
        .build()
        .unwrap();
    let url = format!(
        "https://{}/webdeployments/v1/deployments/d/config.json",
        sim.local_addr()
    );
    let config: Value = client
        .get(&url)
        .send()
        .await
        .expect("GET over TLS")
        .json()
        .await
        .unwrap();
    assert_eq!(
        config["messenger"]["apps"]["conversations"]["messagingEndpoint"],
        format!("wss://{}", sim.local_addr())
    );
}

// --- Refusals ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_other_than_the_sockets_gets_4007() {
    let sim = simulator("states:\n  main:\n    - reply: ok\n").await;
    let mut guest = configured(&sim).await;
    for action in ["onMessage", "getJwt", "closeSession", "echo"] {
        guest
            .send(json!({"action":action,"token":"someone-else","tracingId":"t","message":{"type":"Text","text":"hi"}}))
            .await;
        assert_eq!(
            guest.next().await,
            json!({"type":"response","class":"string","code":4007,"body":"session not found error message","tracingId":"t"}),
            "{action}"
        );
    }
    // The socket's own token still works.
    guest.say_and_echo("hi").await;
    assert_eq!(guest.reply().await, "ok");
}

#[tokio::test]
async fn a_configure_session_for_another_deployment_than_the_urls_is_refused() {
    let sim = simulator("states:\n  main: []\n").await;
    let mut guest = connect(&sim).await;
    guest
        .send(
            json!({"action":"configureSession","deploymentId":"not-the-url's","token":guest.token}),
        )
        .await;
    let refused = guest.next().await;
    assert_eq!(refused["class"], "string", "{refused}");
    assert_eq!(refused["code"], 400, "{refused}");
    // Not configured: other requests get 4007.
    guest.say("hi").await;
    assert_eq!(guest.next().await["code"], 4007);
    assert_eq!(guest.configure().await["class"], "SessionResponse");
}

// --- Rate limit -------------------------------------------------------------------------------

#[tokio::test]
async fn the_rate_limit_is_configurable_with_a_tracing_id_variant() {
    let sim = rate_limited_simulator(
        "limits:\n  rateLimit: { messagesPerSecond: 1, retryAfterSeconds: 5, tracingId: true }\nstates:\n  main: []\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("one").await;
    guest
        .send(json!({"action":"onMessage","token":guest.token,"tracingId":"second","message":{"type":"Text","text":"two"}}))
        .await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"TooManyRequestsErrorMessage","code":429,
               "body":{"retryAfter":5,"errorCode":4029,"errorMessage":"Message rate too high for this session"},
               "tracingId":"second"})
    );
    // Events are onMessage requests too.
    let refused = guest.send_message(event("Typing", "On")).await;
    assert_eq!(refused["code"], 429);
}

// --- Session response and echoes --------------------------------------------------------------

#[tokio::test]
async fn the_session_response_carries_the_rich_captures_fields() {
    let sim = simulator(
        r#"
session: { ttlSeconds: 600 }
limits: { maxCustomAttributesBytes: 100 }
messenger:
  fileUpload:
    modes:
      - { fileTypes: ["*/*", video/3gpp], maxFileSizeKB: 10240 }
    blockedExtensions: [.ade]
states:
  main: []
"#,
    )
    .await;
    let mut guest = connect(&sim).await;
    let body = guest.configure().await["body"].clone();
    assert_eq!(body["connected"], true);
    assert_eq!(body["newSession"], true);
    assert_eq!(body["readOnly"], false);
    assert_eq!(body["maxCustomDataBytes"], 100);
    assert_eq!(
        body["allowedMedia"],
        json!({"inbound":{"fileTypes":[{"type":"*/*"},{"type":"video/3gpp"}],"maxFileSizeKB":10240}})
    );
    assert_eq!(body["blockedExtensions"], json!([".ade"]));
    assert_eq!(body["clearedExistingSession"], false);
    assert_eq!(body["durationSeconds"], 600);
    let now = jiff::Timestamp::now().as_second();
    let expires = body["expirationDate"].as_i64().expect("epoch seconds");
    assert!((expires - now - 600).abs() <= 5, "{body}");
}

#[tokio::test]
async fn echoes_keep_every_field_the_guest_sent() {
    let sim = simulator("states:\n  main:\n    - reply: ok\n").await;
    let mut guest = configured(&sim).await;
    let message = json!({
        "type": "Text",
        "text": "hello",
        "metadata": {"id": "aaa-bbb-ccc"},
        "channel": {"metadata": {"customAttributes": {"Tier": "Gold"}}},
        "content": [{"contentType":"ButtonResponse","buttonResponse":{"text":"t","payload":"p","type":"QuickReply"}}],
        "extra": {"anything": [1, 2]},
    });
    guest
        .send(json!({"action":"onMessage","token":guest.token,"tracingId":"m1","message":message}))
        .await;
    let echo = guest.next().await;
    assert_eq!(echo["type"], "message");
    assert_eq!(echo["tracingId"], "m1");
    let body = &echo["body"];
    assert_eq!(body["direction"], "Inbound");
    assert_eq!(body["text"], "hello");
    assert_eq!(body["content"], message["content"]);
    assert_eq!(body["extra"], message["extra"]);
    assert_eq!(body["metadata"]["id"], "aaa-bbb-ccc");
    assert!(body["metadata"]["correlationId"].is_string(), "{body}");
    assert_eq!(
        body["channel"]["metadata"]["customAttributes"]["Tier"],
        "Gold"
    );
    assert!(body["channel"]["time"].is_string() && body["channel"]["messageId"].is_string());
    assert!(body["id"].is_string());
    assert_eq!(body["originatingEntity"], "");
}

// --- Lifecycle --------------------------------------------------------------------------------

#[tokio::test]
async fn clear_is_refused_with_the_captured_403_unless_the_deployment_allows_it() {
    let sim = simulator("states:\n  main: []\n").await;
    let mut guest = configured(&sim).await;
    assert_eq!(
        guest.send_message(event("Presence", "Clear")).await,
        json!({"type":"response","class":"string","code":403,"body":"Presence events Conversation Clear are not supported"})
    );
}

#[tokio::test]
async fn clear_ends_the_conversation_on_every_socket_of_the_session() {
    let sim = simulator(
        "messenger: { conversationClear: { enabled: true } }\nstates:\n  main:\n    - reply: ok\n",
    )
    .await;
    let mut a = configured(&sim).await;
    a.say_and_echo("hi").await;
    assert_eq!(a.reply().await, "ok");
    let mut b = connect_with_token(&sim, &a.token).await;
    assert_eq!(b.configure().await["body"]["newSession"], false);

    a.send(json!({"action":"onMessage","token":a.token,"message":{"type":"Event","events":[{"eventType":"Presence","presence":{"type":"Clear"}}]}}))
        .await;
    for guest in [&mut a, &mut b] {
        assert_eq!(
            guest.next().await,
            json!({"type":"message","class":"SessionClearedEvent","code":200,"body":{}})
        );
        assert_eq!(
            guest.next().await,
            json!({"type":"message","class":"ConnectionClosedEvent","code":200,"body":{}})
        );
    }
    // The sockets have no session any more; the token starts a new conversation.
    a.say("still there?").await;
    assert_eq!(a.next().await["code"], 4007);
    assert_eq!(b.configure().await["body"]["newSession"], true);
}

#[tokio::test]
async fn a_disconnect_of_type_send_leaves_the_conversation_writable() {
    let sim = simulator(
        "messenger: { conversationDisconnect: { enabled: true, type: Send } }\nstates:\n  main:\n    - reply: bye\n      disconnect: true\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("hi").await;
    assert_eq!(guest.reply().await, "bye");
    let event = guest.next().await;
    assert_eq!(event["body"]["events"][0]["presence"]["type"], "Disconnect");
    assert!(
        event["body"]["metadata"].get("readOnly").is_none(),
        "{event}"
    );
    guest.say_and_echo("hello again").await;
    assert_eq!(guest.reply().await, "bye");
}

// --- getJwt and the history -------------------------------------------------------------------

#[tokio::test]
async fn get_jwt_opens_the_guest_history_newest_first_with_paging() {
    let sim = simulator("states:\n  main:\n    - reply: ok\n").await;
    let mut guest = configured(&sim).await;
    for text in ["one", "two"] {
        guest.say_and_echo(text).await;
        assert_eq!(guest.reply().await, "ok");
    }
    guest
        .send(json!({"action":"getJwt","token":guest.token,"tracingId":"j"}))
        .await;
    let response = guest.next().await;
    assert_eq!(response["type"], "response");
    assert_eq!(response["class"], "JwtResponse");
    assert_eq!(response["tracingId"], "j");
    let jwt = response["body"]["jwt"].as_str().expect("a jwt").to_string();
    assert_eq!(jwt.split('.').count(), 3, "{jwt}");
    let exp = response["body"]["exp"].as_i64().expect("epoch seconds");
    assert!(exp > jiff::Timestamp::now().as_second());

    let url = format!("{}/api/v2/webmessaging/messages", base(&sim));
    let page = |size: usize, number: usize| {
        http()
            .get(&url)
            .query(&[("pageSize", size), ("pageNumber", number)])
            .bearer_auth(&jwt)
            .send()
    };
    let first: Value = page(3, 1).await.unwrap().json().await.unwrap();
    assert_eq!(first["total"], 4, "{first}");
    assert_eq!(first["pageSize"], 3);
    assert_eq!(first["pageNumber"], 1);
    assert_eq!(first["pageCount"], 2);
    let texts = |page: &Value| -> Vec<String> {
        page["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e["direction"].as_str().unwrap(),
                    e["text"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(texts(&first), ["Outbound:ok", "Inbound:two", "Outbound:ok"]);
    let second: Value = page(3, 2).await.unwrap().json().await.unwrap();
    assert_eq!(texts(&second), ["Inbound:one"]);
    let beyond: Value = page(3, 3).await.unwrap().json().await.unwrap();
    assert_eq!(beyond["entities"], json!([]));
    // The default page.
    let default: Value = http()
        .get(&url)
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(default["pageSize"], 25);
    // No reconnect replays it on the socket.
    let mut again = connect_with_token(&sim, &guest.token).await;
    assert_eq!(again.configure().await["body"]["newSession"], false);
    again.expect_silence().await;

    // Without a JWT, or with one that was never issued: 401.
    let none = http().get(&url).send().await.unwrap();
    assert_eq!(none.status().as_u16(), 401);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["code"], "authentication.required");
    let wrong = http().get(&url).bearer_auth("a.b.c").send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["code"],
        "bad.credentials"
    );
}

// --- configureAuthenticatedSession ------------------------------------------------------------

#[tokio::test]
async fn authenticated_sessions_need_a_valid_code() {
    let sim = simulator(
        "auth: { enabled: true, validCodes: [good-code] }\nstates:\n  main:\n    - reply: ok\n",
    )
    .await;
    let mut guest = connect(&sim).await;
    let frame = |code: &str, token: &str| json!({"action":"configureAuthenticatedSession","deploymentId":"test-deployment","token":token,"data":{"code":code},"tracingId":"a"});
    guest.send(frame("bad-code", &guest.token.clone())).await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"string","code":401,"body":"User is unauthorized","tracingId":"a"})
    );
    guest.send(frame("good-code", &guest.token.clone())).await;
    let response = guest.next().await;
    assert_eq!(response["class"], "SessionResponse");
    assert_eq!(response["body"]["connected"], true);
    guest.say_and_echo("hi").await;
    assert_eq!(guest.reply().await, "ok");

    // Without `auth.enabled`, no code is valid.
    let plain = simulator("states:\n  main: []\n").await;
    let mut guest = connect(&plain).await;
    guest.send(frame("good-code", &guest.token.clone())).await;
    assert_eq!(guest.next().await["code"], 401);
}

// --- Attachments ------------------------------------------------------------------------------

const UPLOADS: &str = r#"
messenger:
  fileUpload:
    modes: [{ fileTypes: [image/png, "text/*"], maxFileSizeKB: 1 }]
states:
  main:
    - when: { attachment: true }
      reply: "Thanks for the file."
    - reply: "Send me a file."
"#;

fn on_attachment(token: &str, name: &str, kind: &str, size: u64) -> Value {
    json!({"action":"onAttachment","token":token,"attachmentId":uuid::Uuid::new_v4().to_string(),
           "fileName":name,"fileType":kind,"fileSize":size,"tracingId":"up"})
}

#[tokio::test]
async fn an_attachment_is_uploaded_to_the_simulators_own_port_then_sent() {
    let sim = simulator(UPLOADS).await;
    let mut guest = configured(&sim).await;
    let request = on_attachment(&guest.token, "photo.png", "image/png", 5);
    let id = request["attachmentId"].as_str().unwrap().to_string();
    guest.send(request).await;
    let presigned = guest.next().await;
    assert_eq!(presigned["type"], "response", "{presigned}");
    assert_eq!(presigned["class"], "PresignedUrlResponse");
    assert_eq!(presigned["tracingId"], "up");
    let body = &presigned["body"];
    assert_eq!(body["attachmentId"], id.as_str());
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/uploads/{id}?", base(&sim))),
        "{url}"
    );
    let headers = body["headers"].as_object().unwrap().clone();
    assert!(!headers.is_empty());

    // An unsent attachment cannot be referenced yet: 4010.
    let reference = json!({"type":"Text","text":"here","content":[{"contentType":"Attachment","attachment":{"id":id}}]});
    let refused = guest.send_message(reference.clone()).await;
    assert_eq!(refused["code"], 4010, "{refused}");

    // The PUT must carry the headers, like a presigned S3 URL.
    let bare = http().put(url).body("hello").send().await.unwrap();
    assert_eq!(bare.status().as_u16(), 403);
    let mut put = http().put(url).header("Content-Type", "image/png");
    for (name, value) in &headers {
        put = put.header(name.as_str(), value.as_str().unwrap());
    }
    let uploaded = put.body("hello").send().await.unwrap();
    assert_eq!(uploaded.status().as_u16(), 200);
    let event = guest.next().await;
    assert_eq!(event["type"], "message");
    assert_eq!(event["class"], "UploadSuccessEvent", "{event}");
    assert_eq!(event["body"]["attachmentId"], id.as_str());
    assert!(event["body"]["timestamp"].is_string());
    let download = event["body"]["downloadUrl"].as_str().unwrap().to_string();
    let bytes = http()
        .get(&download)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], b"hello");

    // Now the message with the attachment is echoed (with what was uploaded) and answered.
    let echo = guest.send_message(reference).await;
    let attachment = &echo["body"]["content"][0]["attachment"];
    assert_eq!(attachment["id"], id.as_str());
    assert_eq!(attachment["filename"], "photo.png");
    assert_eq!(attachment["mediaType"], "Image");
    assert_eq!(attachment["mime"], "image/png");
    assert_eq!(guest.reply().await, "Thanks for the file.");

    // getAttachment refreshes the download URL; a sent attachment cannot be deleted.
    guest
        .send(json!({"action":"getAttachment","token":guest.token,"attachmentId":id}))
        .await;
    let refreshed = guest.next().await;
    assert_eq!(refreshed["class"], "PresignedUrlResponse");
    assert_eq!(refreshed["body"]["headers"], json!({}));
    assert_eq!(refreshed["body"]["fileSize"], 5);
    guest
        .send(json!({"action":"deleteAttachment","token":guest.token,"attachmentId":id}))
        .await;
    assert_eq!(guest.next().await["code"], 4009);
    // Another guest cannot use it.
    let mut other = configured(&sim).await;
    let stolen =
        json!({"type":"Text","content":[{"contentType":"Attachment","attachment":{"id":id}}]});
    assert_eq!(other.send_message(stolen).await["code"], 4010);
}

#[tokio::test]
async fn attachments_outside_the_deployments_limits_are_refused_with_their_codes() {
    let sim = simulator(UPLOADS).await;
    let mut guest = configured(&sim).await;
    let token = guest.token.clone();
    let cases = [
        (on_attachment(&token, "movie.mp4", "video/mp4", 5), 4001),
        (on_attachment(&token, "setup.exe", "text/plain", 5), 4001),
        (on_attachment(&token, "big.png", "image/png", 1025), 4002),
        (on_attachment(&token, "", "image/png", 5), 4004),
        (
            on_attachment(&token, &format!("{}.png", "n".repeat(300)), "image/png", 5),
            4005,
        ),
    ];
    for (request, code) in cases {
        guest.send(request.clone()).await;
        let refused = guest.next().await;
        assert_eq!(refused["class"], "string", "{request} → {refused}");
        assert_eq!(refused["code"], code, "{request} → {refused}");
    }
    // With errorsAsJson (the mobile SDK), the same refusal is a GenerateUrlError.
    let mut request = on_attachment(&token, "movie.mp4", "video/mp4", 5);
    request["errorsAsJson"] = json!(true);
    let id = request["attachmentId"].clone();
    guest.send(request).await;
    let refused = guest.next().await;
    assert_eq!(refused["class"], "GenerateUrlError", "{refused}");
    assert_eq!(refused["body"]["errorCode"], 4001);
    assert_eq!(refused["body"]["attachmentId"], id);

    // Bytes beyond the limit: the PUT fails, and the socket gets UploadFailureEvent 4002.
    let request = on_attachment(&token, "notes.txt", "text/plain", 10);
    guest.send(request).await;
    let presigned = guest.next().await;
    let url = presigned["body"]["url"].as_str().unwrap();
    let mut put = http().put(url);
    for (name, value) in presigned["body"]["headers"].as_object().unwrap() {
        put = put.header(name.as_str(), value.as_str().unwrap());
    }
    let response = put.body(vec![b'x'; 2000]).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let failure = guest.next().await;
    assert_eq!(failure["class"], "UploadFailureEvent", "{failure}");
    assert_eq!(failure["body"]["errorCode"], 4002);
}

#[tokio::test]
async fn without_file_upload_modes_every_attachment_is_refused() {
    let sim = simulator("states:\n  main: []\n").await;
    let mut guest = configured(&sim).await;
    guest
        .send(on_attachment(&guest.token.clone(), "a.png", "image/png", 1))
        .await;
    assert_eq!(guest.next().await["code"], 4001);
}

// --- A flow file's new keys are checked like the others -----------------------------------------

#[test]
fn the_new_keys_are_checked_with_their_position() {
    let bad = [
        (
            "messenger:\n  status: Sleeping\nstates:\n  s: []\n",
            "messenger.status",
        ),
        (
            "messenger:\n  fileUpload:\n    modes: [{ fileTypes: [], maxFileSizeKB: 1 }]\nstates:\n  s: []\n",
            "messenger.fileUpload.modes[0].fileTypes",
        ),
        (
            "messenger:\n  fileUpload:\n    modes: [{ fileTypes: [a/b], maxFileSizeKB: 0 }]\nstates:\n  s: []\n",
            "messenger.fileUpload.modes[0].maxFileSizeKB",
        ),
        (
            "limits:\n  rateLimit: { retryAfterSeconds: 99999 }\nstates:\n  s: []\n",
            "limits.rateLimit.retryAfterSeconds",
        ),
        (
            "auth: { enabled: true, codes: [x] }\nstates:\n  s: []\n",
            "auth",
        ),
    ];
    for (yaml, key) in bad {
        let error = BotFlow::from_yaml_str(yaml, "bot.yml")
            .expect_err(yaml)
            .to_string();
        assert!(error.starts_with("bot.yml:"), "{error}");
        assert!(error.contains(key), "{yaml}: {error}");
    }
}

/// Connects a guest whose upgrade URL names `deployment`.
async fn connect_to(sim: &Simulator, deployment: &str) -> Guest {
    try_connect(sim, Some(deployment), None)
        .await
        .expect("connects")
}

trait ConfigureOn {
    async fn configure_on(&mut self, deployment: &str) -> Value;
}

impl ConfigureOn for Guest {
    async fn configure_on(&mut self, deployment: &str) -> Value {
        let frame =
            json!({"action":"configureSession","deploymentId":deployment,"token":self.token});
        self.send(frame).await;
        self.next().await
    }
}
