//! Deterministic sampling by interaction id: the same interaction is in or out
//! of a sample in every run, on every machine, whatever the chunking, so a
//! dream that is run again asks the model about the same conversations.

/// A well-mixed 64-bit hash of `salt` and `id`: FNV-1a over both (a zero
/// byte between them, so `("ab", "c")` and `("a", "bc")` differ), then the
/// SplitMix64 finaliser, because FNV alone leaves the high bits of short,
/// similar ids (`int_1`, `int_2`) close together.
pub fn hash(salt: &str, id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in salt.bytes().chain([0u8]).chain(id.bytes()) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Where `id` falls in `[0, 1)` for the sample named `salt`. An id is in a
/// sample of rate `r` when this is below `r`; different salts give
/// independent samples.
pub fn fraction(salt: &str, id: &str) -> f64 {
    // The top 53 bits: exactly representable as an f64 mantissa.
    (hash(salt, id) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_of_ids_is_stable_near_its_rate_and_independent_between_salts() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("int_{i}")).collect();
        let a: Vec<bool> = ids.iter().map(|id| fraction("a", id) < 0.2).collect();
        let again: Vec<bool> = ids.iter().map(|id| fraction("a", id) < 0.2).collect();
        assert_eq!(a, again);
        let share = a.iter().filter(|x| **x).count() as f64 / ids.len() as f64;
        assert!((0.18..0.22).contains(&share), "{share}");
        let both = ids
            .iter()
            .filter(|id| fraction("a", id) < 0.2 && fraction("b", id) < 0.2)
            .count() as f64
            / ids.len() as f64;
        // Independent samples overlap by about 0.2 × 0.2.
        assert!((0.03..0.05).contains(&both), "{both}");
        assert_ne!(hash("ab", "c"), hash("a", "bc"));
    }
}
