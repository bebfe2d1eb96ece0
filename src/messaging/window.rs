//! When alerts may leave: the organization's sending hours (`sendFrom` to
//! `sendUntil`, 07:00 to 20:00 by default) in its time zone
//! (`America/Toronto` by default), daylight saving included, and the day
//! "once per occupant per day" counts in. The time zone database is
//! bundled (jiff's `tzdb-bundle-always`): a server without `tzdata` still
//! knows Quebec's clock.

use chrono::{DateTime, Utc};
use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;

/// The organization's sending hours.
#[derive(Clone, Debug)]
pub struct SendingHours {
    from: Time,
    until: Time,
    zone: TimeZone,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("not a time of day (HH:MM): {0:?}")]
    Time(String),
    #[error("unknown time zone: {0:?}")]
    Zone(String),
}

/// The defaults: 07:00 to 20:00, Quebec's time.
pub const DEFAULT_FROM: &str = "07:00";
pub const DEFAULT_UNTIL: &str = "20:00";
pub const DEFAULT_ZONE: &str = "America/Toronto";

impl SendingHours {
    /// `from` and `until` as `HH:MM`; `zone` an IANA name. A window whose
    /// end comes before its start spans midnight (`22:00` to `06:00`);
    /// one that starts where it ends is open all day.
    pub fn new(from: &str, until: &str, zone: &str) -> Result<SendingHours, HoursError> {
        Ok(SendingHours {
            from: time_of_day(from)?,
            until: time_of_day(until)?,
            zone: TimeZone::get(zone).map_err(|_| HoursError::Zone(zone.to_owned()))?,
        })
    }

    /// Whether a message may leave at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.open_at(self.local(now).time())
    }

    fn open_at(&self, local: Time) -> bool {
        match self.from.cmp(&self.until) {
            std::cmp::Ordering::Less => self.from <= local && local < self.until,
            std::cmp::Ordering::Greater => local >= self.from || local < self.until,
            std::cmp::Ordering::Equal => true,
        }
    }

    /// When a message due at `now` may leave: `now` when the window is
    /// open, else its next opening. An opening that falls in a spring
    /// gap opens when the clock does.
    pub fn next_open(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = self.local(now);
        if self.open_at(local.time()) {
            return now;
        }
        let mut day = local.date();
        if local.time() >= self.from {
            day = day.tomorrow().unwrap_or(day);
        }
        let opening = day
            .to_datetime(self.from)
            .to_zoned(self.zone.clone())
            .map(|zoned| zoned.timestamp())
            .unwrap_or_else(|_| local.timestamp());
        to_chrono(opening)
    }

    /// When the local day of `now` began: "once per occupant per day"
    /// counts from it.
    pub fn day_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.local(now)
            .start_of_day()
            .map_or(now, |start| to_chrono(start.timestamp()))
    }

    /// When the local month of `now` began: the segment budget counts
    /// from it.
    pub fn month_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.local(now)
            .first_of_month()
            .and_then(|first| first.start_of_day())
            .map_or(now, |start| to_chrono(start.timestamp()))
    }

    /// The local day of `at`, for the messages' `date`.
    pub fn local_date(&self, at: DateTime<Utc>) -> jiff::civil::Date {
        self.local(at).date()
    }

    fn local(&self, now: DateTime<Utc>) -> jiff::Zoned {
        let at = Timestamp::new(now.timestamp(), now.timestamp_subsec_nanos() as i32)
            .unwrap_or(Timestamp::UNIX_EPOCH);
        at.to_zoned(self.zone.clone())
    }
}

fn time_of_day(text: &str) -> Result<Time, HoursError> {
    let invalid = || HoursError::Time(text.to_owned());
    let (hours, minutes) = text.trim().split_once(':').ok_or_else(invalid)?;
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours) || hours.len() > 2 || !digits(minutes) || minutes.len() != 2 {
        return Err(invalid());
    }
    let (Ok(hours), Ok(minutes)) = (hours.parse::<i8>(), minutes.parse::<i8>()) else {
        return Err(invalid());
    };
    Time::new(hours, minutes, 0, 0).map_err(|_| invalid())
}

