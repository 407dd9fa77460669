//! Compiled components are cached on disk by content digest and engine compatibility, and a
//! damaged cache entry costs a recompile, never a failure.

use serde_json::Value;

use crate::common::{Dataset, REVERIE};

fn dream(data: &Dataset, cache: &std::path::Path) -> Value {
    let out = std::process::Command::new(REVERIE)
        .arg("dream")
        .arg("--interactions")
        .arg(&data.interactions)
        .arg("--feedback")
        .arg(&data.feedback)
        .args(["--format", "json", "--no-progress", "--cache-dir"])
        .arg(cache)
        .output()
        .expect("run reverie dream");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

fn cached(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(cache)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn compiled_rules_are_cached_by_digest_and_a_damaged_entry_is_rebuilt() {
    let data = Dataset::standard();
    let cache = tempfile::tempdir().expect("tempdir");
    let first = dream(&data, cache.path());

    // One artifact per built-in rule, named by the digest the report shows.
    let files = cached(cache.path());
    let rules = first["rules"].as_array().expect("rules");
    assert_eq!(files.len(), rules.len(), "{files:?}");
    for rule in rules {
        let digest = rule["digest"].as_str().expect("digest");
        assert!(
            files.iter().any(|f| f
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(digest) && n.ends_with(".cwasm"))),
            "no cache entry for {digest} in {files:?}"
        );
    }

    // Damage every entry: the next run recompiles, gives the same findings, and heals the cache.
    for f in &files {
        std::fs::write(f, b"not a compiled component").expect("damage the cache");
    }
    let second = dream(&data, cache.path());
    assert_eq!(first["problems"], second["problems"]);
    for f in cached(cache.path()) {
        let len = std::fs::metadata(&f).expect("stat").len();
        assert!(
            len > 1000,
            "{} was not rewritten ({len} bytes)",
            f.display()
        );
    }
}

/// A component refused for its contract is refused from its bytes, before it is compiled: a
/// large Python or JavaScript rule costs tens of seconds of CPU to compile, and a refusal
/// should cost nothing. So nothing of it reaches the compile cache.
#[test]
fn a_rule_refused_for_its_contract_is_never_compiled() {
    use sha2::Digest;
    let data = Dataset::standard();
    let cache = tempfile::tempdir().expect("tempdir");
    let refused = crate::common::fixture("wrong-contract");
    let digest: String = sha2::Sha256::digest(std::fs::read(&refused).expect("read the fixture"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let config = crate::common::hostile_config(&crate::common::fixture_rule("wrong-contract", ""));

    let report = crate::common::Dream::new(&data)
        .config(&config)
        .cache_dir(cache.path())
        .report();

    crate::common::assert_failed(&report, "wrong_contract", "incompatible_contract");
    let files = cached(cache.path());
    assert!(!files.is_empty(), "the other rules were cached");
    assert!(
        files.iter().all(|f| !f
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&digest))),
        "the refused rule was compiled into the cache: {files:?}"
    );
}
