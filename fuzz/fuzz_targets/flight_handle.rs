//! libFuzzer target: [`twitch_monitor::fuzzing::flight_handle`].
#![no_main]

libfuzzer_sys::fuzz_target!(
    // The Flight service turns arrow-ipc's panics on malformed client bytes
    // into bad requests (catch_unwind), but libfuzzer-sys's panic hook aborts
    // before anything is caught: go back to the default hook. A panic that
    // escapes is still a crash (libfuzzer-sys aborts on it).
    init: drop(std::panic::take_hook()),
    |data: &[u8]| twitch_monitor::fuzzing::flight_handle(data)
);
