//! The HTTP access log: one line per request at debug level under the target `luot::access`
//! (`RUST_LOG=info,luot::access=debug`), with the client's address as `proxy.rs` finds it.
//! Secrets never reach it: the query string (device tokens) is left out, and path segments that
//! look like tokens (phone links) are shown as `…`.

use crate::App;
use crate::proxy::client_ip;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tower_http::trace::TraceLayer;
use tracing::Span;

/// A path segment of this many hex digits or more is taken for a token and not logged.
pub const TOKEN_HEX_MIN: usize = 16;

/// The path with token-like segments replaced by `…`.
pub fn redact_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.len() >= TOKEN_HEX_MIN && seg.bytes().all(|b| b.is_ascii_hexdigit()) {
                "…"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Adds the access log to the whole router.
pub fn layer(router: Router, app: &Arc<App>) -> Router {
    let app = app.clone();
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(move |req: &Request<axum::body::Body>| {
                // Field values are only computed when the span is enabled.
                tracing::debug_span!(
                    target: "luot::access",
                    "http",
                    method = %req.method(),
                    path = %redact_path(req.uri().path()),
                    client = %client_of(req, &app),
                )
            })
            .on_request(())
            .on_response(
                |res: &Response<axum::body::Body>, latency: Duration, _span: &Span| {
                    tracing::debug!(
                        target: "luot::access",
                        status = res.status().as_u16(),
                        latency_ms = latency.as_secs_f64() * 1000.0,
                        "served"
                    );
                },
            )
            .on_failure(()),
    )
}

fn client_of(req: &Request<axum::body::Body>, app: &App) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    client_ip(peer, req.headers(), &app.trusted_proxies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_not_logged() {
        let token = "ab".repeat(32);
        assert_eq!(
            redact_path(&format!("/api/v1/tickets/{token}/qr.svg")),
            "/api/v1/tickets/…/qr.svg"
        );
        assert_eq!(redact_path("/t/0123456789abcdef"), "/t/…");
        // One digit short of the limit, and ordinary words, stay.
        assert_eq!(redact_path("/t/0123456789abcde"), "/t/0123456789abcde");
        assert_eq!(
            redact_path("/api/v1/sites/sa-huynh"),
            "/api/v1/sites/sa-huynh"
        );
    }
}
