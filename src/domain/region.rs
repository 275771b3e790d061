//! Region codes (SPEC "Region codes"): `310118`, `310118-003`, `310118-003-012`.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

static REGION_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9]{6}(-[0-9]{3}(-[0-9]{3})?)?$").expect("valid regex"));

/// A well-formed region code. Its only constructor checks the format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(s: &str) -> Result<RegionCode, String> {
        let s = s.trim();
        if REGION_RE.is_match(s) {
            Ok(RegionCode(s.to_string()))
        } else {
            Err(format!(
                "地区代码格式应为 6 位行政区划代码，可加 -3 位街道和 -3 位社区，如 310118-003-012 (got \"{s}\")"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix this code covers as a scope: in a bare 6-digit division code
    /// trailing `00` pairs are open levels and are dropped (`310000` -> `31`).
    pub fn scope_prefix(&self) -> &str {
        if self.0.len() != 6 {
            return &self.0;
        }
        let mut end = 6;
        while end >= 2 && &self.0[end - 2..end] == "00" {
            end -= 2;
        }
        &self.0[..end]
    }

    /// Whether a resource (or staff account) scoped to `self` applies to `region`.
    pub fn covers(&self, region: &str) -> bool {
        region.starts_with(self.scope_prefix())
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_levels_and_rejects_others() {
        for ok in ["310118", "310118-003", "310118-003-012"] {
            assert!(RegionCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "３１００００",
            "",
            "31011",
            "310118-03",
            "310118-003-12",
            "31011a",
            "310118-003-012-001",
        ] {
            assert!(RegionCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scope_drops_open_levels() {
        let city = RegionCode::parse("310000").unwrap();
        assert_eq!(city.scope_prefix(), "31");
        assert!(city.covers("310118-003-012"));
        assert_eq!(RegionCode::parse("310100").unwrap().scope_prefix(), "3101");
        let district = RegionCode::parse("310118").unwrap();
        assert!(!district.covers("310104-001"));
        assert!(district.covers("310118-003"));
        let street = RegionCode::parse("310118-003").unwrap();
        assert!(street.covers("310118-003-012"));
        assert!(!street.covers("310118-004-012"));
    }
}
