//! The Google Sheets target: a closed day's `gold.streamer_daily` rows (in
//! the watched scope) and one summary row appended to two tabs of a
//! spreadsheet through the Sheets API v4 (`spreadsheets.values.append`),
//! as a service account: a JWT signed RS256 with the account's key is
//! exchanged for an access token (OAuth 2.0 JWT bearer grant, RFC 7523),
//! kept until a minute before it expires.
//!
//! Appending is not idempotent, so before appending a tab the target reads
//! the tab's first column (the day): a day already there is not appended
//! again, which makes a send after a crash (sent, not yet recorded) a
//! no-op. A tab that is empty gets the header row first. Values are sent
//! `RAW`: a login that looks like a formula stays text.
//!
//! Google's documents: <https://developers.google.com/identity/protocols/oauth2/service-account>
//! and <https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/append>.
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::{Value, json};

mod account;
mod rows;
#[cfg(test)]
mod tests;

pub use account::ServiceAccount;
pub use rows::{SUMMARY_HEADER, sheet_rows, summary_row};

use super::summary::Scope;
use super::target::{DayExport, DayTarget, Delivery};
use super::{Error, Result};
use crate::clock::SharedClock;
use crate::notify::{DeliveryOptions, retry_after};
use crate::schema::Table;

/// The OAuth scope asked for: read and write spreadsheets.
pub const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
/// Google's token endpoint, when the key file names none.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The Sheets API, by default.
pub const API_URL: &str = "https://sheets.googleapis.com/";
/// The grant type of a JWT bearer token request.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Rows per append request (the API takes about 2 MB per request well).
const ROWS_PER_APPEND: usize = 2_000;

/// Where and how the target writes.
#[derive(Debug, Clone)]
pub struct SheetsOptions {
    /// The spreadsheet's id (from its URL: `/spreadsheets/d/<id>/`).
    pub spreadsheet_id: String,
    /// The Sheets API base URL.
    pub api_url: Url,
    /// The token endpoint, if not the key file's `token_uri`.
    pub token_url: Option<Url>,
    /// The tab `gold.streamer_daily` rows go to.
    pub daily_tab: String,
    /// The tab summary rows go to.
    pub summary_tab: String,
    /// The streamers sent (the watched scope).
    pub scope: Scope,
}

/// An access token and when to stop using it.
#[derive(Debug, Clone)]
struct Token {
    value: String,
    renew_at: DateTime<Utc>,
}

/// The target; see the module documentation.
#[derive(Debug)]
pub struct Sheets {
    name: String,
    account: ServiceAccount,
    options: SheetsOptions,
    http: reqwest::Client,
    clock: SharedClock,
    delivery: DeliveryOptions,
    token: tokio::sync::Mutex<Option<Token>>,
}

/// What one request says about the next.
enum Failure {
    /// Try again after this long.
    Retry(Duration, String),
    /// The token was refused: fetch a new one, then try again.
    Unauthorized(String),
    /// Give up.
    Fatal(String),
}

