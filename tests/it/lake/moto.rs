//! A local S3 for tests: moto's server from the test venv on 127.0.0.1
//! (through tests/py/moto_server.py, which makes its conditional writes
//! atomic), on a port it picks itself (we read it from its banner), killed
//! on drop.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use twitch_monitor::lake::StorageOptions;

use crate::python;

/// A running moto server.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts moto on 127.0.0.1 with port 0 and waits for its "Running on" line.
    pub fn start() -> Moto {
        let mut child = Command::new(python())
            .arg(crate::py_script("moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto with {} (run scripts/venv): {e}",
                    python().display()
                )
            });
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Keeps draining stderr after the banner: moto logs every request
        // there and would block on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("Running on http://").nth(1)
                    && let Some(t) = tx.take()
                {
                    let _ = t.send(rest.trim().to_string());
                }
            }
        });
        // Generous: moto imports a lot of Python on a cold cache.
        let addr = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                panic!("moto did not report its address: {e}");
            }
        };
        Moto {
            child,
            endpoint: format!("http://{addr}"),
        }
    }

    /// Creates `bucket` with a plain (unsigned) S3 PUT, which moto accepts.
    pub async fn create_bucket(&self, bucket: &str) {
        let resp = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "create bucket: {}",
            resp.status()
        );
    }

    /// Storage options pointing deltalake at this server.
    pub fn options(&self) -> StorageOptions {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
