//! Response compression (brotli, else gzip) for the dashboard's files and
//! the data API's answers, negotiated from `Accept-Encoding`. A middleware
//! over whole bodies: streamed answers (`/api/sql`, event streams) pass
//! through untouched. Hand-written over the `brotli` and `flate2` codecs
//! rather than tower-http's layer, whose features would rebuild the HTTP
//! stack under delta-rs and DataFusion (see Cargo.toml).
use std::io::Write as _;

use axum::body::Body;
use axum::body::HttpBody as _;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Bodies smaller than this are not worth a codec.
const MIN_SIZE: usize = 1024;
/// Largest body compressed in memory.
const MAX_SIZE: usize = 64 << 20;

/// A content coding we can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    /// `br`
    Brotli,
    /// `gzip`
    Gzip,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }
}

/// The best coding `accept` allows (no q-value of 0), brotli first.
pub(super) fn negotiate(accept: &str) -> Option<Coding> {
    let allowed = |name: &str| {
        accept.split(',').any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            coding.eq_ignore_ascii_case(name) && !zero
        })
    };
    if allowed("br") {
        Some(Coding::Brotli)
    } else if allowed("gzip") {
        Some(Coding::Gzip)
    } else {
        None
    }
}

/// `data` compressed with `coding` (brotli quality 5, gzip level 6: about a
/// millisecond per 100 KB, most of the size gain).
pub(super) fn compress(coding: Coding, data: &[u8]) -> std::io::Result<Vec<u8>> {
    match coding {
        Coding::Brotli => {
            let mut out = Vec::with_capacity(data.len() / 4);
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(data)?;
            }
            Ok(out)
        }
        Coding::Gzip => {
            let mut w = flate2::write::GzEncoder::new(
                Vec::with_capacity(data.len() / 4),
                flate2::Compression::new(6),
            );
            w.write_all(data)?;
            w.finish()
        }
    }
}

fn compressible(response: &Response) -> bool {
    let headers = response.headers();
    if headers.contains_key(header::CONTENT_ENCODING) {
        return false;
    }
    let Some(kind) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let text = kind.starts_with("text/")
        || kind.starts_with("application/json")
        || kind.starts_with("image/svg")
        || kind.starts_with("application/vnd.apache.arrow.stream");
    let size = response.body().size_hint().exact();
    text && !kind.starts_with("text/event-stream")
        && size.is_some_and(|n| (MIN_SIZE as u64..=MAX_SIZE as u64).contains(&n))
}

/// Middleware: compresses whole bodies the client accepts compressed.
pub(super) async fn layer(request: Request, next: Next) -> Response {
    let coding = request
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .and_then(negotiate);
    let response = next.run(request).await;
    let Some(coding) = coding else {
        return response;
    };
    if !compressible(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_SIZE).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let body = match compress(coding, &bytes) {
        Ok(packed) => {
            parts.headers.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(coding.name()),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(packed)
        }
        Err(_) => Body::from(bytes),
    };
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn negotiation_prefers_brotli_and_honours_q_zero() {
        assert_eq!(negotiate("gzip, deflate, br"), Some(Coding::Brotli));
        assert_eq!(negotiate("gzip, br;q=0"), Some(Coding::Gzip));
        assert_eq!(negotiate("identity"), None);
        assert_eq!(negotiate("GZIP"), Some(Coding::Gzip));
    }

    #[test]
    fn both_codings_round_trip() {
        let data = "twitch-monitor ".repeat(500);
        let br = compress(Coding::Brotli, data.as_bytes()).unwrap();
        let mut out = String::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let gz = compress(Coding::Gzip, data.as_bytes()).unwrap();
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, data);
        assert!(br.len() < data.len() / 10 && gz.len() < data.len() / 10);
    }
}
