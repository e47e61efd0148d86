//! Partial-precision dates, date-times and times: parsing, comparison, arithmetic and rendering.
//!
//! A value knows how precise it is (`@2014` is a year, not 2014-01-01), comparisons stop at the
//! coarser precision and answer "unknown" when the two differ there, as FHIRPath requires.
//! Seconds and milliseconds count as one precision when comparing.

use std::cmp::Ordering;
use std::fmt::{self, Write};

use crate::error::{Error, Result};

/// How much of a date or time is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    /// `2014`
    Year,
    /// `2014-01`
    Month,
    /// `2014-01-05`
    Day,
    /// `2014-01-05T10`
    Hour,
    /// `2014-01-05T10:30`
    Minute,
    /// `2014-01-05T10:30:15`
    Second,
    /// `2014-01-05T10:30:15.123`
    Millisecond,
}

impl Precision {
    /// Seconds and milliseconds compare as one precision (a decimal number of seconds).
    fn comparison_level(self) -> u8 {
        match self {
            Precision::Year => 0,
            Precision::Month => 1,
            Precision::Day => 2,
            Precision::Hour => 3,
            Precision::Minute => 4,
            Precision::Second | Precision::Millisecond => 5,
        }
    }
}

/// A date or date-time of some precision, with an optional time-zone offset in minutes.
///
/// FHIRPath `Date` values use this type with at most day precision and no offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub(crate) year: i32,
    pub(crate) month: u8,
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    pub(crate) millis: u16,
    pub(crate) precision: Precision,
    pub(crate) offset: Option<i16>,
}

/// A time of day of some precision (FHIRPath `Time`): hours at least.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Time {
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    pub(crate) millis: u16,
    pub(crate) precision: Precision,
}

/// A calendar unit that dates and times can be moved by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CalendarUnit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
}

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;

