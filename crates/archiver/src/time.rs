//! Time helpers: years as seconds, and UTC calendar dates without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds in an average year (365.25 days).
pub const YEAR_SECONDS: f64 = 365.25 * 86_400.0;

/// Now as Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `now - years` as Unix seconds.
pub fn years_ago(now: i64, years: f64) -> i64 {
    now - (years * YEAR_SECONDS).round() as i64
}

/// (year, month, day) of a Unix time, UTC (Howard Hinnant's days-to-civil algorithm).
pub fn civil(ts: i64) -> (i64, u32, u32) {
    let z = ts.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The Unix time of a UTC date's midnight (the inverse of [`civil`]); `None` for a date that
/// does not exist.
pub fn midnight(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return None;
    }
    let y2 = y - i64::from(m <= 2);
    let era = y2.div_euclid(400);
    let yoe = y2.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let ts = (era * 146_097 + doe - 719_468) * 86_400;
    (civil(ts) == (y, m, d)).then_some(ts)
}

/// `YYYY-MM-DD` of a Unix time, UTC.
pub fn date(ts: i64) -> String {
    let (y, m, d) = civil(ts);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC date and time of a Unix time, `YYYY-MM-DD HH:MM:SS UTC`.
pub fn date_time(ts: i64) -> String {
    let secs = ts.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        date(ts),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_inverts_civil_and_refuses_dates_that_do_not_exist() {
        for ts in [0, 951_782_400, 1_796_083_200, 4_107_542_400] {
            let (y, m, d) = civil(ts);
            assert_eq!(midnight(y, m, d), Some(ts - ts.rem_euclid(86_400)));
        }
        assert_eq!(midnight(2025, 2, 29), None);
        assert_eq!(midnight(2024, 13, 1), None);
    }

    #[test]
    fn date_times_are_utc() {
        assert_eq!(date_time(951_782_400 + 3_723), "2000-02-29 01:02:03 UTC");
    }

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_700_000_000), "2023-11-14");
        assert_eq!(date(-86_400), "1969-12-31");
    }
}