impl Sheets {
    /// The target `name` writing with `account` as `options` say; retries
    /// follow `delivery`, timed by `clock`.
    pub fn new(
        name: impl Into<String>,
        account: ServiceAccount,
        options: SheetsOptions,
        delivery: DeliveryOptions,
        clock: SharedClock,
    ) -> Result<Self> {
        let name = name.into();
        if options.spreadsheet_id.trim().is_empty() {
            return Err(Error::Target(format!(
                "{name}: the spreadsheet id is empty"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(delivery.request_timeout)
            .user_agent(concat!("twitch-monitor/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Target(format!("{name}: building the HTTP client: {e}")))?;
        Ok(Self {
            name,
            account,
            options,
            http,
            clock,
            delivery,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// A valid access token: the kept one, or a new one.
    async fn token(&self) -> std::result::Result<String, Failure> {
        let mut kept = self.token.lock().await;
        // Tokens live in real time, whatever the service's clock (the
        // simulator's runs at its own speed).
        let now = Utc::now();
        if let Some(t) = kept.as_ref().filter(|t| t.renew_at > now) {
            return Ok(t.value.clone());
        }
        let url = self
            .options
            .token_url
            .clone()
            .unwrap_or_else(|| self.account.token_url.clone());
        let assertion = self
            .account
            .assertion(&url, now)
            .map_err(|e| Failure::Fatal(e.to_string()))?;
        let response = self
            .http
            .post(url)
            .form(&[
                ("grant_type", JWT_BEARER),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await;
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: Option<i64>,
        }
        let granted: Granted = self.read(response, "token").await?;
        let life = TimeDelta::seconds(granted.expires_in.unwrap_or(3600));
        let token = Token {
            value: granted.access_token,
            renew_at: now + life - TimeDelta::minutes(1),
        };
        *kept = Some(token.clone());
        Ok(token.value)
    }

    /// The JSON of a successful answer, or what to do about a failed one.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        response: reqwest::Result<reqwest::Response>,
        what: &str,
    ) -> std::result::Result<T, Failure> {
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                let retryable = e.is_timeout() || e.is_connect() || e.is_request();
                let why = format!("{what}: {}", e.without_url());
                return Err(if retryable {
                    Failure::Retry(self.delivery.initial_backoff, why)
                } else {
                    Failure::Fatal(why)
                });
            }
        };
        let status = response.status();
        if status.is_success() {
            return response
                .json()
                .await
                .map_err(|e| Failure::Fatal(format!("{what}: unreadable answer: {e}")));
        }
        let wait = retry_after(response.headers(), Utc::now());
        let why = format!("{what}: HTTP {status}{}", google_message(response).await);
        Err(match status {
            StatusCode::UNAUTHORIZED if what != "token" => Failure::Unauthorized(why),
            StatusCode::TOO_MANY_REQUESTS => Failure::Retry(
                wait.unwrap_or(self.delivery.initial_backoff)
                    .min(self.delivery.max_retry_after),
                why,
            ),
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                Failure::Retry(self.delivery.initial_backoff, why)
            }
            _ => Failure::Fatal(why),
        })
    }

    /// One API call made with a token, retried as [`DeliveryOptions`] say;
    /// `attempts` counts requests.
    async fn call(
        &self,
        attempts: &mut u32,
        what: &str,
        request: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> std::result::Result<Value, String> {
        let max = self.delivery.max_attempts.max(1);
        let mut tries = 0u32;
        loop {
            tries += 1;
            *attempts += 1;
            let result = match self.token().await {
                Ok(token) => self.read(request(&token).send().await, what).await,
                Err(f) => Err(f),
            };
            let (wait, why) = match result {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(why)) => return Err(why),
                Err(Failure::Unauthorized(why)) => {
                    *self.token.lock().await = None;
                    (Duration::ZERO, why)
                }
                Err(Failure::Retry(first, why)) => (self.backoff(first, tries), why),
            };
            if tries >= max {
                return Err(format!("gave up after {tries} attempts: {why}"));
            }
            tracing::debug!(target_name = %self.name, "sheets: {why}; retrying in {wait:?}");
            self.clock.sleep(wait).await;
        }
    }

    /// Backoff after attempt `n`: at least `first`, doubling, capped, jittered.
    fn backoff(&self, first: Duration, n: u32) -> Duration {
        let base = first
            .max(self.delivery.initial_backoff)
            .saturating_mul(1u32 << (n - 1).min(20))
            .min(self.delivery.max_backoff);
        base.mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    /// The URL of `range` in the spreadsheet, with `suffix` (`:append`).
    fn values_url(&self, range: &str, suffix: &str) -> Url {
        let mut url = self.options.api_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend([
                "v4",
                "spreadsheets",
                self.options.spreadsheet_id.as_str(),
                "values",
                &format!("{range}{suffix}"),
            ]);
        }
        url
    }

    /// Appends `rows` of `day` under `header` to `tab`, unless the tab's
    /// first column already holds `day`.
    async fn append(
        &self,
        attempts: &mut u32,
        tab: &str,
        day: &str,
        header: &[String],
        rows: Vec<Vec<Value>>,
    ) -> std::result::Result<(), String> {
        let quoted = format!("'{}'", tab.replace('\'', "''"));
        let column = format!("{quoted}!A:A");
        let url = self.values_url(&column, "");
        let got = self
            .call(attempts, &format!("reading tab {tab:?}"), |token| {
                self.http
                    .get(url.clone())
                    .bearer_auth(token)
                    .query(&[("majorDimension", "COLUMNS")])
            })
            .await?;
        let first: Vec<&str> = got["values"][0]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if first.contains(&day) {
            tracing::info!(%day, tab, "sheets: the day is already in the tab; not appended again");
            return Ok(());
        }
        let mut values: Vec<Vec<Value>> = Vec::with_capacity(rows.len() + 1);
        if first.is_empty() {
            values.push(header.iter().map(|h| Value::from(h.as_str())).collect());
        }
        values.extend(rows);
        let url = self.values_url(&format!("{quoted}!A1"), ":append");
        for chunk in values.chunks(ROWS_PER_APPEND) {
            let body = json!({ "majorDimension": "ROWS", "values": chunk });
            self.call(attempts, &format!("appending to tab {tab:?}"), |token| {
                self.http
                    .post(url.clone())
                    .bearer_auth(token)
                    .query(&[
                        ("valueInputOption", "RAW"),
                        ("insertDataOption", "INSERT_ROWS"),
                    ])
                    .json(&body)
            })
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl DayTarget for Sheets {
    fn name(&self) -> &str {
        &self.name
    }

    fn needs_rows(&self) -> bool {
        true
    }

    async fn send(&self, day: &DayExport) -> Delivery {
        let mut attempts = 0;
        let date = day.day.to_string();
        let daily = day
            .rows
            .iter()
            .find(|(t, _)| *t == Table::StreamerDaily)
            .map(|(_, b)| b.as_slice())
            .unwrap_or_default();
        let result = match sheet_rows(daily, &self.options.scope) {
            Ok((header, rows)) => {
                let summary_header: Vec<String> =
                    SUMMARY_HEADER.iter().map(|&h| h.to_owned()).collect();
                match self
                    .append(&mut attempts, &self.options.daily_tab, &date, &header, rows)
                    .await
                {
                    Ok(()) => {
                        let row = summary_row(&day.summary);
                        self.append(
                            &mut attempts,
                            &self.options.summary_tab,
                            &date,
                            &summary_header,
                            vec![row],
                        )
                        .await
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        if result.is_ok() {
            tracing::info!(day = %day.day, "daily rows appended to the spreadsheet");
        }
        Delivery {
            attempts,
            error: result.err(),
        }
    }
}

/// Google's error message (`{"error": {"message": …}}`) or the body's
/// start, for the operator.
async fn google_message(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    let said = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["error_description"].as_str())
                .or_else(|| v["error"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or(text);
    let said: String = said.trim().chars().take(200).collect();
    if said.is_empty() {
        String::new()
    } else {
        format!(": {said}")
    }
}
