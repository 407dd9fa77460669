//! What the benchmarks share: the generated data sets and small statistics.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The workspace root (host/ is one of its members).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ lives in the workspace")
        .to_path_buf()
}

/// A data set of `interactions` generated interactions (with their feedback) in
/// `target/bench-data/<name>`, generated on first use and reused afterwards.
/// Returns the directory holding `interactions.jsonl` and `feedback.jsonl`.
pub fn dataset(interactions: u64, name: &str) -> PathBuf {
    let data = workspace().join("target").join("bench-data");
    let dir = data.join(name);
    if dir.join("interactions.jsonl").is_file() && dir.join("feedback.jsonl").is_file() {
        return dir;
    }
    // Generate beside the final place and rename, so an interrupted run never
    // leaves a half-written data set that a later run would reuse.
    let partial = data.join(format!("{name}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    eprintln!("generating {interactions} interactions into {}", dir.display());
    let status = Command::new(env!("CARGO"))
        .current_dir(workspace())
        .args(["run", "--release", "--quiet", "-p", "reverie-generator", "--"])
        .arg("--interactions")
        .arg(interactions.to_string())
        .arg("--out-dir")
        .arg(&partial)
        .status()
        .expect("run cargo to generate the benchmark data");
    assert!(status.success(), "the data generator failed (see above)");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&partial, &dir).expect("move the generated data set in place");
    dir
}

/// The size of a file in bytes.
pub fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len()
}

/// The `q` quantile (0..=1) of `samples`, nearest rank.
pub fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn median(samples: &[Duration]) -> Duration {
    quantile(samples, 0.5)
}

/// Decimal megabytes per second.
pub fn mb_per_s(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}
