//! Where a theme sits in an embedding space: the sum of its comments' unit
//! vectors, and the cosine similarity of a comment or another theme to it.
//!
//! A sum of unit vectors points where their mean does, so the cosine to the
//! sum is the cosine to the theme's centre; keeping the sum (not the mean)
//! makes joining and merging plain additions. This module knows nothing of
//! models or calls: vectors come from module `embedding` (feature `llm`),
//! already checked.

/// `vector` scaled to length 1, or `None` when it has no direction (all
/// zeros) or holds a value that is not a finite number.
pub fn unit(vector: &[f32]) -> Option<Vec<f32>> {
    if vector.is_empty() || vector.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let norm = vector
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt();
    if norm <= f64::EPSILON {
        return None;
    }
    Some(
        vector
            .iter()
            .map(|x| (f64::from(*x) / norm) as f32)
            .collect(),
    )
}

/// The sum of a theme's unit vectors.
#[derive(Debug, Clone)]
pub struct Centroid {
    sum: Vec<f32>,
    norm: f64,
}

impl Centroid {
    /// A theme's centre from its first comment's unit vector.
    pub fn new(unit: &[f32]) -> Self {
        let mut c = Self {
            sum: unit.to_vec(),
            norm: 0.0,
        };
        c.settle();
        c
    }

    /// Add a comment's unit vector (of the same dimension).
    pub fn add(&mut self, unit: &[f32]) {
        for (s, x) in self.sum.iter_mut().zip(unit) {
            *s += *x;
        }
        self.settle();
    }

    /// Add another theme's comments.
    pub fn absorb(&mut self, other: &Centroid) {
        self.add(&other.sum);
    }

    /// Cosine similarity of a comment's unit vector to the centre; 0 for a
    /// vector of another dimension.
    pub fn similarity(&self, unit: &[f32]) -> f64 {
        if unit.len() != self.sum.len() || self.norm <= 0.0 {
            return 0.0;
        }
        dot(&self.sum, unit) / self.norm
    }

    /// Cosine similarity of two themes' centres.
    pub fn similarity_to(&self, other: &Centroid) -> f64 {
        if other.sum.len() != self.sum.len() || self.norm <= 0.0 || other.norm <= 0.0 {
            return 0.0;
        }
        dot(&self.sum, &other.sum) / (self.norm * other.norm)
    }

    fn settle(&mut self) {
        self.norm = dot(&self.sum, &self.sum).sqrt();
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_centre_is_as_close_to_its_members_as_their_mean_is() {
        let a = unit(&[1.0, 0.0, 0.0]).unwrap_or_default();
        let b = unit(&[0.0, 3.0, 0.0]).unwrap_or_default();
        let mut c = Centroid::new(&a);
        assert!((c.similarity(&a) - 1.0).abs() < 1e-9);
        c.add(&b);
        // The mean of two orthogonal unit vectors is 45° from each.
        assert!((c.similarity(&a) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!((c.similarity(&b) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(c.similarity(&[1.0, 0.0]), 0.0, "another dimension");
        assert!(unit(&[0.0, 0.0]).is_none());
        assert!(unit(&[f32::NAN, 1.0]).is_none());
    }
}
