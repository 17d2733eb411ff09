//! The `sendAttachment`, `reconnect` and `clearConversation` steps and an authenticated session
//! from the command line, against a hand-written server (raw JSON frames in Genesys' documented shapes, a
//! minimal HTTP/1.1 upload endpoint) over loopback.

// The guest library's hand-written server, shared rather than written twice.
#[path = "../../genesys-web-messaging/tests/support/raw_server.rs"]
mod raw_server;

use futures_util::StreamExt;
use raw_server::{accept, answer_clear, recv, send};
use std::process::Command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CODE: &str = "life-secret-code-4711";

fn bot(id: &str, text: &str) -> String {
    format!(
        r#"{{"type":"message","class":"StructuredMessage","code":200,"body":{{"text":"{text}","direction":"Outbound","id":"{id}","channel":{{"time":"{}","type":"Private"}},"type":"Text","originatingEntity":"Bot"}}}}"#,
        jiff::Timestamp::now()
    )
}

/// Answers one HTTP PUT with 200 and returns its body.
async fn one_upload(listener: TcpListener) -> Vec<u8> {
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0);
        data.extend_from_slice(&buf[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..at]).to_lowercase();
            assert!(head.starts_with("put /upload "), "{head}");
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            while data.len() < at + 4 + length {
                let n = stream.read(&mut buf).await.unwrap();
                data.extend_from_slice(&buf[..n]);
            }
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            return data[at + 4..].to_vec();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_reconnect_and_clear_steps_from_the_command_line() {
    let ws_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("ws://{}/v1", ws_listener.local_addr().unwrap());
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upload_url = format!("http://{}/upload", http.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let mut ws = accept(&ws_listener).await;
        let configure = recv(&mut ws).await;
        assert_eq!(configure["action"], "configureAuthenticatedSession");
        assert_eq!(configure["data"]["code"], CODE);
        let token = configure["token"].clone();
        send(&mut ws, r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true,"allowedMedia":{"inbound":{"fileTypes":[{"type":"image/*"}],"maxFileSizeKB":10240}},"blockedExtensions":[".ade"]}}"#).await;
        let ask = recv(&mut ws).await;
        assert_eq!(ask["action"], "onAttachment");
        assert_eq!(ask["fileName"], "photo.png");
        let upload = tokio::spawn(one_upload(http));
        send(&mut ws, &format!(r#"{{"type":"response","class":"PresignedUrlResponse","code":200,"body":{{"attachmentId":"att-1","headers":{{}},"url":"{upload_url}"}}}}"#)).await;
        assert_eq!(upload.await.unwrap(), b"PNGDATA");
        send(&mut ws, r#"{"type":"message","class":"UploadSuccessEvent","code":200,"body":{"attachmentId":"att-1"}}"#).await;
        let message = recv(&mut ws).await;
        assert_eq!(
            message["message"]["content"][0]["attachment"]["id"],
            "att-1"
        );
        send(&mut ws, &format!(r#"{{"type":"message","class":"StructuredMessage","code":200,"body":{{"text":"see attached","direction":"Inbound","id":"e1","channel":{{"time":"{}"}},"type":"Text","content":[{{"contentType":"Attachment","attachment":{{"id":"att-1"}}}}]}},"tracingId":{}}}"#, jiff::Timestamp::now(), message["tracingId"])).await;
        send(&mut ws, &bot("b1", "Got it")).await;
        while let Some(Ok(frame)) = ws.next().await {
            if frame.is_close() {
                break;
            }
        }
        let mut ws = accept(&ws_listener).await;
        let configure = recv(&mut ws).await;
        assert_eq!(configure["token"], token);
        send(&mut ws, r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":false}}"#).await;
        send(&mut ws, &bot("b2", "Welcome back")).await;
        let clear = recv(&mut ws).await;
        assert_eq!(clear["message"]["events"][0]["presence"]["type"], "Clear");
        answer_clear(&mut ws).await;
        let _ = ws.close(None).await;
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("photo.png"), b"PNGDATA").unwrap();
    std::fs::write(
        dir.path().join("script.yml"),
        "scenarios:\n  \"Upload\":\n    - sendAttachment:\n        path: photo.png\n        text: see attached\n    - waitForReplyContaining: got it\n    - reconnect: true\n    - waitForReplyContaining: welcome back\n    - clearConversation: true\n",
    )
    .unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"))
            .args([
                "scripted",
                "script.yml",
                "--deployment-id",
                "d",
                "--endpoint",
            ])
            .arg(&endpoint)
            .args([
                "-t",
                "10",
                "--say-delay",
                "0",
                "-v",
                "--no-deployment-config",
            ])
            .args(["--auth-code-variable", "WMT_LIFE_CODE"])
            .env("WMT_LIFE_CODE", CODE)
            .env("NO_COLOR", "1")
            .current_dir(dir.path())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    server.await.unwrap();
    assert!(
        stdout.contains("You: see attached [attachment: photo.png]"),
        "{stdout}"
    );
    assert!(stdout.contains("Them: Welcome back"), "{stdout}");
    assert!(
        stderr.contains("configureAuthenticatedSession"),
        "-v logs frames"
    );
    assert!(!stdout.contains(CODE) && !stderr.contains(CODE), "{stderr}");
}