fn to_chrono(at: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(at.as_second(), at.subsec_nanosecond() as u32)
        .unwrap_or(DateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quebec() -> SendingHours {
        SendingHours::new(DEFAULT_FROM, DEFAULT_UNTIL, DEFAULT_ZONE).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn quebecs_evening_closes_at_eight_summer_and_winter() {
        let hours = quebec();
        // July: EDT, UTC−4. 19:59 is open, 20:01 waits for 07:00 tomorrow.
        assert!(hours.is_open(utc("2026-07-15T23:59:00Z")));
        assert!(!hours.is_open(utc("2026-07-16T00:01:00Z")));
        assert_eq!(
            hours.next_open(utc("2026-07-16T00:01:00Z")),
            utc("2026-07-16T11:00:00Z")
        );
        // January: EST, UTC−5.
        assert!(hours.is_open(utc("2026-01-15T00:59:00Z")));
        assert!(!hours.is_open(utc("2026-01-15T01:01:00Z")));
        assert_eq!(
            hours.next_open(utc("2026-01-15T01:01:00Z")),
            utc("2026-01-15T12:00:00Z")
        );
        // Before the opening, the same morning.
        assert_eq!(
            hours.next_open(utc("2026-01-15T10:30:00Z")),
            utc("2026-01-15T12:00:00Z")
        );
        let open = utc("2026-01-15T15:00:00Z");
        assert_eq!(hours.next_open(open), open);
    }

    #[test]
    fn the_opening_after_a_clock_change_is_seven_local() {
        let hours = quebec();
        // The night of 2026-03-08 the clocks go forward (EST → EDT): the
        // 07:00 opening is 11:00 UTC, not 12:00.
        assert_eq!(
            hours.next_open(utc("2026-03-08T03:00:00Z")),
            utc("2026-03-08T11:00:00Z")
        );
        // The night of 2026-11-01 they go back (EDT → EST): 12:00 UTC.
        assert_eq!(
            hours.next_open(utc("2026-11-01T04:30:00Z")),
            utc("2026-11-01T12:00:00Z")
        );
    }

    #[test]
    fn the_day_is_quebecs_not_utcs() {
        let hours = quebec();
        // 23:30 in Quebec on the 15th is already the 16th in UTC: the
        // day began at 05:00 UTC on the 15th (EST, UTC−5).
        assert_eq!(
            hours.day_start(utc("2026-01-16T04:30:00Z")),
            utc("2026-01-15T05:00:00Z")
        );
        // July's month began at 04:00 UTC (EDT, UTC−4); on the 1st at
        // 02:00 UTC it is still June in Quebec.
        assert_eq!(
            hours.month_start(utc("2026-07-15T12:00:00Z")),
            utc("2026-07-01T04:00:00Z")
        );
        assert_eq!(
            hours.month_start(utc("2026-07-01T02:00:00Z")),
            utc("2026-06-01T04:00:00Z")
        );
    }

    #[test]
    fn windows_over_midnight_and_all_day() {
        let night = SendingHours::new("22:00", "06:00", DEFAULT_ZONE).unwrap();
        assert!(night.is_open(utc("2026-01-15T04:00:00Z"))); // 23:00
        assert!(!night.is_open(utc("2026-01-15T17:00:00Z"))); // 12:00
        assert_eq!(
            night.next_open(utc("2026-01-15T17:00:00Z")),
            utc("2026-01-16T03:00:00Z")
        );
        let always = SendingHours::new("00:00", "00:00", DEFAULT_ZONE).unwrap();
        assert!(always.is_open(utc("2026-01-15T08:00:00Z")));
    }

    #[test]
    fn refuses_what_is_not_a_time_or_a_zone() {
        for bad in ["7", "24:00", "07:60", "7h00", "07:0", "", "+7:00"] {
            assert_eq!(
                SendingHours::new(bad, "20:00", DEFAULT_ZONE).unwrap_err(),
                HoursError::Time(bad.to_owned()),
                "{bad}"
            );
        }
        assert_eq!(
            SendingHours::new("07:00", "20:00", "Mars/Olympus").unwrap_err(),
            HoursError::Zone("Mars/Olympus".to_owned())
        );
        assert!(SendingHours::new("7:00", "20:00", "America/Montreal").is_ok());
    }
}