/// Reads exactly `n` ASCII digits at the start of `s`.
fn digits(s: &[u8], n: usize) -> Option<u32> {
    if s.len() < n {
        return None;
    }
    let mut value = 0u32;
    for &b in &s[..n] {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    Some(value)
}

/// Days in `month` of `year` (proleptic Gregorian).
pub(crate) fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses `hh(:mm(:ss(.fff…)?)?)?` at the start of `s`; returns the time and the bytes used.
fn parse_time_part(s: &[u8]) -> Option<(Time, usize)> {
    let hour = digits(s, 2)?;
    if hour > 23 {
        return None;
    }
    let mut time = Time {
        hour: hour as u8,
        minute: 0,
        second: 0,
        millis: 0,
        precision: Precision::Hour,
    };
    let mut i = 2;
    if s.get(i) == Some(&b':') {
        let minute = digits(&s[i + 1..], 2)?;
        if minute > 59 {
            return None;
        }
        time.minute = minute as u8;
        time.precision = Precision::Minute;
        i += 3;
        if s.get(i) == Some(&b':') {
            let second = digits(&s[i + 1..], 2)?;
            if second > 59 {
                return None;
            }
            time.second = second as u8;
            time.precision = Precision::Second;
            i += 3;
            if s.get(i) == Some(&b'.') {
                let start = i + 1;
                let mut end = start;
                while end < s.len() && s[end].is_ascii_digit() {
                    end += 1;
                }
                if end == start {
                    return None;
                }
                let mut millis = 0u16;
                for k in 0..3 {
                    let digit = s
                        .get(start + k)
                        .filter(|_| start + k < end)
                        .map_or(0, |b| u16::from(b - b'0'));
                    millis = millis * 10 + digit;
                }
                time.millis = millis;
                time.precision = Precision::Millisecond;
                i = end;
            }
        }
    }
    Some((time, i))
}

/// Parses a time-zone offset (`Z` or `±hh:mm`) that must fill `s`.
fn parse_offset(s: &[u8]) -> Option<i16> {
    match s {
        [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let hours = digits(rest, 2)?;
            let minutes = digits(&rest[3..], 2)?;
            if hours > 14 || minutes > 59 {
                return None;
            }
            let total = (hours * 60 + minutes) as i16;
            Some(if *sign == b'-' { -total } else { total })
        }
        _ => None,
    }
}

/// Parses `YYYY(-MM(-DD)?)?` at the start of `s`; returns the date and the bytes used.
fn parse_date_part(s: &[u8]) -> Option<(DateTime, usize)> {
    let year = digits(s, 4)?;
    let mut date = DateTime {
        year: year as i32,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        millis: 0,
        precision: Precision::Year,
        offset: None,
    };
    let mut i = 4;
    if s.get(i) == Some(&b'-') {
        let month = digits(&s[i + 1..], 2)?;
        if !(1..=12).contains(&month) {
            return None;
        }
        date.month = month as u8;
        date.precision = Precision::Month;
        i += 3;
        if s.get(i) == Some(&b'-') {
            let day = digits(&s[i + 1..], 2)?;
            if day < 1 || day > u32::from(days_in_month(date.year, date.month)) {
                return None;
            }
            date.day = day as u8;
            date.precision = Precision::Day;
            i += 3;
        }
    }
    Some((date, i))
}

impl DateTime {
    /// Parses a FHIR `date` or FHIRPath date literal body: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub fn parse_date(text: &str) -> Option<DateTime> {
        let (date, used) = parse_date_part(text.as_bytes())?;
        (used == text.len()).then_some(date)
    }

    /// Parses a FHIR `dateTime`/`instant` or FHIRPath date-time literal body, of any precision:
    /// `2015`, `2015-02-04T`, `2015-02-04T14:34:28.123+10:00`.
    pub fn parse_datetime(text: &str) -> Option<DateTime> {
        let s = text.as_bytes();
        let (mut value, mut i) = parse_date_part(s)?;
        if i == s.len() {
            return Some(value);
        }
        if s[i] != b'T' {
            return None;
        }
        i += 1;
        if i == s.len() {
            return Some(value);
        }
        // A time needs a full date in front of it.
        if value.precision != Precision::Day {
            return None;
        }
        let (time, used) = parse_time_part(&s[i..])?;
        value.hour = time.hour;
        value.minute = time.minute;
        value.second = time.second;
        value.millis = time.millis;
        value.precision = time.precision;
        i += used;
        if i < s.len() {
            value.offset = Some(parse_offset(&s[i..])?);
        }
        Some(value)
    }

    /// Whether this is a date (at most day precision, no time-zone offset).
    pub fn is_date_only(&self) -> bool {
        self.precision <= Precision::Day
    }

    /// The precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Keeps only what a date holds.
    pub(crate) fn to_date(self) -> DateTime {
        let precision = self.precision.min(Precision::Day);
        DateTime {
            hour: 0,
            minute: 0,
            second: 0,
            millis: 0,
            precision,
            offset: None,
            ..self
        }
    }

    /// The time-of-day part of a date-time with a time.
    pub(crate) fn time(&self) -> Option<Time> {
        (self.precision >= Precision::Hour).then_some(Time {
            hour: self.hour,
            minute: self.minute,
            second: self.second,
            millis: self.millis,
            precision: self.precision,
        })
    }

    /// Milliseconds since the epoch of the fields as written (ignoring the offset).
    fn local_millis(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * MS_PER_DAY
            + i64::from(self.hour) * 3_600_000
            + i64::from(self.minute) * MS_PER_MINUTE
            + i64::from(self.second) * 1000
            + i64::from(self.millis)
    }

    /// Rebuilds the fields from milliseconds since the epoch, keeping precision and offset.
    fn with_local_millis(&self, millis: i64) -> Option<DateTime> {
        let days = millis.div_euclid(MS_PER_DAY);
        let rest = millis.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        if !(1..=9999).contains(&year) {
            return None;
        }
        Some(DateTime {
            year: year as i32,
            month,
            day,
            hour: (rest / 3_600_000) as u8,
            minute: (rest / MS_PER_MINUTE % 60) as u8,
            second: (rest / 1000 % 60) as u8,
            millis: (rest % 1000) as u16,
            ..*self
        })
    }

    /// The same instant expressed in UTC (only meaningful with an offset and a time).
    fn to_utc(self) -> DateTime {
        match self.offset {
            Some(offset) if offset != 0 && self.precision >= Precision::Hour => self
                .with_local_millis(self.local_millis() - i64::from(offset) * MS_PER_MINUTE)
                .map_or(self, |utc| DateTime {
                    offset: Some(0),
                    ..utc
                }),
            _ => self,
        }
    }

    /// Orders two values, or `None` when their precisions make the answer unknown.
    pub fn compare(&self, other: &DateTime) -> Option<Ordering> {
        let timed = self.precision >= Precision::Hour && other.precision >= Precision::Hour;
        let (a, b) = match (self.offset, other.offset) {
            (Some(_), Some(_)) => (self.to_utc(), other.to_utc()),
            (None, None) => (*self, *other),
            _ if timed => return None,
            _ => (*self, *other),
        };
        let levels = a
            .precision
            .comparison_level()
            .min(b.precision.comparison_level());
        let fields = |v: &DateTime| {
            [
                i64::from(v.year),
                i64::from(v.month),
                i64::from(v.day),
                i64::from(v.hour),
                i64::from(v.minute),
                i64::from(v.second) * 1000 + i64::from(v.millis),
            ]
        };
        let (fa, fb) = (fields(&a), fields(&b));
        for level in 0..=usize::from(levels) {
            match fa[level].cmp(&fb[level]) {
                Ordering::Equal => {}
                other => return Some(other),
            }
        }
        (a.precision.comparison_level() == b.precision.comparison_level())
            .then_some(Ordering::Equal)
    }

    /// FHIRPath equivalence: same precision and equal.
    pub fn equivalent(&self, other: &DateTime) -> bool {
        self.precision.comparison_level() == other.precision.comparison_level()
            && self.compare(other) == Some(Ordering::Equal)
    }

    /// Moves the value by `amount` calendar units; finer units than the value's precision are
    /// converted to its precision and truncated, as FHIRPath specifies.
    pub(crate) fn add(&self, amount: i64, unit: CalendarUnit) -> Result<DateTime> {
        let overflow = || Error::execution("date arithmetic out of range");
        let (amount, unit) = match unit {
            CalendarUnit::Week => (
                amount.checked_mul(7).ok_or_else(overflow)?,
                CalendarUnit::Day,
            ),
            other => (amount, other),
        };
        match unit {
            CalendarUnit::Year => self.add_months(amount.checked_mul(12).ok_or_else(overflow)?),
            CalendarUnit::Month => match self.precision {
                Precision::Year => self.add_months(amount / 12 * 12),
                _ => self.add_months(amount),
            },
            CalendarUnit::Day => match self.precision {
                Precision::Year => self.add_months(amount / 365 * 12),
                Precision::Month => self.add_months(amount / 30),
                _ => self.add_millis(amount.checked_mul(MS_PER_DAY).ok_or_else(overflow)?),
            },
            _ => {
                let unit_ms = match unit {
                    CalendarUnit::Hour => 3_600_000,
                    CalendarUnit::Minute => MS_PER_MINUTE,
                    CalendarUnit::Second => 1000,
                    _ => 1,
                };
                let millis = amount.checked_mul(unit_ms).ok_or_else(overflow)?;
                if self.precision <= Precision::Day {
                    self.add(millis / MS_PER_DAY, CalendarUnit::Day)
                } else {
                    self.add_millis(millis)
                }
            }
        }
    }

    fn add_months(&self, months: i64) -> Result<DateTime> {
        let total = i64::from(self.year) * 12 + i64::from(self.month) - 1 + months;
        let year = total.div_euclid(12);
        if !(1..=9999).contains(&year) {
            return Err(Error::execution("date arithmetic out of range"));
        }
        let month = (total.rem_euclid(12) + 1) as u8;
        let year = year as i32;
        let day = self.day.min(days_in_month(year, month));
        Ok(DateTime {
            year,
            month,
            day,
            ..*self
        })
    }

    fn add_millis(&self, millis: i64) -> Result<DateTime> {
        let step = match self.precision {
            Precision::Year | Precision::Month | Precision::Day => MS_PER_DAY,
            Precision::Hour => 3_600_000,
            Precision::Minute => MS_PER_MINUTE,
            Precision::Second => 1000,
            Precision::Millisecond => 1,
        };
        let millis = millis / step * step;
        self.local_millis()
            .checked_add(millis)
            .and_then(|total| self.with_local_millis(total))
            .ok_or_else(|| Error::execution("date arithmetic out of range"))
    }

    /// The earliest (`high == false`) or latest value this one may stand for, at `digits`
    /// precision (4 year … 8 day … 17 millisecond); `None` for an impossible precision.
    pub(crate) fn boundary(
        &self,
        digits: Option<i64>,
        high: bool,
        date_only: bool,
    ) -> Option<DateTime> {
        let precision = match digits.unwrap_or(if date_only { 8 } else { 17 }) {
            4 => Precision::Year,
            6 => Precision::Month,
            8 => Precision::Day,
            10 if !date_only => Precision::Hour,
            12 if !date_only => Precision::Minute,
            14 if !date_only => Precision::Second,
            17 if !date_only => Precision::Millisecond,
            _ => return None,
        };
        let mut v = *self;
        if v.precision < Precision::Month {
            v.month = if high { 12 } else { 1 };
        }
        if v.precision < Precision::Day {
            v.day = if high {
                days_in_month(v.year, v.month)
            } else {
                1
            };
        }
        if v.precision < Precision::Hour {
            v.hour = if high { 23 } else { 0 };
        }
        if v.precision < Precision::Minute {
            // The HL7 suite (and the reference engines) give an hour's high boundary as
            // `hh:00:59.999`; FHIR data never has hour precision, so follow them.
            v.minute = if high && v.precision != Precision::Hour {
                59
            } else {
                0
            };
        }
        if v.precision < Precision::Second {
            v.second = if high { 59 } else { 0 };
        }
        if v.precision < Precision::Millisecond {
            v.millis = if high { 999 } else { 0 };
        }
        v.precision = precision;
        if precision >= Precision::Hour {
            if v.offset.is_none() {
                // An unknown zone may be anywhere from +14:00 (earliest) to -12:00 (latest).
                v.offset = Some(if high { -12 * 60 } else { 14 * 60 });
            }
        } else {
            v.offset = None;
        }
        Some(v.truncated())
    }

    /// Zeroes the fields finer than the precision.
    fn truncated(mut self) -> DateTime {
        if self.precision < Precision::Month {
            self.month = 1;
        }
        if self.precision < Precision::Day {
            self.day = 1;
        }
        if self.precision < Precision::Hour {
            self.hour = 0;
        }
        if self.precision < Precision::Minute {
            self.minute = 0;
        }
        if self.precision < Precision::Second {
            self.second = 0;
        }
        if self.precision < Precision::Millisecond {
            self.millis = 0;
        }
        self
    }

    /// The current instant in UTC, to the millisecond.
    pub(crate) fn now() -> DateTime {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
        let epoch = DateTime {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            millis: 0,
            precision: Precision::Millisecond,
            offset: Some(0),
        };
        epoch.with_local_millis(since_epoch).unwrap_or(epoch)
    }

    /// The precision in digits, as `precision()` reports it.
    pub(crate) fn precision_digits(&self) -> i64 {
        match self.precision {
            Precision::Year => 4,
            Precision::Month => 6,
            Precision::Day => 8,
            Precision::Hour => 10,
            Precision::Minute => 12,
            Precision::Second => 14,
            Precision::Millisecond => 17,
        }
    }
}

