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
