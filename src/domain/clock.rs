//! The time alerts go by. The server reads the system clock; a test sets it
//! to a moment that matters (19:59 in Quebec, a clock-change night) and the
//! server runs from there, its seconds still passing.

use chrono::{DateTime, Utc};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    offset: chrono::TimeDelta,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that reads `at` now, and runs on from it.
    pub fn starting_at(at: DateTime<Utc>) -> Clock {
        Clock {
            offset: at - Utc::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_runs_on_from_its_moment() {
        let at: DateTime<Utc> = "2026-07-15T23:59:00Z".parse().unwrap();
        let clock = Clock::starting_at(at);
        let read = clock.now();
        assert!(read >= at && read - at < chrono::TimeDelta::seconds(5));
        assert!((Clock::system().now() - Utc::now()).num_seconds().abs() < 5);
    }
}
