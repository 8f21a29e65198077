//! Lambda's CPU share, modelled as a CFS bandwidth limit on a cgroup of the
//! bootstrap's process: unlimited during Init (Lambda runs Init with a burst),
//! then `share` of one core from the first `/next` on.
//!
//! cgroup v1 (`/sys/fs/cgroup/cpu/<name>/cpu.cfs_quota_us`) or v2
//! (`/sys/fs/cgroup/<name>/cpu.max`); either needs the cpu controller to be
//! writable (root, or a delegated subtree).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A cgroup the bootstrap under test runs in.
#[derive(Debug)]
pub struct CpuQuota {
    dir: PathBuf,
    v2: bool,
    period: Duration,
}

impl CpuQuota {
    /// Makes the cgroup `hdoc-bench-<pid>` with the given CFS period.
    pub fn create(period: Duration) -> Result<Self, String> {
        let name = format!("hdoc-bench-{}", std::process::id());
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        let (dir, v2) = if v1.join("cpu.cfs_quota_us").exists() {
            (v1.join(&name), false)
        } else if std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"))
        {
            (Path::new("/sys/fs/cgroup").join(&name), true)
        } else {
            return Err(
                "no writable cgroup cpu controller (v1 /sys/fs/cgroup/cpu or v2 cpu.max): \
                        run as root, or pass --no-quota to measure without the CPU model"
                    .into(),
            );
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot make the cgroup {}: {e}", dir.display()))?;
        let quota = Self { dir, v2, period };
        quota.limit(None)?;
        Ok(quota)
    }

    /// Moves the process `pid` (all its threads) into the cgroup.
    pub fn add(&self, pid: u32) -> Result<(), String> {
        self.write("cgroup.procs", &pid.to_string())
    }

    /// Limits the cgroup to `share` of one core, or lifts the limit (`None`).
    pub fn limit(&self, share: Option<f64>) -> Result<(), String> {
        let period = self.period.as_micros();
        let quota = share.map(|share| ((period as f64) * share).round().max(1000.0) as u128);
        if self.v2 {
            let quota = quota.map_or("max".to_owned(), |q| q.to_string());
            self.write("cpu.max", &format!("{quota} {period}"))
        } else {
            self.write("cpu.cfs_period_us", &period.to_string())?;
            let quota = quota.map_or("-1".to_owned(), |q| q.to_string());
            self.write("cpu.cfs_quota_us", &quota)
        }
    }

    /// How often the process was throttled, and for how long in all (`cpu.stat`).
    pub fn throttled(&self) -> (u64, Duration) {
        let stat = std::fs::read_to_string(self.dir.join("cpu.stat")).unwrap_or_default();
        let field = |name: &str| {
            stat.lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        if self.v2 {
            (
                field("nr_throttled"),
                Duration::from_micros(field("throttled_usec")),
            )
        } else {
            (
                field("nr_throttled"),
                Duration::from_nanos(field("throttled_time")),
            )
        }
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        std::fs::write(self.dir.join(file), value)
            .map_err(|e| format!("{}/{file} <- {value}: {e}", self.dir.display()))
    }
}

impl Drop for CpuQuota {
    fn drop(&mut self) {
        // Empty once its processes are gone; a cgroup directory is removed with rmdir.
        let _ = std::fs::remove_dir(&self.dir);
    }
}
