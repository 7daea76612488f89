//! Unit tests of configuration parsing and precedence.
use std::time::Duration;

use super::*;

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("twitch-monitor").chain(args.iter().copied())).unwrap()
}

#[test]
fn defaults_without_credentials_choose_the_simulator() {
    let cfg = Settings::default().resolve().unwrap();
    assert_eq!(cfg.source, Source::Sim);
    assert!(cfg.full_sweep);
    assert_eq!(cfg.poll_interval, Duration::from_secs(60));
    assert_eq!(cfg.lake, "./data");
}

#[test]
fn flag_beats_file_and_file_beats_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tm.toml");
    std::fs::write(
        &file,
        "lake = \"/from/file\"\npoll_interval = \"15s\"\nchannels = [\"a\", \"b\"]\n",
    )
    .unwrap();
    let cli = parse(&[
        "--config",
        file.to_str().unwrap(),
        "--lake",
        "/from/flag",
        "ingest",
        "--once",
    ]);
    let cfg = cli.settings.resolve().unwrap();
    assert_eq!(cfg.lake, "/from/flag");
    assert_eq!(cfg.poll_interval, Duration::from_secs(15));
    assert_eq!(cfg.channels, vec!["a", "b"]);
}

#[test]
fn secrets_never_show_in_debug() {
    let cli = parse(&["--client-id", "id", "--client-secret", "hunter2"]);
    let cfg = cli.settings.resolve().unwrap();
    assert_eq!(cfg.source, Source::Twitch);
    assert!(!format!("{cfg:?}").contains("hunter2"));
}

#[test]
fn half_credentials_and_bad_values_are_refused_with_the_setting_named() {
    let err = parse(&["--client-id", "id"])
        .settings
        .resolve()
        .unwrap_err();
    assert!(err.to_string().contains("TWITCH_CLIENT_SECRET"), "{err}");
    let err = parse(&["--poll-interval", "0s"])
        .settings
        .resolve()
        .unwrap_err();
    assert!(err.to_string().contains("poll-interval"), "{err}");
    assert!(Cli::try_parse_from(["twitch-monitor", "--poll-interval", "soon"]).is_err());
}

#[test]
fn query_threads_are_niced_by_ten_unless_told_otherwise() {
    let cfg = Settings::default().resolve().unwrap();
    assert_eq!(cfg.query.nice, 10);
    let cfg = parse(&["--query-nice", "0"]).settings.resolve().unwrap();
    assert_eq!(cfg.query.nice, 0);
    for bad in ["20", "-1", "low"] {
        let flag = format!("--query-nice={bad}");
        let err = Cli::try_parse_from(["twitch-monitor", &flag]).unwrap_err();
        assert!(err.to_string().contains("query-nice"), "{bad}: {err}");
    }
}

#[test]
fn flight_settings_parse_and_hide_their_secrets() {
    let hash = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"; // "password"
    let phc = hash_password("password").unwrap();
    // The PHC string's own commas (m=…,t=…,p=…) do not split the list.
    let users = format!("alice:{hash},bob:pepper:{hash}, carol:{phc}");
    let cli = parse(&[
        "--flight-auth",
        "basic",
        "--flight-users",
        &users,
        "--flight-tokens",
        "tok-0123456789abcdef",
        "--query-memory-limit",
        "512MiB",
        "--query-timeout",
        "30s",
    ]);
    let cfg = cli.settings.resolve().unwrap();
    assert_eq!(cfg.flight.auth, FlightAuth::Basic);
    let names: Vec<&str> = cfg.flight.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    let PasswordHash::Sha256 { salt, digest } = &cfg.flight.users[1].password else {
        panic!("bob has a salted SHA-256 hash");
    };
    assert_eq!((salt.as_str(), digest[0]), ("pepper", 0x5e));
    assert!(cfg.flight.users[0].password.verify("password"));
    assert!(!cfg.flight.users[0].password.verify("Password"));
    assert_eq!(
        cfg.flight.users[2].password,
        PasswordHash::Argon2(phc.clone())
    );
    assert!(cfg.flight.users[2].password.verify("password"));
    assert!(!cfg.flight.users[2].password.verify("passwort"));
    assert_eq!(cfg.query.memory_limit, 512 << 20);
    assert_eq!(cfg.query.timeout, Duration::from_secs(30));
    let debug = format!("{cfg:?} {:?}", parse(&["--flight-users", &users]).settings);
    assert!(
        !debug.contains(hash) && !debug.contains(&phc) && !debug.contains("tok-0123"),
        "{debug}"
    );
}

