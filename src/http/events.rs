//! `GET /api/events`: server-sent events, one `cycle` event
//! (`{"cycle_id": N, "observed_at": "…"}`) when a page connects and one after
//! each committed cycle is published, so an open page refreshes without
//! reloading. The stream ends when the server shuts down.
use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use tokio_util::sync::CancellationToken;

use super::DataApi;

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
