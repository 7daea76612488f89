//! One shutdown mechanism for the whole service: a `tokio_util`
//! [`CancellationToken`]. The composition root holds one token that stops
//! every task and server; each server handle also owns a token of its own,
//! cancelled when the handle is dropped, so a server never outlives it.
use std::future::Future;

use tokio_util::sync::CancellationToken;

/// The signal a server serves until: `shutdown` completing (its owner's
/// token, say) or `stop` being cancelled (explicitly, or by the drop of the
/// server's handle).
pub fn signal(
    shutdown: impl Future<Output = ()> + Send + 'static,
    stop: &CancellationToken,
) -> impl Future<Output = ()> + Send + 'static {
    let stop = stop.clone();
    async move {
        tokio::select! {
            () = shutdown => {}
            () = stop.cancelled() => {}
        }
    }
}
