//! How far an import has gone, shared between the pipeline (which only
//! bumps counters: a relaxed atomic add per row costs nothing measurable)
//! and whoever reports it (the run's database row, a progress bar).

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

pub use entity::values::ImportPhase as Phase;

const PHASES: [Phase; 6] = [
    Phase::Queued,
    Phase::Reading,
    Phase::Locating,
    Phase::Planning,
    Phase::Applying,
    Phase::Done,
];

const UNKNOWN: u64 = u64::MAX;

#[derive(Debug)]
pub struct Progress {
    phase: AtomicU8,
    rows_read: AtomicU64,
    rows_total: AtomicU64,
    to_locate: AtomicU64,
    located: AtomicU64,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            phase: AtomicU8::new(0),
            rows_read: AtomicU64::new(0),
            rows_total: AtomicU64::new(UNKNOWN),
            to_locate: AtomicU64::new(0),
            located: AtomicU64::new(0),
        }
    }
}

/// One reading of [`Progress`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Snapshot {
    pub phase: Phase,
    pub rows_read: u64,
    pub rows_total: Option<u64>,
    pub to_locate: u64,
    pub located: u64,
}

impl Progress {
    /// Phases only move forward.
    pub fn enter(&self, phase: Phase) {
        let index = PHASES.iter().position(|p| *p == phase).unwrap_or(0) as u8;
        self.phase.fetch_max(index, Ordering::Relaxed);
    }

    pub fn row_read(&self) {
        self.rows_read.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_rows_total(&self, total: usize) {
        self.rows_total.store(total as u64, Ordering::Relaxed);
    }

    pub fn add_to_locate(&self, count: usize) {
        self.to_locate.fetch_add(count as u64, Ordering::Relaxed);
    }

    pub fn add_located(&self, count: usize) {
        self.located.fetch_add(count as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let phase = PHASES[usize::from(self.phase.load(Ordering::Relaxed)).min(PHASES.len() - 1)];
        let total = self.rows_total.load(Ordering::Relaxed);
        Snapshot {
            phase,
            rows_read: self.rows_read.load(Ordering::Relaxed),
            rows_total: (total != UNKNOWN).then_some(total),
            to_locate: self.to_locate.load(Ordering::Relaxed),
            located: self.located.load(Ordering::Relaxed),
        }
    }
}

impl Snapshot {
    /// 0 to 100. Each phase owns a band, filled by its own counter; phases
    /// and counters only grow, so the percent never goes back.
    pub fn percent(&self) -> f64 {
        let within = |done: u64, of: Option<u64>| match of {
            Some(of) if of > 0 => (done as f64 / of as f64).min(1.0),
            _ => 0.0,
        };
        let (start, end, fraction) = match self.phase {
            Phase::Queued => (0.0, 0.0, 0.0),
            Phase::Reading => (0.0, 40.0, within(self.rows_read, self.rows_total)),
            Phase::Locating => (40.0, 70.0, within(self.located, Some(self.to_locate))),
            Phase::Planning => (70.0, 75.0, 0.0),
            Phase::Applying => (75.0, 99.0, 0.0),
            Phase::Done => (100.0, 100.0, 0.0),
        };
        start + (end - start) * fraction
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_follows_the_phases_and_never_goes_back() {
        let progress = Progress::default();
        let mut seen = vec![progress.snapshot().percent()];
        progress.enter(Phase::Reading);
        seen.push(progress.snapshot().percent());
        progress.set_rows_total(4);
        for _ in 0..4 {
            progress.row_read();
            seen.push(progress.snapshot().percent());
        }
        progress.enter(Phase::Locating);
        progress.add_to_locate(2);
        seen.push(progress.snapshot().percent());
        progress.add_located(2);
        seen.push(progress.snapshot().percent());
        // A late report of an earlier phase does not move it back.
        progress.enter(Phase::Reading);
        seen.push(progress.snapshot().percent());
        progress.enter(Phase::Applying);
        seen.push(progress.snapshot().percent());
        progress.enter(Phase::Done);
        seen.push(progress.snapshot().percent());
        assert_eq!(
            seen,
            [
                0.0, 0.0, 10.0, 20.0, 30.0, 40.0, 40.0, 70.0, 70.0, 75.0, 100.0
            ]
        );
        assert_eq!(progress.snapshot().phase, Phase::Done);
    }

    #[test]
    fn rows_total_is_unknown_until_told() {
        let progress = Progress::default();
        assert_eq!(progress.snapshot().rows_total, None);
        progress.set_rows_total(0);
        assert_eq!(progress.snapshot().rows_total, Some(0));
    }
}