impl fmt::Display for DateTime {
    /// Renders as FHIR writes it, without the FHIRPath `@`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if self.precision >= Precision::Month {
            write!(f, "-{:02}", self.month)?;
        }
        if self.precision >= Precision::Day {
            write!(f, "-{:02}", self.day)?;
        }
        if let Some(time) = self.time() {
            f.write_char('T')?;
            time.fmt(f)?;
            match self.offset {
                Some(0) => f.write_char('Z')?,
                Some(offset) => {
                    let sign = if offset < 0 { '-' } else { '+' };
                    let abs = offset.unsigned_abs();
                    write!(f, "{sign}{:02}:{:02}", abs / 60, abs % 60)?;
                }
                None => {}
            }
        }
        Ok(())
    }
}

impl Time {
    /// Parses a FHIR `time` or FHIRPath time literal body: `hh(:mm(:ss(.fff)?)?)?`.
    pub fn parse(text: &str) -> Option<Time> {
        let (time, used) = parse_time_part(text.as_bytes())?;
        (used == text.len()).then_some(time)
    }

    /// The precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    fn as_datetime(&self) -> DateTime {
        DateTime {
            year: 1970,
            month: 1,
            day: 1,
            hour: self.hour,
            minute: self.minute,
            second: self.second,
            millis: self.millis,
            precision: self.precision,
            offset: None,
        }
    }

    fn from_datetime(value: DateTime) -> Time {
        Time {
            hour: value.hour,
            minute: value.minute,
            second: value.second,
            millis: value.millis,
            precision: value.precision,
        }
    }

    /// Orders two times, or `None` when their precisions make the answer unknown.
    pub fn compare(&self, other: &Time) -> Option<Ordering> {
        self.as_datetime().compare(&other.as_datetime())
    }

    /// FHIRPath equivalence: same precision and equal.
    pub fn equivalent(&self, other: &Time) -> bool {
        self.as_datetime().equivalent(&other.as_datetime())
    }

    /// Moves the time by `amount` units, wrapping around midnight.
    pub(crate) fn add(&self, amount: i64, unit: CalendarUnit) -> Result<Time> {
        let unit_ms: i64 = match unit {
            CalendarUnit::Hour => 3_600_000,
            CalendarUnit::Minute => MS_PER_MINUTE,
            CalendarUnit::Second => 1000,
            CalendarUnit::Millisecond => 1,
            _ => {
                return Err(Error::execution(
                    "a time can only move by hours, minutes, seconds or milliseconds",
                ))
            }
        };
        let millis = amount
            .checked_mul(unit_ms)
            .ok_or_else(|| Error::execution("time arithmetic out of range"))?;
        let base = self.as_datetime();
        let moved = base.add_millis(millis.rem_euclid(MS_PER_DAY))?;
        Ok(Time::from_datetime(moved))
    }

    /// The earliest or latest time this one may stand for, at `digits` precision (2, 4, 6 or 9).
    pub(crate) fn boundary(&self, digits: Option<i64>, high: bool) -> Option<Time> {
        let precision = match digits.unwrap_or(9) {
            2 => Precision::Hour,
            4 => Precision::Minute,
            6 => Precision::Second,
            9 => Precision::Millisecond,
            _ => return None,
        };
        let mut v = self.as_datetime();
        v.day = 1;
        let filled = v.boundary(Some(17), high, false)?;
        Some(Time::from_datetime(
            DateTime {
                precision,
                ..filled
            }
            .truncated(),
        ))
    }

    /// The precision in digits, as `precision()` reports it.
    pub(crate) fn precision_digits(&self) -> i64 {
        match self.precision {
            Precision::Year | Precision::Month | Precision::Day | Precision::Hour => 2,
            Precision::Minute => 4,
            Precision::Second => 6,
            Precision::Millisecond => 9,
        }
    }
}

