//! A small deterministic mutator for the test suite's short fuzz runs: bit
//! flips, byte changes, truncation, deleted and repeated ranges, splices of
//! two seeds, and tokens that tend to matter to the parsers (numbers at
//! type limits, quotes, comment and placeholder marks, line ends).
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Inputs never grow beyond this (libFuzzer's default `-max_len` is 4096).
const MAX_LEN: usize = 8192;

/// Tokens inserted or written over the input.
const TOKENS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"255",
    b"65536",
    b"4294967296",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"18446744073709551615",
    b"18446744073709551616",
    b"1e309",
    b"-0.0",
    b"NaN",
    b"null",
    b"true",
    b"\"\"",
    b"{}",
    b"[]",
    b"\\u0000",
    b"\\ud800",
    b"'",
    b"\"",
    b"''",
    b"?",
    b"$1",
    b"$0",
    b"--",
    b"/*",
    b"*/",
    b"(",
    b")",
    b",",
    b";",
    b"=",
    b"#",
    b"@",
    b":",
    b" ",
    b"\r\n",
    b"\n",
    b"\x00",
    b"\x01ACTION ",
    b"\xff",
    b"\xc3\xa9",
    b"\xf0\x9f\x98\x80",
    b"0000-01-01T00:00:00Z",
    b"9999-12-31T23:59:59.999999999Z",
    b"-262143-01-01",
];

/// Numbers at the limits of the integer types (and past them), written
/// over the numbers of an input.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "127",
    "128",
    "255",
    "256",
    "32768",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "1e308",
];

/// Seeded mutations of a set of seeds.
pub(super) struct Mutator {
    rng: ChaCha8Rng,
}

impl Mutator {
    /// A mutator whose sequence depends only on `seed`.
    pub(super) fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// One input: a seed with one to four mutations applied.
    pub(super) fn mutate(&mut self, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut out = seeds[self.rng.random_range(0..seeds.len())].clone();
        for _ in 0..self.rng.random_range(1..=4) {
            self.once(&mut out, seeds);
        }
        out.truncate(MAX_LEN);
        out
    }

    fn once(&mut self, out: &mut Vec<u8>, seeds: &[Vec<u8>]) {
        let rng = &mut self.rng;
        let len = out.len();
        let at = rng.random_range(0..=len);
        match rng.random_range(0..9) {
            0 if len > 0 => out[at.min(len - 1)] ^= 1 << rng.random_range(0..8),
            1 if len > 0 => out[at.min(len - 1)] = rng.random(),
            2 => out.truncate(at),
            3 => {
                let end = rng.random_range(at..=len.min(at + 16));
                out.drain(at..end);
            }
            4 => {
                let end = rng.random_range(at..=len.min(at + 32));
                let copy = out[at..end].to_vec();
                let to = rng.random_range(0..=len);
                out.splice(to..to, copy);
            }
            5 => {
                // Splice: this input's head, another seed's tail.
                let other = &seeds[rng.random_range(0..seeds.len())];
                let from = rng.random_range(0..=other.len());
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            6 => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            7 => {
                // A number in the input (the first run of digits from `at`
                // on, else the last before it) becomes one at a type limit.
                let digits = |i: &usize| out[*i].is_ascii_digit();
                let Some(start) = (at..len)
                    .find(digits)
                    .or_else(|| (0..at).rev().find(digits))
                else {
                    return;
                };
                let start = (0..start)
                    .rev()
                    .find(|&i| !out[i].is_ascii_digit())
                    .map_or(0, |i| i + 1);
                let end = (start..len)
                    .find(|&i| !out[i].is_ascii_digit())
                    .unwrap_or(len);
                let number = NUMBERS[rng.random_range(0..NUMBERS.len())];
                out.splice(start..end, number.bytes());
            }
            _ => {
                // Overwrite a run of digits or letters with a token.
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                let end = (at..len)
                    .find(|&i| !out[i].is_ascii_alphanumeric())
                    .unwrap_or(len);
                out.splice(at..end, token.iter().copied());
            }
        }
    }
}
