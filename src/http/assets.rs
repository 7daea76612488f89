//! The dashboard's files, embedded in the binary at build time (no Node, no
//! CDN, nothing read from disk at run time): one HTML shell for every page
//! (the pages are drawn in the browser from the data API), the scripts, the
//! stylesheet, and the vendored chart library (uPlot, with its licence).
//!
//! Every file is revalidated by its content hash (`ETag`), so a new binary's
//! files replace the old ones in browsers at once and an unchanged file costs
//! a 304.
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("web/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `/assets/`, by path.
static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("js/app.js", JS),
    asset!("js/api.js", JS),
    asset!("js/ui.js", JS),
    asset!("js/chart.js", JS),
    asset!("js/now.js", JS),
    asset!("js/streamer.js", JS),
    asset!("js/boards.js", JS),
    asset!("vendor/uPlot.iife.min.js", JS),
    asset!("vendor/uPlot.min.css", "text/css; charset=utf-8"),
    asset!("vendor/LICENSE-uPlot", "text/plain; charset=utf-8"),
];

/// `(path, etag)` per asset, computed once.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = Sha256::digest(a.body);
            let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("\"{hex}\"")
        })
        .collect()
});

/// The page routes (each serves the shell; the script draws the page from
/// the URL, so every page has a deep link) and the files.
pub(super) fn routes() -> Router {
    let page = || get(|headers: HeaderMap| async move { serve("index.html", &headers) });
    Router::new()
        .route("/", page())
        .route("/streamer/{login}", page())
        .route("/categories", page())
        .route("/leaderboards", page())
        .route("/rising", page())
        .route(
            "/assets/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                serve(&path, &headers)
            }),
        )
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.path == path) else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    let (asset, etag) = (&ASSETS[i], &ETAGS[i]);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_served_with_a_validator() {
        for a in ASSETS {
            let r = serve(a.path, &HeaderMap::new());
            assert_eq!(r.status(), StatusCode::OK, "{}", a.path);
            let etag = r.headers()[header::ETAG].to_str().unwrap().to_owned();
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, etag.parse().unwrap());
            assert_eq!(serve(a.path, &h).status(), StatusCode::NOT_MODIFIED);
        }
        assert_eq!(
            serve("../Cargo.toml", &HeaderMap::new()).status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn the_shell_references_only_embedded_files() {
        let html = std::str::from_utf8(ASSETS[0].body).unwrap();
        for reference in html.split("/assets/").skip(1) {
            let path = reference.split('"').next().unwrap();
            assert!(ASSETS.iter().any(|a| a.path == path), "{path}");
        }
    }
}
