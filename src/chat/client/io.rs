//! Bytes on the wire: connecting over TCP or TLS (rustls on ring, the
//! platform's root certificates) and reading CRLF-terminated lines of bounded
//! length, whatever way the server splits them across TCP reads.
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use tokio::net::TcpStream;

use crate::chat::{ChatAddr, Error, Result};

/// Longest line kept whole; Twitch's longest lines (500-character messages
/// with every tag) are a few KiB.
pub(super) const MAX_LINE: usize = 64 * 1024;
/// Time allowed to connect (and finish the TLS handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected stream, TCP or TLS.
pub(super) trait Io: AsyncRead + AsyncWrite + Send {}
impl<T: AsyncRead + AsyncWrite + Send> Io for T {}

/// A boxed connection.
pub(super) type BoxIo = Pin<Box<dyn Io>>;

/// A TLS connector on the ring provider with the platform's verifier.
pub(super) fn tls_connector() -> Result<tokio_rustls::TlsConnector> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_platform_verifier()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// Connects to `addr`, through TLS when `tls` is given.
pub(super) async fn connect(
    addr: &ChatAddr,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<BoxIo> {
    let io_err = |source| Error::Io {
        addr: addr.to_string(),
        source,
    };
    let timeout = || Error::Timeout {
        addr: addr.to_string(),
        during: "connecting",
    };
    let work = async {
        let tcp = TcpStream::connect((addr.host.as_str(), addr.port))
            .await
            .map_err(io_err)?;
        let _ = tcp.set_nodelay(true);
        match tls {
            None => Ok(Box::pin(tcp) as BoxIo),
            Some(connector) => {
                let name = rustls::pki_types::ServerName::try_from(addr.host.clone())
                    .map_err(|e| Error::Tls(format!("{}: {e}", addr.host)))?;
                let stream = connector.connect(name, tcp).await.map_err(io_err)?;
                Ok(Box::pin(stream) as BoxIo)
            }
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT, work)
        .await
        .map_err(|_| timeout())?
}

/// One line read: the text (lossy if it was not UTF-8) and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawLine {
    pub(super) text: String,
    /// Why the line cannot be taken as it is (too long, not UTF-8).
    pub(super) defect: Option<&'static str>,
}

/// Reads lines ending in `\n` (a `\r` before it is dropped). Cancel-safe:
/// bytes already read stay in the reader when a `next_line` future is
/// dropped, so it can sit in a `select!` beside other work.
#[derive(Debug)]
pub(super) struct LineReader<R> {
    inner: BufReader<R>,
    buf: Vec<u8>,
    overflow: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub(super) fn new(inner: R) -> Self {
        Self {
            inner: BufReader::with_capacity(32 * 1024, inner),
            buf: Vec::with_capacity(1024),
            overflow: false,
        }
    }

    /// The next line, or `None` at the end of the stream. A line longer than
    /// [`MAX_LINE`] comes back cut to that length, flagged.
    pub(super) async fn next_line(&mut self) -> std::io::Result<Option<RawLine>> {
        loop {
            let avail = self.inner.fill_buf().await?;
            if avail.is_empty() {
                if self.buf.is_empty() && !self.overflow {
                    return Ok(None);
                }
                // The stream ended inside a line: keep what came.
                return Ok(Some(self.finish()));
            }
            let (take, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            };
            let room = MAX_LINE.saturating_sub(self.buf.len());
            if take > room {
                self.overflow = true;
            }
            self.buf.extend_from_slice(&avail[..take.min(room)]);
            self.inner.consume(take);
            if done {
                return Ok(Some(self.finish()));
            }
        }
    }

    fn finish(&mut self) -> RawLine {
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        let bytes = std::mem::take(&mut self.buf);
        let overflow = std::mem::take(&mut self.overflow);
        let (text, utf8) = match String::from_utf8(bytes) {
            Ok(s) => (s, true),
            Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), false),
        };
        let defect = if overflow {
            Some("line longer than 64 KiB, cut")
        } else if !utf8 {
            Some("not UTF-8")
        } else {
            None
        };
        RawLine { text, defect }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test]
    async fn lines_split_anywhere_across_reads_come_back_whole() {
        let (mut w, r) = tokio::io::duplex(16);
        let mut reader = LineReader::new(r);
        let writer = tokio::spawn(async move {
            let chunks: [&[u8]; 6] = [
                b"PING :tmi",
                b".twitch.tv\r",
                b"\n:a PRIVMSG #c :h",
                b"\xc3",
                b"\xa9\r\n",
                b"tail",
            ];
            for chunk in chunks {
                w.write_all(chunk).await.unwrap();
            }
        });
        let l = reader.next_line().await.unwrap().unwrap();
        assert_eq!((l.text.as_str(), l.defect), ("PING :tmi.twitch.tv", None));
        let l = reader.next_line().await.unwrap().unwrap();
        assert_eq!((l.text.as_str(), l.defect), (":a PRIVMSG #c :hé", None));
        writer.await.unwrap();
        let l = reader.next_line().await.unwrap().unwrap();
        assert_eq!(l.text, "tail");
        assert_eq!(reader.next_line().await.unwrap(), None);
    }

    #[test]
    fn a_tls_connector_builds_on_ring_with_the_platform_roots() {
        assert!(tls_connector().is_ok());
    }

    #[tokio::test]
    async fn overlong_and_invalid_lines_are_flagged_not_fatal() {
        let (mut w, r) = tokio::io::duplex(1 << 20);
        let mut reader = LineReader::new(r);
        let mut long = vec![b'x'; MAX_LINE + 10];
        long.extend_from_slice(b"\r\n\xff\xfe bad\r\nok\r\n");
        w.write_all(&long).await.unwrap();
        drop(w);
        let l = reader.next_line().await.unwrap().unwrap();
        assert_eq!(l.text.len(), MAX_LINE);
        assert!(l.defect.is_some());
        let l = reader.next_line().await.unwrap().unwrap();
        assert_eq!(l.defect, Some("not UTF-8"));
        assert!(l.text.ends_with(" bad"));
        let l = reader.next_line().await.unwrap().unwrap();
        assert_eq!((l.text.as_str(), l.defect), ("ok", None));
        assert_eq!(reader.next_line().await.unwrap(), None);
    }
}
