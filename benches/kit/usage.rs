//! What the bot's process and the machine have used, from `/proc`, for the figures the
//! benchmarks print.

/// What a process has used so far, from `/proc`: CPU time and context switches.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessUse {
    /// utime + stime, in clock ticks (hundredths of a second).
    pub cpu_ticks: u64,
    /// Voluntary and involuntary context switches, over all its threads.
    pub ctxt_switches: u64,
}

impl ProcessUse {
    pub fn of(pid: u32) -> ProcessUse {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after_name = stat.rsplit(')').next().unwrap_or_default();
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15, the 12th and 13th after the name.
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let mut ctxt_switches = 0;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten();
        for task in tasks.flatten() {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            ctxt_switches += status
                .lines()
                .filter(|line| line.contains("ctxt_switches:"))
                .filter_map(|line| line.split(':').nth(1)?.trim().parse::<u64>().ok())
                .sum::<u64>();
        }
        ProcessUse {
            cpu_ticks: field(11) + field(12),
            ctxt_switches,
        }
    }

    /// What was used between `earlier` and this reading.
    #[must_use]
    pub fn since(self, earlier: ProcessUse) -> ProcessUse {
        ProcessUse {
            cpu_ticks: self.cpu_ticks.saturating_sub(earlier.cpu_ticks),
            ctxt_switches: self.ctxt_switches.saturating_sub(earlier.ctxt_switches),
        }
    }
}

/// What every CPU of the machine has spent so far, from `/proc/stat`: a virtual machine's
/// host may take some of it for other guests ("steal"), which slows the whole run alike.
#[derive(Clone, Copy, Debug, Default)]
pub struct MachineUse {
    /// All ticks of every CPU, idle and stolen included.
    pub ticks: u64,
    pub stolen: u64,
}

impl MachineUse {
    pub fn now() -> MachineUse {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        // `cpu  user nice system idle iowait irq softirq steal guest guest_nice`; the guest
        // times are counted in user and nice already.
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|field| field.parse().ok())
            .collect();
        MachineUse {
            ticks: ticks.iter().sum(),
            stolen: ticks.get(7).copied().unwrap_or(0),
        }
    }

    /// The share of the machine's CPU time its host took between `earlier` and now, in %.
    #[expect(clippy::cast_precision_loss, reason = "tick counts far below 2^52")]
    pub fn stolen_pct_since(earlier: MachineUse) -> f64 {
        let now = MachineUse::now();
        let ticks = now.ticks.saturating_sub(earlier.ticks).max(1);
        now.stolen.saturating_sub(earlier.stolen) as f64 * 100.0 / ticks as f64
    }
}

/// The process's peak resident memory (`VmHWM`), in kB.
pub fn peak_rss_kb(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/PID/status:\n{status}"))
}
