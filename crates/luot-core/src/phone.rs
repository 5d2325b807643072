//! A Vietnamese mobile number, as a citizen taking a number from home gives it: kept so the kiosk
//! can check the ticket in by its last four digits and the center's SMS gateway can reach them.

/// A mobile number in its one stored form: ten digits starting with 0 (`0912345678`).
pub const PHONE_DIGITS: usize = 10;

/// The stored form of what a citizen typed: spaces, dots and dashes are dropped, and `+84` or
/// `84` in front of nine digits becomes `0`. `None` for anything that is not a Vietnamese mobile
/// number (mobile numbers start with 03, 05, 07, 08 or 09).
pub fn normalize_phone(typed: &str) -> Option<String> {
    if typed.len() > 32 {
        return None;
    }
    let kept: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let digits = match kept.strip_prefix('+') {
        Some(rest) => rest.strip_prefix("84").map(|r| format!("0{r}"))?,
        None if kept.len() == 11 && kept.starts_with("84") => format!("0{}", &kept[2..]),
        None => kept,
    };
    is_phone(&digits).then_some(digits)
}

/// Whether `s` is already in the stored form.
pub fn is_phone(s: &str) -> bool {
    s.len() == PHONE_DIGITS
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.starts_with('0')
        && matches!(s.as_bytes()[1], b'3' | b'5' | b'7' | b'8' | b'9')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_forms_of_one_number_are_one_number() {
        for typed in [
            "0912345678",
            "0912 345 678",
            "091.234.5678",
            "+84912345678",
            "+84 912-345-678",
            "84912345678",
        ] {
            assert_eq!(
                normalize_phone(typed).as_deref(),
                Some("0912345678"),
                "{typed}"
            );
        }
    }

    #[test]
    fn what_is_not_a_mobile_number_is_refused() {
        for typed in [
            "",
            "091234567",
            "09123456789",
            "0212345678",
            "1912345678",
            "+1 912345678",
            "09123a5678",
            "０９１２３４５６７８",
            "0912|345678",
        ] {
            assert_eq!(normalize_phone(typed), None, "{typed:?}");
        }
    }
}
