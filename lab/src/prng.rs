//! [`Rng`]: the one seeded pseudo-random generator of the project's property tests and
//! benchmarks (fastrand's wyrand), so that every run draws the same cases and a failure
//! that names its seed reproduces.

/// A deterministic generator: the same seed gives the same sequence on every run.
pub struct Rng(fastrand::Rng);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }

    /// A number in `0..n`.
    ///
    /// # Panics
    ///
    /// When `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n)
    }

    /// One of `items`, uniformly.
    ///
    /// # Panics
    ///
    /// When `items` is empty.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// `true` with a probability of `percent` in a hundred.
    pub fn chance(&mut self, percent: u8) -> bool {
        self.0.u8(..100) < percent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_numbers_within_bounds() {
        let draw = |seed| {
            let mut rng = Rng::seeded(seed);
            (0..64).map(|_| rng.below(10)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        assert!(draw(7).iter().all(|&n| n < 10));
        let mut rng = Rng::seeded(1);
        assert!((0..100).all(|_| !rng.chance(0) && rng.chance(100)));
        assert_eq!(rng.pick(&["only"]), "only");
    }
}
