//! What the machine was doing besides this run: the machine is shared and has
//! two cores, so the runner reports the CPU time other processes took while it
//! ran (as `host/benches/sandbox.rs` and `dream.rs` do) and the CPUs it may use.

use std::time::Duration;

/// CPU time the whole machine has spent busy since boot, all cores together
/// (`/proc/stat`; `None` where there is none). The difference over a run, less
/// this process's own CPU time, is what other processes took.
pub fn busy() -> Option<Duration> {
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

/// The CPU time this process has used.
pub fn own_cpu() -> Duration {
    // SAFETY: rusage is plain old data, so all zeroes is a valid value, and
    // getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// How many CPUs this process may run on (1 under `taskset -c 0`), if known.
pub fn allowed_cpus() -> Option<usize> {
    // SAFETY: cpu_set_t is plain old data (all zeroes is the empty set), and
    // sched_getaffinity writes at most `size_of::<cpu_set_t>()` bytes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        Some(libc::CPU_COUNT(&set) as usize)
    }
}
