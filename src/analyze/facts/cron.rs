//! Velero schedule expressions, as Velero parses them (robfig/cron `ParseStandard`): five fields
//! (minute hour day-of-month month day-of-week) with lists, ranges, steps and names; the descriptors
//! `@yearly` … `@hourly`; `@every <Go duration>`; an optional `CRON_TZ=`/`TZ=` prefix.
//!
//! Only the period matters here: how long may pass between two firings before a schedule counts as late.
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// A Velero schedule's expression, parsed for its period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `@every <duration>`: a fixed period.
    Every {
        /// The period in seconds.
        seconds: i64,
    },
    /// A cron expression (five fields or a descriptor such as `@daily`).
    Cron(CronExpr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr {
    minutes: u64,
    hours: u32,
    days_of_month: u32,
    months: u16,
    days_of_week: u8,
    // robfig/cron: when either day field starts with `*` both must match, otherwise either may.
    day_of_month_star: bool,
    day_of_week_star: bool,
}

const MINUTES_PER_DAY: i64 = 24 * 60;

impl Schedule {
    /// Parses a schedule as Velero does (`0 2 * * *`, `@every 6h`, `CRON_TZ=… …`); the error says why not.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let mut text = text.trim();
        if let Some(rest) = text
            .strip_prefix("CRON_TZ=")
            .or_else(|| text.strip_prefix("TZ="))
        {
            // The zone shifts firing times, not the interval between them.
            text = rest
                .split_once(char::is_whitespace)
                .map(|(_, expr)| expr.trim())
                .ok_or_else(|| "a time zone prefix with no expression after it".to_string())?;
        }
        if let Some(descriptor) = text.strip_prefix('@') {
            let standard = match descriptor.to_ascii_lowercase().as_str() {
                "yearly" | "annually" => "0 0 1 1 *",
                "monthly" => "0 0 1 * *",
                "weekly" => "0 0 * * 0",
                "daily" | "midnight" => "0 0 * * *",
                "hourly" => "0 * * * *",
                other => {
                    let duration = other
                        .strip_prefix("every")
                        .filter(|d| d.starts_with(char::is_whitespace))
                        .ok_or_else(|| format!("unknown descriptor @{descriptor}"))?;
                    let seconds = parse_go_duration(duration.trim())?;
                    // robfig/cron truncates to whole seconds and fires at least once a second.
                    return Ok(Schedule::Every {
                        seconds: seconds.max(1),
                    });
                }
            };
            return CronExpr::parse(standard).map(Schedule::Cron);
        }
        CronExpr::parse(text).map(Schedule::Cron)
    }

    /// The longest interval between two consecutive firings in the year after `from`, in seconds, so a
    /// weekday-only schedule is not called late after a weekend. `None` when it never fires.
    pub fn period_seconds(&self, from: Timestamp) -> Option<i64> {
        match self {
            Schedule::Every { seconds } => Some(*seconds),
            Schedule::Cron(expr) => expr.longest_gap_minutes(from).map(|m| m * 60),
        }
    }
}

impl CronExpr {
    pub fn parse(text: &str) -> Result<CronExpr, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            ));
        }
        let minutes = parse_field(fields[0], 0, 59, &[], "minute")?;
        let hours = parse_field(fields[1], 0, 23, &[], "hour")?;
        let days_of_month = parse_field(fields[2], 1, 31, &[], "day-of-month")?;
        let months = parse_field(fields[3], 1, 12, &MONTH_NAMES, "month")?;
        // 7 is accepted as Sunday, as most crons do.
        let mut days_of_week = parse_field(fields[4], 0, 7, &DAY_NAMES, "day-of-week")?;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let is_star = |f: &str| f.starts_with('*') || f.starts_with('?');
        Ok(CronExpr {
            minutes,
            hours: hours as u32,
            days_of_month: days_of_month as u32,
            months: months as u16,
            days_of_week: days_of_week as u8,
            day_of_month_star: is_star(fields[2]),
            day_of_week_star: is_star(fields[4]),
        })
    }

    fn fires_on(&self, date: Date) -> bool {
        let month_ok = self.months & (1 << date.month()) != 0;
        let dom_ok = self.days_of_month & (1 << date.day()) != 0;
        let dow_ok = self.days_of_week & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        month_ok
            && if self.day_of_month_star || self.day_of_week_star {
                dom_ok && dow_ok
            } else {
                dom_ok || dow_ok
            }
    }

    /// Minutes of the day it fires at, ascending: the same on every day it fires.
    fn times_of_day(&self) -> Vec<i64> {
        let mut times = Vec::new();
        for hour in 0..24 {
            if self.hours & (1 << hour) == 0 {
                continue;
            }
            for minute in 0..60 {
                if self.minutes & (1 << minute) != 0 {
                    times.push(hour * 60 + minute);
                }
            }
        }
        times
    }

    fn longest_gap_minutes(&self, from: Timestamp) -> Option<i64> {
        let times = self.times_of_day();
        let (&first, &last) = (times.first()?, times.last()?);
        let mut longest = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        let start = TimeZone::UTC.to_datetime(from).date();
        // A year shows every month-driven pattern; a leap-day schedule needs up to eight to fire twice.
        let mut firing_days: Vec<i64> = Vec::new();
        let mut date = start;
        for day in 0..(8 * 366) {
            if day >= 366 && firing_days.len() >= 2 {
                break;
            }
            if self.fires_on(date) {
                firing_days.push(day);
            }
            date = date.tomorrow().ok()?;
        }
        if firing_days.is_empty() || (firing_days.len() == 1 && times.len() == 1) {
            return None;
        }
        for pair in firing_days.windows(2) {
            let gap = (pair[1] - pair[0]) * MINUTES_PER_DAY - last + first;
            longest = longest.max(gap);
        }
        Some(longest)
    }
}

