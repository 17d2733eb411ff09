//! Attachment upload and the session lifecycle, against tiny hand-written servers over real
//! loopback sockets: a WebSocket server that sends the raw JSON frames Genesys was captured
//! sending (never the project's serde types), and a minimal HTTP/1.1 server for the presigned
//! upload URL.

#[path = "support/raw_server.rs"]
mod raw_server;

use futures_util::StreamExt;
use genesys_web_messaging::{
    Attachment, AttachmentError, AttachmentLimits, Conversation, ConversationOptions,
    LifecycleError, SayError, SessionConfig, UploadMode,
};
use raw_server::{GENEROUS, accept, answer_clear, recv, send, ws_listener};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn bot(id: &str, text: &str) -> String {
    format!(
        r#"{{"type":"message","class":"StructuredMessage","code":200,"body":{{"text":"{text}","direction":"Outbound","id":"{id}","channel":{{"time":"{}","type":"Private"}},"type":"Text","originatingEntity":"Bot","metadata":{{"correlationId":"c"}}}}}}"#,
        now()
    )
}

const SESSION: &str = r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true}}"#;
const RICH_SESSION: &str = r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true,"readOnly":false,"maxCustomDataBytes":100,"allowedMedia":{"inbound":{"fileTypes":[{"type":"image/png"},{"type":"video/*"}],"maxFileSizeKB":1}},"blockedExtensions":[".ade"],"clearedExistingSession":false}}"#;

fn options() -> ConversationOptions {
    ConversationOptions {
        say_delay: Duration::ZERO,
        ..ConversationOptions::default()
    }
}

async fn connect(config: SessionConfig) -> Conversation {
    let mut conversation = Conversation::connect(config, options()).await.unwrap();
    conversation.wait_for_start(GENEROUS).await.unwrap();
    conversation
}

/// One received HTTP request.
#[derive(Debug)]
struct HttpRequest {
    head: String,
    body: Vec<u8>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }
}

/// A minimal HTTP/1.1 server: answers every request with `status` and reports it.
async fn http_server(status: u16) -> (String, mpsc::UnboundedReceiver<HttpRequest>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                    assert!(data.len() < 64 << 10, "header too large");
                };
                let head = String::from_utf8_lossy(&data[..head_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while data.len() < head_end + length {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                }
                let body = data[head_end..].to_vec();
                let reply = if status == 200 { "" } else { "AccessDenied" };
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = tx.send(HttpRequest { head, body });
            });
        }
    });
    (base, rx)
}

