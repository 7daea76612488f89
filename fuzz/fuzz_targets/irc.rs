//! libFuzzer target: [`twitch_monitor::fuzzing::irc`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| twitch_monitor::fuzzing::irc(data));
