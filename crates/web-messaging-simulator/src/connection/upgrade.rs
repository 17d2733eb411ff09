//! The upgrade checks: which WebSocket upgrades the deployment accepts.

use crate::flow::BotFlow;
use crate::query::query_value;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{StatusCode, header};

/// The upgrade checks: path `/v1`, the deployment ID and the Origin header.
#[expect(
    clippy::result_large_err,
    reason = "the shape of tungstenite's handshake callback"
)]
pub(crate) fn check_upgrade(
    flow: &BotFlow,
    request: &Request,
    response: Response,
) -> Result<Response, ErrorResponse> {
    let path = request.uri().path();
    if path != "/v1" && path != "/v1/" {
        return Err(refusal(StatusCode::NOT_FOUND, "Not Found"));
    }
    if let Some(expected) = &flow.deployment_id {
        let given = request
            .uri()
            .query()
            .and_then(|q| query_value(q, "deploymentId"));
        if given.as_deref() != Some(expected.as_str()) {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "Access denied: unknown deploymentId",
            ));
        }
    }
    if let Some(allowed) = &flow.allowed_origins {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(|o| o.trim().trim_end_matches('/'));
        let ok = origin.is_some_and(|origin| {
            allowed
                .iter()
                .any(|a| a.trim().trim_end_matches('/').eq_ignore_ascii_case(origin))
        });
        if !ok {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "Access denied: origin not allowed for this deployment",
            ));
        }
    }
    Ok(response)
}

fn refusal(status: StatusCode, body: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(body.to_string()));
    *response.status_mut() = status;
    response
}
