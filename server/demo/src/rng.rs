//! A small deterministic pseudo-random generator (splitmix64).
//!
//! The demo data must be byte-identical for a given size, so nothing here reads a clock or
//! the operating system's randomness. Every patient draws from its own stream, seeded from
//! its number, so patient 7 looks the same in a set of 20 and in a set of 2,000.

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
const DEMO_SEED: u64 = 0x7469_6C6C_6974_2026;

/// A splitmix64 stream.
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// The stream numbered `stream` (a patient number).
    pub(crate) fn for_stream(stream: u64) -> Self {
        Self {
            state: mix(DEMO_SEED ^ stream.wrapping_mul(GOLDEN_GAMMA)),
        }
    }

    /// A number in `low..=high`.
    pub(crate) fn between(&mut self, low: u32, high: u32) -> u32 {
        let span = u64::from(high - low) + 1;
        low + u32::try_from(self.next_u64() % span).expect("a remainder of a u32 span fits in u32")
    }

    /// True `percent` times in a hundred.
    pub(crate) fn chance(&mut self, percent: u32) -> bool {
        self.between(0, 99) < percent
    }

    /// One of `items`, which must not be empty.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = self.next_u64() % items.len() as u64;
        &items[usize::try_from(index).expect("an index below a slice length fits in usize")]
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }
}

/// The splitmix64 finaliser: spreads every input bit over the whole output.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_stream_repeats_itself() {
        let draws = |stream| {
            let mut rng = Rng::for_stream(stream);
            (0..8).map(|_| rng.between(0, 1000)).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
    }

    #[test]
    fn between_stays_inside_its_bounds() {
        let mut rng = Rng::for_stream(1);
        assert!((0..1000)
            .map(|_| rng.between(3, 5))
            .all(|n| (3..=5).contains(&n)));
    }
}
