//! A reader beside the soak: one query a second through the HTTP API while
//! cycles and maintenance run, timed, so the soak shows what a dashboard
//! user waits for at each hour of the day, the day's close included.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Latencies (ms) of the queries answered since the last [`Probe::take`],
/// and the queries that failed.
#[derive(Default)]
struct Seen {
    millis: Mutex<Vec<f64>>,
    errors: AtomicU64,
}

/// The probing thread; stops when dropped.
pub struct Probe {
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
}

impl Probe {
    /// Starts querying the HTTP server at `addr` (`host:port`): once a
    /// second, one live channel's viewer series of the day
    /// (`/api/streamer/{login}/viewers`, `silver.stream_snapshots` through
    /// the query engine, as the streamer page reads it).
    pub fn start(addr: String) -> Self {
        let seen = Arc::new(Seen::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (s, halt) = (Arc::clone(&seen), Arc::clone(&stop));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("probe runtime");
            runtime.block_on(probe(&addr, &s, &halt));
        });
        Self { seen, stop }
    }

    /// The latencies (ms) since the last call, and the failures.
    pub fn take(&self) -> (Vec<f64>, u64) {
        let millis = std::mem::take(
            &mut *self
                .seen
                .millis
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        (millis, self.seen.errors.swap(0, Ordering::Relaxed))
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

async fn probe(addr: &str, seen: &Seen, stop: &AtomicBool) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("probe client");
    let base = format!("http://{addr}/api");
    let mut login: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let next = Instant::now() + Duration::from_secs(1);
        match &login {
            // The channel at the top of the live leaderboard when the
            // probe starts (kept all day: its page is read whether it is
            // live or not).
            None => {
                login = async {
                    let url = format!("{base}/live/leaderboard?limit=1");
                    let rows: serde_json::Value =
                        client.get(url).send().await.ok()?.json().await.ok()?;
                    Some(rows.pointer("/rows/0/login")?.as_str()?.to_owned())
                }
                .await;
            }
            Some(login) => {
                let started = Instant::now();
                let url = format!("{base}/streamer/{login}/viewers");
                let answered = match client.get(url).send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                if answered {
                    let ms = started.elapsed().as_secs_f64() * 1e3;
                    seen.millis
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(ms);
                } else {
                    seen.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        tokio::time::sleep_until(next.into()).await;
    }
}

/// The `q` quantile (0–1) of `values` (NaN when empty).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}
