//! What the benchmarks share: the generated data sets, throughput, and a check
//! that nothing else was using the machine while they ran.

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
    eprintln!(
        "generating {interactions} interactions into {}",
        dir.display()
    );
    let status = Command::new(env!("CARGO"))
        .current_dir(workspace())
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "reverie-generator",
            "--",
        ])
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

/// Decimal megabytes per second.
pub fn mb_per_s(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

/// CPU time the whole machine has spent busy since boot, all cores together
/// (`/proc/stat`; `None` where there is none). The difference over a run, less
/// the benchmark's own CPU time, is what other processes took: the machine has
/// few cores, so anything else running skews the figures.
pub fn machine_busy() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum();
    // /proc/stat counts in USER_HZ, which Linux fixes at 100 per second.
    Some(Duration::from_millis(busy * 10))
}
