//! The bot's resident memory right now, beside the peak that `usage` reads, so a bench can
//! show what one phase of its run added.

/// The process's resident memory now (`VmRSS`), in kB.
pub fn rss_kb(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/PID/status:\n{status}"))
}
