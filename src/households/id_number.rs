//! Resident identity card numbers (GB 11643-1999): 6-digit address code,
//! birth date, 3-digit sequence (odd for men, even for women) and an ISO
//! 7064 MOD 11-2 check character.

use chrono::NaiveDate;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// A valid identity number, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber {
    pub number: String,
    pub birth_date: NaiveDate,
    /// `M` or `F`, from the sequence number's parity.
    pub sex: &'static str,
}

/// Why a string is not a valid identity number (the message is shown next
/// to the field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdNumberError {
    Shape,
    BirthDate,
    CheckDigit { expected: char },
}

impl std::fmt::Display for IdNumberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdNumberError::Shape => f.write_str(
                "身份证号须为 18 位：17 位数字加一位数字或 X / an ID number has 17 digits and a final digit or X",
            ),
            IdNumberError::BirthDate => f.write_str(
                "身份证号中的出生日期无效 / the birth date inside the ID number is not a real date",
            ),
            IdNumberError::CheckDigit { .. } => f.write_str(
                "身份证号校验位不正确，请核对是否抄错 / the ID number's check digit is wrong (a digit was mistyped)",
            ),
        }
    }
}

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] as char
}

pub fn parse(input: &str) -> Result<IdNumber, IdNumberError> {
    let number = input.trim().to_ascii_uppercase();
    let bytes = number.as_bytes();
    if bytes.len() != 18
        || !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
    {
        return Err(IdNumberError::Shape);
    }
    let birth_date = NaiveDate::parse_from_str(&number[6..14], "%Y%m%d")
        .ok()
        .filter(|d| *d >= NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or_default())
        .ok_or(IdNumberError::BirthDate)?;
    let expected = check_char(&bytes[..17]);
    if bytes[17] as char != expected {
        return Err(IdNumberError::CheckDigit { expected });
    }
    let sex = if (bytes[16] - b'0') % 2 == 1 {
        "M"
    } else {
        "F"
    };
    Ok(IdNumber {
        number,
        birth_date,
        sex,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completes 17 digits with their check character.
    fn with_check(first17: &str) -> String {
        format!("{first17}{}", check_char(first17.as_bytes()))
    }

    #[test]
    fn accepts_valid_numbers_and_reads_them() {
        // The standard's own example.
        let id = parse("11010519491231002X").unwrap();
        assert_eq!(
            id.birth_date,
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.sex, "F");
        let id = parse(&with_check("31010419500302123").to_lowercase()).unwrap();
        assert_eq!(id.sex, "M");
        assert_eq!(id.birth_date, NaiveDate::from_ymd_opt(1950, 3, 2).unwrap());
        assert_eq!(
            parse(" 11010519491231002x ").unwrap().number,
            "11010519491231002X"
        );
    }

    #[test]
    fn rejects_bad_numbers_with_the_reason() {
        assert_eq!(parse("11010519491231002"), Err(IdNumberError::Shape));
        assert_eq!(parse("1101051949123100XX"), Err(IdNumberError::Shape));
        assert_eq!(
            parse("110105194912310021"),
            Err(IdNumberError::CheckDigit { expected: 'X' })
        );
        assert_eq!(
            parse(&with_check("31010419500231123")),
            Err(IdNumberError::BirthDate)
        );
    }
}
