//! Configuration through its public surface: the command line, the TOML
//! file layered under flags, and the README's configuration table checked
//! against the declared settings.

use clap::{CommandFactory, Parser};
use twitch_monitor::config::{Cli, FlightAuth};

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("twitch-monitor").chain(args.iter().copied())).unwrap()
}

#[test]
fn file_values_go_through_the_flag_parsers_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tm.toml");
    let write = |text: &str| std::fs::write(&file, text).unwrap();
    let config = file.to_str().unwrap();
    write(
        "sim_speed = 60\nsim_all_live = true\nquery_memory_limit = \"1GiB\"\n\
         flight_tokens = [\"token-aaaaaaaaaaaaaaaa\", \"token-bbbbbbbbbbbbbbbb\"]\n\
         full_sweep = false\nflight_auth = \"bearer\"\n",
    );
    let cfg = parse(&["--config", config, "--sim-speed", "2"])
        .settings
        .resolve()
        .unwrap();
    assert_eq!(cfg.sim.speed, 2.0);
    assert!(cfg.sim.all_live && !cfg.full_sweep);
    assert_eq!(cfg.query.memory_limit, 1 << 30);
    assert_eq!(cfg.flight.tokens.len(), 2);
    assert_eq!(cfg.flight.auth, FlightAuth::Bearer);
    write("poll_interval = \"soon\"\n");
    let err = parse(&["--config", config]).settings.resolve().unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("tm.toml") && text.contains("poll-interval"),
        "{text}"
    );
    write("channels = { a = 1 }\n");
    let err = parse(&["--config", config]).settings.resolve().unwrap_err();
    assert!(err.to_string().contains("channels"), "{err}");
}

/// Every declared setting: (flag, env, default) from clap.
fn declared() -> Vec<(String, String, String)> {
    Cli::command()
        .get_arguments()
        .filter_map(|a| {
            let long = a.get_long()?;
            let env = a.get_env()?.to_string_lossy().into_owned();
            let default = a
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy())
                .collect::<Vec<_>>()
                .join(",");
            Some((long.to_owned(), env, default))
        })
        .collect()
}

#[test]
fn every_setting_has_a_flag_an_env_variable_a_help_text_and_its_toml_key() {
    let cmd = Cli::command();
    for arg in cmd
        .get_arguments()
        .filter(|a| a.get_id() != "help" && a.get_id() != "version")
    {
        let long = arg.get_long().unwrap_or_default();
        assert!(
            arg.get_env().is_some() && arg.get_help().is_some(),
            "--{long}"
        );
        // The TOML key (the arg id) is the flag name with `_`.
        assert_eq!(arg.get_id().as_str(), long.replace('-', "_"), "--{long}");
    }
    assert!(declared().len() >= 40);
}

#[test]
fn the_readme_configuration_table_lists_exactly_the_declared_settings() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a Configuration section");
    // Rows: | `--flag`[, `--flag2`] | `ENV`[, `ENV2`] | default | meaning |
    let mut documented = std::collections::BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `--")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let ticked = |cell: &str| -> Vec<String> {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        };
        for (flag, env) in ticked(cells[1]).into_iter().zip(ticked(cells[2])) {
            documented.insert(flag, (env, cells[3].to_owned()));
        }
    }
    let declared = declared();
    for (long, env, default) in &declared {
        let flag = format!("--{long}");
        let Some((readme_env, readme_default)) = documented.remove(&flag) else {
            panic!("{flag} ({env}) is missing from the README's configuration table");
        };
        assert_eq!(&readme_env, env, "README: the env variable of {flag}");
        assert!(
            default.is_empty() || readme_default.contains(&format!("`{default}`")),
            "README: the default of {flag} is `{default}`, not {readme_default}"
        );
    }
    let unknown: Vec<_> = documented.keys().collect();
    assert!(
        unknown.is_empty(),
        "the README names settings that do not exist: {unknown:?}"
    );
}

/// The real binary: the environment beats the file, and a flag beats both.
#[tokio::test]
async fn environment_beats_the_file_and_a_flag_beats_the_environment() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tm.toml");
    std::fs::write(
        &file,
        "sim_channels = 9\nsim_seed = 5\nsim_addr = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let world = |flags: &'static [&'static str]| {
        let file = file.clone();
        async move {
            let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_twitch-monitor"))
                .arg("sim")
                .args(flags)
                .env("TM_CONFIG", &file)
                .env("TM_SIM_CHANNELS", "7")
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.strip_prefix("# ") {
                    return rest.split(' ').next().unwrap().to_owned();
                }
            }
            panic!("`twitch-monitor sim` printed no world size");
        }
    };
    assert_eq!(world(&[]).await, "7");
    assert_eq!(world(&["--sim-channels", "3"]).await, "3");
}

/// `--sim-start` sets where simulated time begins, in any offset; a lake
/// that already saw later time wins, so a restart never runs time backwards.
#[tokio::test]
async fn sim_start_sets_the_simulated_clock_and_later_lake_data_wins() {
    use chrono::{DateTime, TimeDelta, Utc};
    let config = parse(&["--sim-start", "2026-03-02T00:50:00+01:00"])
        .settings
        .resolve()
        .unwrap();
    let start: DateTime<Utc> = "2026-03-01T23:50:00Z".parse().unwrap();
    assert_eq!(config.sim.start, Some(start));

    let source = twitch_monitor::app::twitch_source(&config, None)
        .await
        .unwrap();
    let now = source.clock.now();
    // Speed 1: the clock has moved by the test's own (real) run time only.
    assert!(now >= start && now < start + TimeDelta::minutes(5), "{now}");

    let seen = start + TimeDelta::days(1);
    let source = twitch_monitor::app::twitch_source(&config, Some(seen))
        .await
        .unwrap();
    assert!(source.clock.now() > seen, "{}", source.clock.now());

    let err = Cli::try_parse_from(["twitch-monitor", "--sim-start", "yesterday"]).unwrap_err();
    assert!(err.to_string().contains("RFC 3339"), "{err}");
}
