//! REST bodies are JSON and must say so (docs/protocol.md §1, §15): a request under `/api/v1`
//! that carries a body declares `Content-Type: application/json` (parameters such as
//! `charset=utf-8` allowed), or gets 415 `unsupported_media_type`. Requests without a body
//! (`POST /logout`, `…/revoke`) need no type. The voice clip routes take `audio/ogg` and are
//! not under this layer.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether a `Content-Type` value is JSON.
pub fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// Middleware: refuses a body that is not declared as JSON.
pub async fn json_only(req: Request, next: Next) -> Response {
    if http_body::Body::is_end_stream(req.body()) {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if declared.as_deref().is_some_and(is_json) {
        return next.run(req).await;
    }
    let got = declared.unwrap_or_else(|| "(none)".into());
    ApiError::UnsupportedMediaType { got }.into_response()
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_types_with_and_without_parameters() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/jsonx"));
        assert!(!is_json(""));
    }
}