impl fmt::Display for Time {
    /// Renders as FHIR writes it, without the FHIRPath `@T`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.hour)?;
        if self.precision >= Precision::Minute {
            write!(f, ":{:02}", self.minute)?;
        }
        if self.precision >= Precision::Second {
            write!(f, ":{:02}", self.second)?;
        }
        if self.precision >= Precision::Millisecond {
            write!(f, ".{:03}", self.millis)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_every_precision() {
        for text in [
            "2015",
            "2015-02",
            "2015-02-04",
            "2015-02-04T14",
            "2015-02-04T14:34",
            "2015-02-04T14:34:28.123+10:00",
        ] {
            let value = DateTime::parse_datetime(text).expect(text);
            assert_eq!(value.to_string(), text);
        }
        assert!(DateTime::parse_date("2015-02-30").is_none());
        assert_eq!(
            Time::parse("14:34:28.123")
                .map(|t| t.to_string())
                .as_deref(),
            Some("14:34:28.123")
        );
    }

    #[test]
    fn comparison_with_different_precision_is_unknown() {
        let month = DateTime::parse_datetime("2018-03").expect("month");
        let day = DateTime::parse_datetime("2018-03-01").expect("day");
        assert_eq!(month.compare(&day), None);
        let earlier = DateTime::parse_datetime("2018-02").expect("month");
        assert_eq!(earlier.compare(&day), Some(Ordering::Less));
    }

    #[test]
    fn offsets_are_normalised() {
        let a = DateTime::parse_datetime("2017-11-05T01:30:00.0-04:00").expect("a");
        let b = DateTime::parse_datetime("2017-11-05T00:30:00.0-05:00").expect("b");
        assert_eq!(a.compare(&b), Some(Ordering::Equal));
    }

    #[test]
    fn month_arithmetic_clamps_the_day() {
        let value = DateTime::parse_date("2020-01-31").expect("date");
        assert_eq!(
            value.add(1, CalendarUnit::Month).expect("add").to_string(),
            "2020-02-29"
        );
    }
}
