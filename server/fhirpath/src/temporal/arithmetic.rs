//! Date and time arithmetic: moving by calendar units, the boundaries of partial values, UTC
//! normalisation and the current time.

use super::{days_in_month, CalendarUnit, DateTime, Precision, Time};
use crate::error::{Error, Result};

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;

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

impl DateTime {
    /// The same instant expressed in UTC (only meaningful with an offset and a time).
    pub(super) fn to_utc(self) -> DateTime {
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
        let total = (i64::from(self.year) * 12 + i64::from(self.month) - 1)
            .checked_add(months)
            .ok_or_else(|| Error::execution("date arithmetic out of range"))?;
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
}

impl Time {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_arithmetic_clamps_the_day() {
        let value = DateTime::parse_date("2020-01-31").expect("date");
        assert_eq!(
            value.add(1, CalendarUnit::Month).expect("add").to_string(),
            "2020-02-29"
        );
    }
}