#[tokio::test]
async fn an_attachment_runs_the_real_upload_flow_and_shows_in_the_transcript() {
    let (listener, url) = ws_listener().await;
    let (upload_base, mut uploads) = http_server(200).await;
    let server = tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        assert_eq!(recv(&mut ws).await["action"], "configureSession");
        send(&mut ws, RICH_SESSION).await;
        let ask = recv(&mut ws).await;
        assert_eq!(ask["action"], "onAttachment");
        assert_eq!(ask["fileName"], "photo.png");
        assert_eq!(ask["fileType"], "image/png");
        assert_eq!(ask["fileSize"], 5);
        assert_eq!(ask["errorsAsJson"], true);
        assert_eq!(ask["attachmentId"].as_str().unwrap().len(), 36);
        send(&mut ws, &format!(r#"{{"type":"response","class":"PresignedUrlResponse","code":200,"body":{{"attachmentId":"srv-1","headers":{{"x-amz-tagging":"organizationId=1234&role=Darth"}},"url":"{upload_base}/uploads/photo.png?X-Amz-Signature=topsecret"}}}}"#)).await;
        // Genesys reports success only once the bytes are there.
        let put = tokio::time::timeout(GENEROUS, uploads.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(
            put.head
                .starts_with("PUT /uploads/photo.png?X-Amz-Signature=topsecret ")
        );
        assert_eq!(
            put.header("x-amz-tagging").as_deref(),
            Some("organizationId=1234&role=Darth")
        );
        assert_eq!(put.header("content-type").as_deref(), Some("image/png"));
        assert_eq!(put.body, b"\x89PNG!");
        send(&mut ws, r#"{"type":"message","class":"UploadSuccessEvent","code":200,"body":{"attachmentId":"srv-1","downloadUrl":"https://uploads.url/photo.png","timestamp":"2021-04-21T14:03:09.581Z"}}"#).await;
        let message = recv(&mut ws).await;
        assert_eq!(message["action"], "onMessage");
        assert_eq!(message["message"]["type"], "Text");
        assert_eq!(message["message"]["text"], "see attached");
        assert_eq!(
            message["message"]["content"],
            json!([{"contentType":"Attachment","attachment":{"id":"srv-1"}}])
        );
        let tracing = message["tracingId"].as_str().unwrap().to_string();
        send(&mut ws, &format!(r#"{{"type":"message","class":"StructuredMessage","code":200,"body":{{"originatingEntity":"","text":"see attached","direction":"Inbound","id":"e1","channel":{{"time":"{}","messageId":"m1"}},"type":"Text","content":[{{"contentType":"Attachment","attachment":{{"id":"srv-1"}}}}]}},"tracingId":"{tracing}"}}"#, now())).await;
        send(&mut ws, &bot("b1", "Got your photo")).await;
        ws
    });
    let mut conversation = connect(SessionConfig::for_endpoint("d", &url)).await;
    let photo = Attachment::new("photo.png", "image/png", b"\x89PNG!".to_vec());
    let id = conversation
        .send_attachment(&photo, Some("see attached"), GENEROUS)
        .await
        .unwrap();
    assert_eq!(id, "srv-1");
    conversation
        .wait_for_reply_containing("got your photo", GENEROUS)
        .await
        .unwrap();
    assert_eq!(
        conversation.transcript().to_string(),
        "You: see attached [attachment: photo.png]\nThem: Got your photo\n"
    );
    let _ws = server.await.unwrap();
    conversation.close().await;
}

#[tokio::test]
async fn every_documented_refusal_is_reported_by_name() {
    let codes = [
        (4001, "FileTypeInvalid"),
        (4002, "FileSizeInvalid"),
        (4003, "FileContentInvalid"),
        (4004, "FileNameInvalid"),
        (4005, "FileNameTooLong"),
        (4008, "AttachmentHasExpired"),
        (4009, "AttachmentNotFound"),
        (4010, "AttachmentNotSuccessfullyUploaded"),
    ];
    let (listener, url) = ws_listener().await;
    let (upload_base, _uploads) = http_server(200).await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        recv(&mut ws).await;
        send(&mut ws, SESSION).await;
        for (i, (code, _)) in codes.iter().enumerate() {
            let ask = recv(&mut ws).await;
            assert_eq!(ask["action"], "onAttachment");
            let id = ask["attachmentId"].as_str().unwrap().to_string();
            if i % 2 == 0 {
                // Refused when asked for a URL (the mobile SDK's fixture shape).
                send(&mut ws, &format!(r#"{{"type":"message","class":"GenerateUrlError","code":200,"body":{{"attachmentId":"{id}","errorCode":{code},"errorMessage":"error message"}}}}"#)).await;
            } else {
                // Refused after the upload.
                send(&mut ws, &format!(r#"{{"type":"response","class":"PresignedUrlResponse","code":200,"body":{{"attachmentId":"{id}","headers":{{}},"url":"{upload_base}/u"}}}}"#)).await;
                send(&mut ws, &format!(r#"{{"type":"message","class":"UploadFailureEvent","code":200,"body":{{"attachmentId":"{id}","errorCode":{code},"errorMessage":"error message","timestamp":"2021-04-21T14:03:09.581Z"}}}}"#)).await;
            }
        }
        // Nothing was sent after the refusals: the next frame is the guest's text.
        let next = recv(&mut ws).await;
        assert_eq!(next["message"]["text"], "still here");
        send(&mut ws, &bot("b", "fine")).await;
        let _ = ws.next().await;
    });
    let mut conversation = connect(SessionConfig::for_endpoint("d", &url)).await;
    let file = Attachment::new("a.png", "image/png", vec![1, 2, 3]);
    for (code, name) in codes {
        let e = conversation
            .send_attachment(&file, None, GENEROUS)
            .await
            .unwrap_err();
        assert_eq!(e.genesys_name(), Some(name), "{e}");
        let text = e.to_string();
        assert!(text.contains(&format!("{name} ({code})")), "{text}");
    }
    // A refusal is not a failure of the waits that follow.
    conversation.say("still here").await.unwrap();
    conversation
        .wait_for_reply_containing("fine", GENEROUS)
        .await
        .unwrap();
    conversation.close().await;
}

#[tokio::test]
async fn limits_are_checked_before_anything_is_sent() {
    let (listener, url) = ws_listener().await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        recv(&mut ws).await;
        send(&mut ws, RICH_SESSION).await;
        let next = recv(&mut ws).await;
        assert_eq!(next["action"], "onMessage", "no onAttachment was sent");
        send(&mut ws, &bot("b", "ok")).await;
        let _ = ws.next().await;
    });
    let limits = AttachmentLimits {
        modes: vec![UploadMode {
            file_types: vec!["image/*".into(), "video/mp4".into()],
            max_file_size_kb: Some(10_000),
        }],
        blocked_extensions: vec!["exe".into()],
    };
    let config = SessionConfig::for_endpoint("d", &url).with_attachment_limits(limits);
    let mut conversation = connect(config).await;
    let cases = [
        // Over the session's maxFileSizeKB of 1.
        (
            Attachment::new("big.png", "image/png", vec![0; 1025]),
            "over the limit of 1024 bytes",
        ),
        // The session accepts video/*, the caller only video/mp4.
        (
            Attachment::new("clip.mov", "video/quicktime", vec![0]),
            "not accepted",
        ),
        // Not an image or video for the session.
        (
            Attachment::new("doc.pdf", "application/pdf", vec![0]),
            "not accepted",
        ),
        (
            Attachment::new("x.ADE", "image/png", vec![0]),
            "blocked extension .ade",
        ),
        (
            Attachment::new("x.exe", "image/png", vec![0]),
            "blocked extension .exe",
        ),
    ];
    for (file, fragment) in cases {
        let e = conversation
            .send_attachment(&file, None, GENEROUS)
            .await
            .unwrap_err();
        assert!(e.to_string().contains(fragment), "{}: {e}", file.file_name);
    }
    conversation.say("next").await.unwrap();
    conversation
        .wait_for_reply_containing("ok", GENEROUS)
        .await
        .unwrap();
    conversation.close().await;
}

#[tokio::test]
async fn a_refused_upload_is_reported_without_the_presigned_credentials() {
    let (listener, url) = ws_listener().await;
    let (upload_base, _uploads) = http_server(403).await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        recv(&mut ws).await;
        send(&mut ws, SESSION).await;
        recv(&mut ws).await;
        send(&mut ws, &format!(r#"{{"type":"response","class":"PresignedUrlResponse","code":200,"body":{{"attachmentId":"a","headers":{{}},"url":"{upload_base}/u?X-Amz-Signature=topsecret"}}}}"#)).await;
        let _ = ws.next().await;
    });
    let mut conversation = connect(SessionConfig::for_endpoint("d", &url)).await;
    let e = conversation
        .send_attachment(
            &Attachment::new("a.txt", "text/plain", vec![1]),
            None,
            GENEROUS,
        )
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, AttachmentError::Upload { .. }), "{text}");
    assert!(
        text.contains("HTTP 403") && text.contains("AccessDenied"),
        "{text}"
    );
    assert!(!text.contains("topsecret"), "{text}");
    conversation.close().await;
}

#[tokio::test]
async fn no_upload_answer_times_out_on_time() {
    let (listener, url) = ws_listener().await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        recv(&mut ws).await;
        send(&mut ws, SESSION).await;
        while ws.next().await.is_some() {}
    });
    let mut conversation = connect(SessionConfig::for_endpoint("d", &url)).await;
    let started = std::time::Instant::now();
    let e = conversation
        .send_attachment(
            &Attachment::new("a.txt", "text/plain", vec![1]),
            None,
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("PresignedUrlResponse for the attachment 'a.txt' within 300 ms"),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    conversation.close().await;
}

#[tokio::test]
async fn clearing_the_conversation_waits_for_cleared_and_closed() {
    let (listener, url) = ws_listener().await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        recv(&mut ws).await;
        send(&mut ws, SESSION).await;
        let clear = recv(&mut ws).await;
        assert_eq!(clear["action"], "onMessage");
        assert_eq!(
            clear["message"],
            json!({"type":"Event","events":[{"eventType":"Presence","presence":{"type":"Clear"}}]})
        );
        answer_clear(&mut ws).await;
        let _ = ws.close(None).await;
    });
    let mut conversation = connect(SessionConfig::for_endpoint("d", &url)).await;
    conversation.clear_conversation(GENEROUS).await.unwrap();
    conversation.close().await;
}

#[tokio::test]
async fn clearing_when_it_is_off_is_the_documented_403_and_the_conversation_goes_on() {
    let (listener, url) = ws_listener().await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        recv(&mut ws).await;
        send(&mut ws, SESSION).await;
        recv(&mut ws).await;
        send(&mut ws, r#"{"type":"response","class":"string","code":403,"body":"Presence events Conversation Clear are not supported"}"#).await;
        send(&mut ws, &bot("b", "still here")).await;
        let _ = ws.next().await;
    });
    let mut conversation = connect(SessionConfig::for_endpoint("d", &url)).await;
    let e = conversation.clear_conversation(GENEROUS).await.unwrap_err();
    assert!(matches!(e, LifecycleError::ClearNotEnabled { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("Presence events Conversation Clear are not supported")
    );
    conversation
        .wait_for_reply_containing("still here", GENEROUS)
        .await
        .unwrap();
    conversation.close().await;
}

/// A server for reconnects: the first socket greets; the second must carry the same token.
async fn reconnect_server(second: impl FnOnce(String) -> Vec<String> + Send + 'static) -> String {
    let (listener, url) = ws_listener().await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        let configure = recv(&mut ws).await;
        let token = configure["token"].as_str().unwrap().to_string();
        send(&mut ws, SESSION).await;
        let hi = recv(&mut ws).await;
        assert_eq!(hi["message"]["text"], "hi");
        send(&mut ws, &bot("hello-1", "hello")).await;
        // The client closes this socket and opens another.
        while let Some(Ok(frame)) = ws.next().await {
            if frame.is_close() {
                break;
            }
        }
        let mut ws = accept(&listener).await;
        let configure = recv(&mut ws).await;
        assert_eq!(configure["action"], "configureSession");
        assert_eq!(configure["token"], token.as_str(), "the same token");
        assert!(configure.get("startNew").is_none());
        for frame in second(token) {
            send(&mut ws, &frame).await;
        }
        while ws.next().await.is_some() {}
    });
    url
}

