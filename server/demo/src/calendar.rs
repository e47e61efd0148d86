//! Calendar dates, all relative to a fixed reference date instead of the clock.

use std::fmt;

use crate::rng::Rng;

/// The demo data's "today", 2026-01-01: ages and histories count back from it.
pub(crate) const REFERENCE: Date = Date::new(2026, 1, 1);

/// A day in the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Date {
    /// The year, e.g. 1985.
    pub(crate) year: i32,
    /// The month, 1–12.
    pub(crate) month: u32,
    /// The day of the month, 1–31.
    pub(crate) day: u32,
}

impl Date {
    /// The date `year-month-day`; the caller passes a real date.
    pub(crate) const fn new(year: i32, month: u32, day: u32) -> Self {
        Self { year, month, day }
    }

    /// A uniformly drawn date in `first..=last` (`first` when the range is empty).
    pub(crate) fn between(rng: &mut Rng, first: Date, last: Date) -> Date {
        let span = u32::try_from(last.day_number() - first.day_number()).unwrap_or(0);
        first.plus_days(rng.between(0, span))
    }

    /// This date `days` days later.
    pub(crate) fn plus_days(self, days: u32) -> Date {
        Date::from_day_number(self.day_number() + i64::from(days))
    }

    /// This date `months` months later, on the same day or the last day of a shorter month.
    pub(crate) fn plus_months(self, months: u32) -> Date {
        let offset = i32::try_from(self.month - 1 + months).expect("demo month offsets are small");
        let index = self.year * 12 + offset;
        let (year, month) = (
            index.div_euclid(12),
            index.rem_euclid(12).unsigned_abs() + 1,
        );
        Date::new(year, month, self.day.min(days_in_month(year, month)))
    }

    /// This date `years` years later (28 February for 29 February in a common year).
    pub(crate) fn plus_years(self, years: u32) -> Date {
        self.plus_months(years * 12)
    }

    /// Whole months from `earlier` to this date (0 when `earlier` is later).
    pub(crate) fn months_after(self, earlier: Date) -> u32 {
        let months = (self.year - earlier.year) * 12 + self.month as i32
            - earlier.month as i32
            - i32::from(self.day < earlier.day);
        months.max(0).unsigned_abs()
    }

    /// Whole years between this birth date and [`REFERENCE`].
    pub(crate) fn age(self) -> u32 {
        let birthday_passed = (REFERENCE.month, REFERENCE.day) >= (self.month, self.day);
        let years = REFERENCE.year - self.year - i32::from(!birthday_passed);
        years.max(0).unsigned_abs()
    }

    /// A `dateTime` at `hour:minute` UTC on this date.
    pub(crate) fn at(self, hour: u32, minute: u32) -> String {
        format!("{self}T{hour:02}:{minute:02}:00Z")
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    fn day_number(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year =
            (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The inverse of [`Date::day_number`] (Howard Hinnant's `civil_from_days`).
    fn from_day_number(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        let narrow = |n: i64| u32::try_from(n).expect("day and month are small and positive");
        Date::new(
            i32::try_from(year).expect("demo years fit in i32"),
            narrow(month),
            narrow(day),
        )
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_days_crosses_months_years_and_leap_days() {
        assert_eq!(Date::new(2024, 2, 28).plus_days(1), Date::new(2024, 2, 29));
        assert_eq!(Date::new(2023, 2, 28).plus_days(1), Date::new(2023, 3, 1));
        assert_eq!(Date::new(2025, 12, 31).plus_days(1), REFERENCE);
        assert_eq!(
            Date::new(1970, 1, 1).plus_days(20_454),
            Date::new(2026, 1, 1)
        );
    }

    #[test]
    fn adding_months_keeps_the_day_inside_the_month() {
        assert_eq!(
            Date::new(2024, 1, 31).plus_months(1),
            Date::new(2024, 2, 29)
        );
        assert_eq!(
            Date::new(2023, 11, 15).plus_months(3),
            Date::new(2024, 2, 15)
        );
    }

    #[test]
    fn age_counts_whole_years_to_the_reference_date() {
        assert_eq!(Date::new(1985, 3, 15).age(), 40);
        assert_eq!(Date::new(1986, 1, 1).age(), 40);
    }

    #[test]
    fn dates_print_as_fhir_dates_and_date_times() {
        assert_eq!(Date::new(2025, 3, 4).to_string(), "2025-03-04");
        assert_eq!(Date::new(2025, 3, 4).at(9, 5), "2025-03-04T09:05:00Z");
    }
}
