//! `GET /api/events`: server-sent events, one `cycle` event
//! (`{"cycle_id": N, "observed_at": "…"}`) when a page connects and one after
//! each committed cycle is published, so an open page refreshes without
//! reloading. The stream ends when the server shuts down. [`CycleFeed`] is
//! the sending side: told after each committed cycle, once the catalog shows
//! it, by the consumer of cycles the composition root lists last.
use std::convert::Infallible;
use std::future::Ready;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::DataApi;
use crate::live::LiveViews;

/// Publishes the cycle the dashboard shows: the live views' cycle, once its
/// tables and views are in the catalog. A cycle whose live swap failed
/// leaves the views (and so the published cycle) where they were.
#[derive(Debug, Clone)]
pub struct CycleFeed {
    sender: Arc<watch::Sender<Option<i64>>>,
    live: LiveViews,
}

impl CycleFeed {
    /// A feed over `live`, starting at its current cycle, and the receiver
    /// for [`DataApi::cycles`].
    pub fn new(live: LiveViews) -> (Self, watch::Receiver<Option<i64>>) {
        let (sender, cycles) = watch::channel(live.snapshot().cycle_id());
        let feed = Self {
            sender: Arc::new(sender),
            live,
        };
        (feed, cycles)
    }

    /// Publishes the live views' current cycle (open pages hear of it only
    /// if it changed). A future, to fit the cycle consumers' adapter.
    pub fn publish(&self) -> Ready<Result<(), Infallible>> {
        let cycle = self.live.snapshot().cycle_id();
        self.sender.send_if_modified(|published| {
            let changed = *published != cycle;
            *published = cycle;
            changed
        });
        std::future::ready(Ok(()))
    }
}

pub(super) fn routes(api: DataApi, stop: CancellationToken) -> Router {
    Router::new()
        .route("/events", get(events))
        .with_state((api, stop))
}

async fn events(
    State((api, stop)): State<(DataApi, CancellationToken)>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let first = true;
    let stream = futures::stream::unfold((api, stop, first), |(mut api, stop, first)| async move {
        if !first {
            tokio::select! {
                changed = api.cycles.changed() => changed.ok()?,
                () = stop.cancelled() => return None,
            }
        }
        let cycle = *api.cycles.borrow_and_update();
        let observed = api.live.snapshot().observed_at();
        let data = serde_json::json!({ "cycle_id": cycle, "observed_at": observed });
        let event = Event::default().event("cycle").data(data.to_string());
        Some((Ok(event), (api, stop, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