#[tokio::test]
async fn reconnecting_resumes_the_session_and_waits_go_on() {
    let url = reconnect_server(|_| {
        vec![
            r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":false}}"#.into(),
            bot("back-1", "welcome back"),
        ]
    })
    .await;
    let mut conversation = connect(SessionConfig::for_endpoint("d", &url)).await;
    conversation.say("hi").await.unwrap();
    conversation
        .wait_for_reply_containing("hello", GENEROUS)
        .await
        .unwrap();
    let session = conversation.reconnect(GENEROUS).await.unwrap();
    assert_eq!(session.new_session, Some(false));
    // The wait after the reconnect sees what the new socket receives, past the old cursor.
    let reply = conversation.wait_for_next_reply(GENEROUS).await.unwrap();
    assert_eq!(reply.message.text.as_deref(), Some("welcome back"));
    assert_eq!(
        conversation.transcript().to_string(),
        "Them: hello\nThem: welcome back\n"
    );
    conversation.close().await;
}

#[tokio::test]
async fn a_reconnect_that_replays_or_starts_anew_fails_clearly() {
    let url = reconnect_server(|_| {
        vec![
            bot("hello-1", "hello"),
            r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":false}}"#.into(),
        ]
    })
    .await;
    let mut conversation = connect(SessionConfig::for_endpoint("d", &url)).await;
    conversation.say("hi").await.unwrap();
    conversation.wait_for_next_reply(GENEROUS).await.unwrap();
    let e = conversation.reconnect(GENEROUS).await.unwrap_err();
    assert!(matches!(e, LifecycleError::Replayed { count: 1 }), "{e}");

    let url = reconnect_server(|_| vec![SESSION.into()]).await;
    let mut conversation = connect(SessionConfig::for_endpoint("d", &url)).await;
    conversation.say("hi").await.unwrap();
    conversation.wait_for_next_reply(GENEROUS).await.unwrap();
    let e = conversation.reconnect(GENEROUS).await.unwrap_err();
    assert!(e.to_string().contains("newSession: true"), "{e}");
    conversation.close().await;
}

