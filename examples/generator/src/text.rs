//! Choosing and filling phrases: the two helpers every domain's phrase banks
//! are used through. Both are deterministic given the RNG, which is what keeps
//! a seed's dataset byte-identical.

use rand::Rng;
use rand::rngs::StdRng;

/// One phrase of `bank`, uniformly.
pub fn pick(rng: &mut StdRng, bank: &[&'static str]) -> &'static str {
    bank[rng.random_range(0..bank.len())]
}

/// Replace each `{key}` of `template` by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_every_placeholder_and_leaves_unknown_ones() {
        assert_eq!(
            fill("{a} and {a}, not {b}", &[("a", "x")]),
            "x and x, not {b}"
        );
    }
}
