//! Partial-precision dates, date-times and times: parsing, comparison, arithmetic and rendering.
//!
//! A value knows how precise it is (`@2014` is a year, not 2014-01-01), comparisons stop at the
//! coarser precision and answer "unknown" when the two differ there, as FHIRPath requires.
//! Seconds and milliseconds count as one precision when comparing.

use std::cmp::Ordering;
use std::fmt::{self, Write};

mod arithmetic;

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
}
