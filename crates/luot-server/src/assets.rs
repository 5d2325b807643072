//! The web clients from `kiosk-assets/`, embedded in the binary; `--assets DIR` serves a folder
//! instead (for working on the pages without rebuilding). Voice clips a manager replaced on the
//! administration pages (`clips.rs`, kept in the data folder) come first, before either.

use crate::App;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

#[derive(rust_embed::Embed)]
#[folder = "../../kiosk-assets/"]
struct Embedded;

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "ogg" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Longest asset path accepted.
const ASSET_PATH_MAX: usize = 200;

pub async fn serve(State(app): State<Arc<App>>, uri: Uri) -> Response {
    let mut path = uri.path().trim_start_matches('/').to_string();
    if path.is_empty() {
        path = "index.html".into();
    }
    // Pages have clean URLs: /kiosk serves kiosk.html.
    if !path.contains('.') {
        path.push_str(".html");
    }
    file(&app, &path).await
}

/// A file of the `--assets` folder, or else of the embedded copy.
pub async fn read(app: &App, path: &str) -> Option<Vec<u8>> {
    match &app.assets_dir {
        Some(dir) => tokio::fs::read(dir.join(path)).await.ok(),
        None => Embedded::get(path).map(|f| f.data.into_owned()),
    }
}

pub async fn file(app: &App, path: &str) -> Response {
    if path.len() > ASSET_PATH_MAX || path.split('/').any(|p| p == ".." || p.starts_with('.')) {
        return StatusCode::NOT_FOUND.into_response();
    }
    if let Some(key) = path.strip_prefix("audio/")
        && let Some((stored, bytes)) = app.clips.read(key).await
    {
        // A replaced clip: its URL carries `?v=<version>` (from the manifest), and a client
        // asking without it revalidates, so a clip put back or replaced again is never stale.
        let mut res = Response::new(Body::from(bytes));
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/ogg"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", stored.version)) {
            h.insert(header::ETAG, v);
        }
        h.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        return res;
    }
    let mut bytes = read(app, path).await;
    if path == "audio/manifest.json" {
        bytes = bytes.map(|b| app.clips.annotate_manifest(b));
    }
    let Some(bytes) = bytes else {
        return (
            StatusCode::NOT_FOUND,
            "Không tìm thấy trang · Page not found",
        )
            .into_response();
    };
    let mut res = Response::new(Body::from(bytes));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(path)));
    // Pages and scripts change with a release; fonts and clips almost never. The chime is also
    // fetched without a version (the phone page's `/audio/chime.ogg`), so a replaced one must
    // not wait for a cache to expire.
    let cache = if path.ends_with(".woff2") || (path.ends_with(".ogg") && path != "audio/chime.ogg")
    {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}