#[tokio::test]
async fn close_session_then_start_new_begins_a_new_conversation() {
    let (listener, url) = ws_listener().await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        recv(&mut ws).await;
        send(&mut ws, SESSION).await;
        send(&mut ws, &bot("bye", "Goodbye")).await;
        send(&mut ws, &format!(r#"{{"type":"message","class":"StructuredMessage","code":200,"body":{{"direction":"Outbound","id":"d1","channel":{{"time":"{}"}},"type":"Event","events":[{{"eventType":"Presence","presence":{{"type":"Disconnect"}}}}],"metadata":{{"readOnly":"true"}}}}}}"#, now())).await;
        let close = recv(&mut ws).await;
        assert_eq!(close["action"], "closeSession");
        assert_eq!(close["closeAllConnections"], true);
        send(&mut ws, r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":false,"newSession":true,"readOnly":true,"maxCustomDataBytes":2048,"clearedExistingSession":false}}"#).await;
        let start = recv(&mut ws).await;
        assert_eq!(start["action"], "configureSession");
        assert_eq!(start["startNew"], true);
        send(&mut ws, SESSION).await;
        let hi = recv(&mut ws).await;
        assert_eq!(hi["message"]["text"], "hello again");
        send(&mut ws, &bot("new-1", "New chat")).await;
        let _ = ws.next().await;
    });
    let mut conversation = connect(SessionConfig::for_endpoint("d", &url)).await;
    conversation.wait_for_disconnect(GENEROUS).await.unwrap();
    assert!(matches!(
        conversation.say("x").await,
        Err(SayError::Disconnected)
    ));
    let closed = conversation.close_session(GENEROUS).await.unwrap();
    assert!(!closed.connected);
    assert_eq!(closed.read_only, Some(true));
    let started = conversation.start_new(GENEROUS).await.unwrap();
    assert!(started.connected);
    assert!(!conversation.is_disconnected());
    conversation.say("hello again").await.unwrap();
    conversation
        .wait_for_reply_containing("new chat", GENEROUS)
        .await
        .unwrap();
    conversation.close().await;
}

#[tokio::test]
async fn jwt_and_history_use_the_guest_rest_api() {
    let (listener, url) = ws_listener().await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        recv(&mut ws).await;
        send(&mut ws, SESSION).await;
        let ask = recv(&mut ws).await;
        assert_eq!(ask["action"], "getJwt");
        let tracing = ask["tracingId"].as_str().unwrap().to_string();
        send(&mut ws, &format!(r#"{{"type":"response","class":"JwtResponse","code":200,"body":{{"jwt":"expected-jwt-token","exp":1623675564}},"tracingId":"{tracing}"}}"#)).await;
        while ws.next().await.is_some() {}
    });
    let rest = wiremock::MockServer::start().await;
    use wiremock::matchers::{header, method, path, query_param};
    let page = |n: u64, entities: Value| {
        wiremock::Mock::given(method("GET"))
            .and(path("/api/v2/webmessaging/messages"))
            .and(query_param("pageNumber", n.to_string()))
            .and(query_param("pageSize", "25"))
            .and(header("authorization", "Bearer expected-jwt-token"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
                "entities": entities, "pageSize": 25, "pageNumber": n, "total": 3, "pageCount": 2
            })))
    };
    page(1, json!([
        {"id":"5befde6373a23f32f20b59b4e1cba0e6","channel":{"time":"2014-04-30T21:09:51.411Z"},"type":"Text","text":"🤪","content":[],"direction":"Outbound","originatingEntity":"Bot"},
        {"id":"2","channel":{"time":null},"type":"Text","text":"hi","direction":"Inbound"}
    ]))
    .mount(&rest)
    .await;
    page(
        2,
        json!([{"id":"3","type":"Text","text":"old","direction":"Sideways"}]),
    )
    .mount(&rest)
    .await;
    let mut config = SessionConfig::for_endpoint("d", &url);
    config.rest_base_url = Some(rest.uri());
    let mut conversation = connect(config).await;
    let jwt = conversation.get_jwt(GENEROUS).await.unwrap();
    assert_eq!(jwt.expires, 1623675564);
    assert!(!format!("{jwt:?}").contains("expected-jwt-token"));
    let history = conversation.history(&jwt, GENEROUS).await.unwrap();
    assert_eq!(history.total, Some(3));
    let texts: Vec<_> = history
        .messages
        .iter()
        .map(|m| m.text.clone().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["🤪", "hi"]);
    assert_eq!(history.undecodable.len(), 1, "kept, not dropped");
    // A bad JWT is a clear error naming the status.
    let bad = genesys_web_messaging::Jwt {
        token: "nope".into(),
        expires: 0,
    };
    let e = conversation.history(&bad, GENEROUS).await.unwrap_err();
    assert!(e.to_string().contains("HTTP 404"), "{e}");
    assert!(!e.to_string().contains("nope"), "{e}");
    conversation.close().await;
}

#[tokio::test]
async fn an_authenticated_session_sends_the_code() {
    let (listener, url) = ws_listener().await;
    let server = tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        let configure = recv(&mut ws).await;
        send(&mut ws, SESSION).await;
        configure
    });
    let config = SessionConfig::for_endpoint("d", &url).authenticated("code-123");
    assert!(!format!("{config:?}").contains("code-123"));
    let conversation = connect(config).await;
    let configure = server.await.unwrap();
    assert_eq!(configure["action"], "configureAuthenticatedSession");
    assert_eq!(configure["deploymentId"], "d");
    assert_eq!(configure["data"], json!({"code": "code-123"}));
    conversation.close().await;
}
