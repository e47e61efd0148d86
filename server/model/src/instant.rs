//! Points in time as the server records them (`meta.lastUpdated`), and FHIR date
//! values read as the range of time they cover.

use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A UTC point in time with millisecond precision, stored as milliseconds since
/// the Unix epoch so that both databases compare and sort it as an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub i64);

impl Instant {
    /// The current time, truncated to milliseconds.
    pub fn now() -> Instant {
        let now = OffsetDateTime::now_utc();
        Instant((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The `Last-Modified` header form (RFC 7231 IMF-fixdate).
    pub fn http_date(self) -> String {
        let t = self.to_datetime();
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
            DAYS[t.weekday().number_days_from_monday() as usize],
            t.day(),
            MONTHS[t.month() as usize - 1],
            t.year(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// Parses an HTTP date (`If-Modified-Since`), in the IMF-fixdate form.
    pub fn parse_http_date(raw: &str) -> Option<Instant> {
        let parts: Vec<&str> = raw.split_whitespace().collect();
        let [_, day, month, year, clock, "GMT"] = parts.as_slice() else {
            return None;
        };
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = MONTHS.iter().position(|m| m == month)? as u8 + 1;
        let mut hms = clock.split(':').map(|p| p.parse::<u8>().ok());
        let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
        let date = Date::from_calendar_date(
            year.parse().ok()?,
            Month::try_from(month).ok()?,
            day.parse().ok()?,
        )
        .ok()?;
        let time = Time::from_hms(h, m, s).ok()?;
        Some(Instant::from_datetime(
            PrimitiveDateTime::new(date, time).assume_utc(),
        ))
    }

    fn from_datetime(t: OffsetDateTime) -> Instant {
        Instant((t.unix_timestamp_nanos() / 1_000_000) as i64)
    }
}

impl fmt::Display for Instant {
    /// The FHIR `instant` form, such as `2026-11-25T19:38:45.123Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.to_datetime();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

/// The half-open range of time `[start, end)` that a FHIR date, dateTime or
/// instant value covers: `2024` covers the whole year, `2024-03-01T10:00:00Z`
/// one second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    /// The first millisecond covered.
    pub start: Instant,
    /// The first millisecond after the range.
    pub end: Instant,
}

impl DateRange {
    /// Reads a FHIR date/dateTime/instant value; `None` when it is not one.
    pub fn parse(raw: &str) -> Option<DateRange> {
        let (date_part, time_part) = match raw.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (raw, None),
        };
        let mut fields = date_part.split('-');
        let year: i32 = parse_digits(fields.next()?, 4)?;
        let month: Option<u8> = match fields.next() {
            Some(m) => Some(parse_digits(m, 2)?),
            None => None,
        };
        let day: Option<u8> = match fields.next() {
            Some(d) => Some(parse_digits(d, 2)?),
            None => None,
        };
        if fields.next().is_some() || (day.is_some() && month.is_none()) {
            return None;
        }
        let start_date = Date::from_calendar_date(
            year,
            Month::try_from(month.unwrap_or(1)).ok()?,
            day.unwrap_or(1),
        )
        .ok()?;
        let Some(time_part) = time_part else {
            if month.is_none() {
                let end = Date::from_calendar_date(year + 1, Month::January, 1).ok()?;
                return Some(Self::from_dates(start_date, end));
            }
            if day.is_none() {
                let next = start_date.month().next();
                let year = if next == Month::January {
                    year + 1
                } else {
                    year
                };
                let end = Date::from_calendar_date(year, next, 1).ok()?;
                return Some(Self::from_dates(start_date, end));
            }
            return Some(Self::from_dates(start_date, start_date.next_day()?));
        };
        day?;
        let full = format!("{date_part}T{time_part}");
        let with_zone =
            if time_part.ends_with('Z') || time_part.contains('+') || time_part.contains('-') {
                full
            } else {
                // A dateTime without a zone: read it as UTC, the server's zone.
                format!("{full}Z")
            };
        let (precision_ms, normalized) = match with_zone.split_once('.') {
            Some(_) => (1, with_zone),
            None => {
                let clock = time_part
                    .trim_end_matches('Z')
                    .split(['+', '-'])
                    .next()
                    .unwrap_or("");
                if clock.matches(':').count() == 1 {
                    // hh:mm is not valid FHIR, but search values often use it.
                    let (clock_end, rest) = with_zone.split_at(11 + clock.len());
                    (60_000, format!("{clock_end}:00{rest}"))
                } else {
                    (1_000, with_zone)
                }
            }
        };
        let t = OffsetDateTime::parse(&normalized, &Rfc3339).ok()?;
        let start = Instant::from_datetime(t.to_offset(UtcOffset::UTC));
        Some(DateRange {
            start,
            end: Instant(start.0 + precision_ms),
        })
    }

    fn from_dates(start: Date, end: Date) -> DateRange {
        DateRange {
            start: Instant::from_datetime(start.midnight().assume_utc()),
            end: Instant::from_datetime(end.midnight().assume_utc()),
        }
    }
}

fn parse_digits<T: std::str::FromStr>(raw: &str, len: usize) -> Option<T> {
    (raw.len() == len && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_print_as_fhir_instants_and_http_dates() {
        let t = Instant(1_700_000_000_123);
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.123Z");
        assert_eq!(t.http_date(), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(
            Instant::parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT"),
            Some(Instant(1_700_000_000_000))
        );
    }

    #[test]
    fn partial_dates_cover_their_whole_precision() {
        let year = DateRange::parse("2024").expect("a year is a date");
        assert_eq!(year.start.to_string(), "2024-01-01T00:00:00.000Z");
        assert_eq!(year.end.to_string(), "2025-01-01T00:00:00.000Z");
        let month = DateRange::parse("2024-12").expect("a month is a date");
        assert_eq!(month.end.to_string(), "2025-01-01T00:00:00.000Z");
        let second = DateRange::parse("2024-03-01T10:00:00+01:00").expect("a dateTime");
        assert_eq!(second.start.to_string(), "2024-03-01T09:00:00.000Z");
        assert_eq!(second.end.0 - second.start.0, 1000);
        let millis = DateRange::parse("2024-03-01T10:00:00.250Z").expect("an instant");
        assert_eq!(millis.start.to_string(), "2024-03-01T10:00:00.250Z");
        assert!(DateRange::parse("2024-13").is_none());
        assert!(DateRange::parse("yesterday").is_none());
    }
}
