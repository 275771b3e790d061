//! Telephone numbers: mainland mobile numbers (11 digits, 13x–19x) and
//! landlines with an area code (021-59701234).

/// The number in a standard form (mobile: 11 digits; landline: area code,
/// hyphen, number), or a message for the form.
pub fn normalise(input: &str) -> Result<String, String> {
    let compact: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let compact = compact.strip_prefix("+86").unwrap_or(&compact).to_string();
    let digits = compact.chars().all(|c| c.is_ascii_digit());
    if digits
        && compact.len() == 11
        && compact.starts_with('1')
        && matches!(compact.as_bytes()[1], b'3'..=b'9')
    {
        return Ok(compact);
    }
    if digits && compact.starts_with('0') && (10..=12).contains(&compact.len()) {
        // Three-digit area codes for the big cities (010, 02x), four otherwise.
        let area = if compact.starts_with("01") || compact.starts_with("02") {
            3
        } else {
            4
        };
        return Ok(format!("{}-{}", &compact[..area], &compact[area..]));
    }
    Err("电话号码须为 11 位手机号（如 13812345678）或带区号的固定电话（如 021-59701234） / a phone number is an 11-digit mobile number or a landline with its area code".into())
}

/// Whether `input` is a mobile number.
pub fn is_mobile(input: &str) -> bool {
    normalise(input).is_ok_and(|n| !n.contains('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_and_landline_numbers() {
        assert_eq!(normalise("138 1234 5678").unwrap(), "13812345678");
        assert_eq!(normalise("+86-13812345678").unwrap(), "13812345678");
        assert_eq!(normalise("021-59701234").unwrap(), "021-59701234");
        assert_eq!(normalise("051258123456").unwrap(), "0512-58123456");
        assert!(is_mobile("13812345678"));
        assert!(!is_mobile("021-59701234"));
        for bad in ["12812345678", "1381234567", "abc", "", "138123456789"] {
            assert!(normalise(bad).is_err(), "{bad}");
        }
    }
}
