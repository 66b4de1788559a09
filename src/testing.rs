//! Helpers shared by the unit tests.

/// A small deterministic generator (xorshift), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    /// The next value in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    /// `count` pieces drawn from `pieces`, joined: random texts made of the fragments that
    /// matter to a parser.
    pub fn text(&mut self, pieces: &[&str], count: u64) -> String {
        (0..count)
            .map(|_| pieces[self.below(pieces.len() as u64) as usize])
            .collect()
    }
}

/// 2,000 random strings of what JSON escapes or encodes (quotes, backslashes, control,
/// multi-byte and astral characters), each with two ways of writing it: serde_json's, and
/// every UTF-16 unit as a `\u` escape (surrogate pairs included). For the JSON readers' tests.
pub fn json_strings(seed: u64) -> Vec<(String, [String; 2])> {
    let pieces = [
        "a", "\"", "\\", "/", "\n", "\t", "\u{1}", "é", "€", "😀", " ", "xyz",
    ];
    let mut rng = Rng(seed);
    (0..2_000)
        .map(|_| {
            let n = rng.below(8);
            let s = rng.text(&pieces, n);
            let escaped: String = s.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
            let written = [
                serde_json::to_string(&s).expect("a string serialises"),
                format!("\"{escaped}\""),
            ];
            (s, written)
        })
        .collect()
}