const MONTH_NAMES: [(&str, u32); 12] = [
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("may", 5),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];
const DAY_NAMES: [(&str, u32); 7] = [
    ("sun", 0),
    ("mon", 1),
    ("tue", 2),
    ("wed", 3),
    ("thu", 4),
    ("fri", 5),
    ("sat", 6),
];

/// One field as a bit set of the values it allows.
fn parse_field(
    field: &str,
    min: u32,
    max: u32,
    names: &[(&str, u32)],
    what: &str,
) -> Result<u64, String> {
    let value = |text: &str| -> Result<u32, String> {
        let lower = text.to_ascii_lowercase();
        if let Some((_, v)) = names.iter().find(|(n, _)| *n == lower) {
            return Ok(*v);
        }
        let v: u32 = text
            .parse()
            .map_err(|_| format!("{what} field: {text:?} is not a number"))?;
        if v < min || v > max {
            return Err(format!("{what} field: {v} is outside {min}-{max}"));
        }
        Ok(v)
    };
    let mut bits = 0u64;
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| format!("{what} field: step {step:?} is not a number"))?;
                if step == 0 {
                    return Err(format!("{what} field: step 0"));
                }
                (range, step)
            }
            None => (item, 1),
        };
        let (low, high) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let low = value(range)?;
            // `5/15` means from 5 to the end by 15.
            (low, if item.contains('/') { max } else { low })
        };
        if low > high {
            return Err(format!("{what} field: range {low}-{high} runs backwards"));
        }
        let mut v = low;
        while v <= high {
            bits |= 1 << v;
            match v.checked_add(step) {
                Some(next) => v = next,
                None => break,
            }
        }
    }
    Ok(bits)
}

/// A Go `time.ParseDuration` string (`24h`, `1h30m`, `1.5h`, `90s`) in whole seconds.
fn parse_go_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a duration like 24h or 1h30m");
    if text == "0" {
        return Ok(0);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() || rest.starts_with('-') {
        return Err(bad());
    }
    rest = rest.strip_prefix('+').unwrap_or(rest);
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..number_end].parse().map_err(|_| bad())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_end..];
    }
    if !total.is_finite() || total > 1e15 {
        return Err(bad());
    }
    Ok(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(expr: &str) -> Option<i64> {
        // A Monday.
        let from: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        Schedule::parse(expr).unwrap().period_seconds(from)
    }

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    #[test]
    fn periods_of_common_schedules() {
        assert_eq!(period("0 2 * * *"), Some(DAY));
        assert_eq!(period("@daily"), Some(DAY));
        assert_eq!(period("@every 24h"), Some(DAY));
        assert_eq!(period("@every 1h30m"), Some(90 * 60));
        assert_eq!(period("@every 1.5h"), Some(90 * 60));
        assert_eq!(period("*/15 * * * *"), Some(15 * 60));
        assert_eq!(period("0 */6 * * *"), Some(6 * HOUR));
        assert_eq!(period("0 1,13 * * *"), Some(12 * HOUR));
        assert_eq!(period("@weekly"), Some(7 * DAY));
        assert_eq!(period("0 0 * * SUN"), Some(7 * DAY));
        assert_eq!(period("0 0 * * 7"), Some(7 * DAY));
        assert_eq!(period("@hourly"), Some(HOUR));
        assert_eq!(period("0/4294967295 * * * *"), Some(HOUR));
        assert_eq!(period("CRON_TZ=Europe/Berlin 30 3 * * *"), Some(DAY));
    }

    #[test]
    fn irregular_schedules_take_their_longest_gap() {
        // Friday 00:00 → Monday 00:00.
        assert_eq!(period("0 0 * * 1-5"), Some(3 * DAY));
        assert_eq!(period("0 0 * * mon-fri"), Some(3 * DAY));
        // 01:00 then 02:00, then 23 hours to the next 01:00.
        assert_eq!(period("0 1,2 * * *"), Some(23 * HOUR));
        // Monthly: the longest month.
        assert_eq!(period("@monthly"), Some(31 * DAY));
        assert_eq!(period("0 0 1 1 *"), Some(365 * DAY));
        // Day-of-month and day-of-week both restricted: either fires (the 1st, or any Sunday).
        assert!(period("0 0 1 * 0").unwrap() <= 7 * DAY);
        // Leap day: found within eight years.
        assert_eq!(period("0 0 29 2 *"), Some((365 * 4 + 1) * DAY));
    }

    #[test]
    fn never_firing_and_malformed_schedules() {
        assert_eq!(period("0 0 31 2 *"), None);
        for bad in [
            "",
            "* * * *",
            "61 * * * *",
            "*/0 * * * *",
            "*/99999999999 * * * *",
            "5-1 * * * *",
            "@fortnightly",
            "@every",
            "@every 1 day",
            "@every -1h",
            "TZ=UTC",
            "a b c d e",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
