//! A reader beside the soak: one query a second through the HTTP API while
//! cycles and maintenance run, timed, so the soak shows what a dashboard
//! user waits for at each hour of the day, the day's close included.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Latencies (ms) of the queries answered since the last [`Probe::take`],
/// and why each query that failed did.
#[derive(Default)]
struct Seen {
    millis: Mutex<Vec<f64>>,
    failures: Mutex<Vec<String>>,
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

    /// The latencies (ms) since the last call, and why each query that
    /// failed meanwhile did.
    pub fn take(&self) -> (Vec<f64>, Vec<String>) {
        (take(&self.seen.millis), take(&self.seen.failures))
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
                let answered = async {
                    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
                    let status = response.status();
                    let body = response.bytes().await.map_err(|e| e.to_string())?;
                    if status.is_success() {
                        return Ok(());
                    }
                    let body = String::from_utf8_lossy(&body);
                    Err(format!(
                        "{status}: {}",
                        body.chars().take(200).collect::<String>()
                    ))
                }
                .await;
                let ms = started.elapsed().as_secs_f64() * 1e3;
                match answered {
                    Ok(()) => seen
                        .millis
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(ms),
                    Err(why) => seen
                        .failures
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(format!("after {ms:.0} ms: {why}")),
                }
            }
        }
        tokio::time::sleep_until(next.into()).await;
    }
}

fn take<T>(v: &Mutex<Vec<T>>) -> Vec<T> {
    std::mem::take(&mut *v.lock().unwrap_or_else(PoisonError::into_inner))
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
