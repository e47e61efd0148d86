//! Norwegian identity numbers and organisation numbers, with their mod-11 check digits.
//!
//! A fødselsnummer is `DDMMYY III K1 K2`, an organisation number eight digits and `K`
//! (norway.md 1.1–1.2). The numbers made here are synthetic in the Skatteetaten/Tenor
//! style (month + 80), so they can never belong to a real person.

use std::ops::RangeInclusive;

const FNR_K1_WEIGHTS: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const FNR_K2_WEIGHTS: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
const ORGANISATION_WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
const TENOR_MONTH_OFFSET: u32 = 80;
const D_NUMBER_DAY_OFFSET: u32 = 40;

/// `Identifier.system` of a fødselsnummer.
pub(crate) const FNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
/// `Identifier.system` of a D-number.
pub(crate) const D_NUMBER_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.2";
/// `Identifier.system` of an HPR number (health personnel register).
pub(crate) const HPR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.4";
/// `Identifier.system` of an organisation number (Enhetsregisteret).
pub(crate) const ORGANISATION_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.101";

/// A valid synthetic fødselsnummer (Tenor style: month + 80) for a birth date and individual number,
/// or None when the check digits make it unissuable.
///
/// Also None when the date is out of range or the individual number does not encode the
/// birth year's century (000–499 for 1900–1999, 500–999 for 2000–2039, …).
pub fn synthetic_fnr(day: u32, month: u32, year: i32, individual: u32) -> Option<String> {
    identity_number(day, month, year, individual, 0)
}

/// A valid synthetic D-number (day + 40, month + 80), or None as for [`synthetic_fnr`].
pub(crate) fn synthetic_d_number(
    day: u32,
    month: u32,
    year: i32,
    individual: u32,
) -> Option<String> {
    identity_number(day, month, year, individual, D_NUMBER_DAY_OFFSET)
}

/// Whether an 11-digit national identity number has valid mod-11 check digits.
///
/// Only K1 and K2 are checked, so fødselsnummer, D-numbers and synthetic numbers all pass.
pub fn fnr_is_valid(number: &str) -> bool {
    match digits(number) {
        Some(all) if all.len() == 11 => {
            with_fnr_check_digits(&all[..9]).as_deref() == Some(&all[..])
        }
        _ => false,
    }
}

/// A valid organisation number from its first 8 digits, or None when the check digit would be 10.
pub fn organisation_number(first8: u32) -> Option<String> {
    if first8 > 99_999_999 {
        return None;
    }
    let first = digits(&format!("{first8:08}"))?;
    let check = check_digit(&first, &ORGANISATION_WEIGHTS)?;
    Some(format!("{first8:08}{check}"))
}

/// The individual numbers that encode a birth year's century, for the years this data set uses.
pub(crate) fn individual_numbers(year: i32) -> RangeInclusive<u32> {
    if year < 2000 {
        0..=499
    } else {
        500..=999
    }
}

fn identity_number(
    day: u32,
    month: u32,
    year: i32,
    individual: u32,
    day_offset: u32,
) -> Option<String> {
    if !(1..=31).contains(&day) || !(1..=12).contains(&month) || !century_fits(year, individual) {
        return None;
    }
    let (dd, mm, yy) = (
        day + day_offset,
        month + TENOR_MONTH_OFFSET,
        year.rem_euclid(100),
    );
    let first9 = digits(&format!("{dd:02}{mm:02}{yy:02}{individual:03}"))?;
    let all = with_fnr_check_digits(&first9)?;
    Some(all.iter().map(u32::to_string).collect())
}

/// Whether `individual` tells readers of the number that its holder was born in `year`'s century.
fn century_fits(year: i32, individual: u32) -> bool {
    match year {
        1854..=1899 => (500..=749).contains(&individual),
        1900..=1939 => individual <= 499,
        1940..=1999 => individual <= 499 || (900..=999).contains(&individual),
        2000..=2039 => (500..=999).contains(&individual),
        _ => false,
    }
}

/// The nine leading digits followed by K1 and K2, or None when either would be 10.
fn with_fnr_check_digits(first9: &[u32]) -> Option<Vec<u32>> {
    let mut all = first9.to_vec();
    all.push(check_digit(&all, &FNR_K1_WEIGHTS)?);
    all.push(check_digit(&all, &FNR_K2_WEIGHTS)?);
    Some(all)
}

/// `11 − (Σ dᵢ·wᵢ mod 11)`, where 11 becomes 0 and 10 cannot be issued.
fn check_digit(digits: &[u32], weights: &[u32]) -> Option<u32> {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

fn digits(number: &str) -> Option<Vec<u32>> {
    number.chars().map(|c| c.to_digit(10)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_man_born_1985_gets_15838512329() {
        assert_eq!(
            synthetic_fnr(15, 3, 1985, 123).as_deref(),
            Some("15838512329")
        );
    }

    #[test]
    fn individual_number_124_on_the_worked_example_date_is_unissuable() {
        assert_eq!(synthetic_fnr(15, 3, 1985, 124), None);
    }

    #[test]
    fn girl_born_2015_gets_07861551223() {
        assert_eq!(
            synthetic_fnr(7, 6, 2015, 512).as_deref(),
            Some("07861551223")
        );
    }

    #[test]
    fn synthetic_d_number_adds_40_to_the_day() {
        assert_eq!(
            synthetic_d_number(15, 3, 1985, 123).as_deref(),
            Some("55838512312")
        );
    }

    #[test]
    fn fixtures_from_the_brief_have_valid_check_digits() {
        for number in ["15838512329", "55838512312", "07861551223"] {
            assert!(fnr_is_valid(number), "{number}");
        }
    }

    #[test]
    fn example_numbers_printed_in_profiles_are_invalid() {
        for number in ["13057444850", "05076600324"] {
            assert!(!fnr_is_valid(number), "{number}");
        }
    }

    #[test]
    fn numbers_of_the_wrong_length_or_with_letters_are_invalid() {
        for number in [
            "",
            "1583851232",
            "158385123290",
            "1583851232x",
            "+5838512329",
        ] {
            assert!(!fnr_is_valid(number), "{number}");
        }
    }

    #[test]
    fn individual_number_outside_the_birth_century_is_refused() {
        assert_eq!(synthetic_fnr(15, 3, 1985, 600), None);
        assert_eq!(synthetic_fnr(7, 6, 2015, 123), None);
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert_eq!(synthetic_fnr(0, 3, 1985, 123), None);
        assert_eq!(synthetic_fnr(55, 3, 1985, 123), None);
        assert_eq!(synthetic_fnr(15, 13, 1985, 123), None);
    }

    #[test]
    fn organisation_number_12345678_gets_check_digit_5() {
        assert_eq!(organisation_number(12345678).as_deref(), Some("123456785"));
    }

    #[test]
    fn organisation_number_with_check_digit_10_is_none() {
        assert_eq!(organisation_number(12345670), None);
    }

    #[test]
    fn organisation_number_needs_eight_digits() {
        assert_eq!(organisation_number(123456789), None);
    }
}