#[test]
fn unsafe_or_incomplete_flight_settings_are_refused() {
    let err = parse(&["--flight-addr", "0.0.0.0:50051"])
        .settings
        .resolve()
        .unwrap_err();
    assert!(err.to_string().contains("without authentication"), "{err}");
    parse(&[
        "--flight-addr",
        "0.0.0.0:50051",
        "--flight-allow-unauthenticated",
        "true",
    ])
    .settings
    .resolve()
    .unwrap();
    let err = parse(&["--flight-auth", "basic"])
        .settings
        .resolve()
        .unwrap_err();
    assert!(err.to_string().contains("flight-users"), "{err}");
    let err = parse(&["--flight-users", "alice:nothex"])
        .settings
        .resolve()
        .unwrap_err();
    assert!(
        err.to_string().contains("entry 1") && !err.to_string().contains("nothex"),
        "{err}"
    );
    let err = parse(&["--flight-tls-cert", "/c.pem"])
        .settings
        .resolve()
        .unwrap_err();
    assert!(err.to_string().contains("flight-tls"), "{err}");
    let err = parse(&["--flight-users", "alice:$argon2id$v=19$broken"])
        .settings
        .resolve()
        .unwrap_err();
    assert!(err.to_string().contains("Argon2"), "{err}");
    assert!(byte_size("12XB").is_err());
    assert_eq!(byte_size("2G"), Ok(2 << 30));
}

#[test]
fn the_files_alerts_section_is_kept_for_the_alerts_module_and_hidden_in_debug() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tm.toml");
    let text = "lake = \"/l\"\n[alerts]\n[[alerts.targets]]\nname = \"ops\"\n\
                kind = \"webhook\"\nurl = \"http://127.0.0.1:1/hook-secret\"\n";
    std::fs::write(&file, text).unwrap();
    let cli = parse(&[
        "--config",
        file.to_str().unwrap(),
        "--alerts-file",
        "/a.toml",
    ]);
    let cfg = cli.settings.resolve().unwrap();
    assert_eq!(cfg.lake, "/l");
    assert_eq!(cfg.alerts.file.as_deref(), Some(Path::new("/a.toml")));
    let inline = cfg.alerts.inline.as_ref().expect("the [alerts] section");
    assert!(inline.0["targets"].as_array().is_some_and(|t| t.len() == 1));
    assert!(!format!("{cfg:?}").contains("hook-secret"));

    std::fs::write(&file, "alerts = \"not a table\"\n").unwrap();
    let err = parse(&["--config", file.to_str().unwrap()])
        .settings
        .resolve()
        .unwrap_err();
    assert!(err.to_string().contains("alerts"), "{err}");
}

#[test]
fn unknown_file_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tm.toml");
    std::fs::write(&file, "lakes = \"typo\"\n").unwrap();
    let err = parse(&["--config", file.to_str().unwrap()])
        .settings
        .resolve()
        .unwrap_err();
    assert!(err.to_string().contains("lakes"), "{err}");
}

#[test]
fn hash_password_makes_argon2id_phc_strings_with_fresh_salts() {
    let a = hash_password("s3cret").unwrap();
    let b = hash_password("s3cret").unwrap();
    assert!(a.starts_with("$argon2id$v=19$"), "{a}");
    assert_ne!(a, b);
    let user: FlightUser = format!("alice:{a}").parse().unwrap();
    assert!(user.password.verify("s3cret") && !user.password.is_deprecated());
    let legacy: FlightUser = "bob:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
        .parse()
        .unwrap();
    assert!(legacy.password.is_deprecated() && legacy.password.verify("password"));
    assert!("no-colon".parse::<FlightUser>().is_err());
    assert!("bob:a:b:5e88".parse::<FlightUser>().is_err());
}

#[test]
fn chat_settings_parse_and_bad_addresses_are_refused() {
    let cfg = parse(&[]).settings.resolve().unwrap();
    assert_eq!(
        cfg.chat,
        ChatSettings {
            addr: None,
            // Without credentials: the simulator, whose top channels chat.
            top_n: super::SIM_CHAT_TOP_N,
            buffer_bytes: 64 << 20
        }
    );
    let cfg = parse(&[
        "--chat-addr",
        "irc://127.0.0.1:6667",
        "--chat-top-n",
        "50",
        "--chat-buffer",
        "16MiB",
    ])
    .settings
    .resolve()
    .unwrap();
    assert_eq!(cfg.chat.addr.as_deref(), Some("irc://127.0.0.1:6667"));
    assert_eq!((cfg.chat.top_n, cfg.chat.buffer_bytes), (50, 16 << 20));
    for bad in [
        &["--chat-addr", "https://irc.chat.twitch.tv"][..],
        &["--chat-addr", "irc.chat.twitch.tv:6697"],
        &["--chat-buffer", "1KiB"],
    ] {
        let e = parse(bad).settings.resolve().unwrap_err().to_string();
        assert!(e.contains("chat-"), "{e}");
    }
}
