//! The ingest cycle: poll Twitch → bronze → silver → gold (+ live).
