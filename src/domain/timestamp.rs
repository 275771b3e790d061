//! Timestamps on the wire. The database keeps UTC as naive date-times;
//! the API sends them as RFC 3339 with the `Z` offset
//! (`2026-11-23T19:48:07.238834Z`), which is what OpenAPI's `date-time`
//! means, and reads them back with or without an offset.

use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Deserializer, Serializer};

fn text(t: &NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse(s: &str) -> Result<NaiveDateTime, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.naive_utc())
        .or_else(|_| s.parse::<NaiveDateTime>())
        .map_err(|e| format!("时间格式无效 (invalid timestamp) {s:?}: {e}"))
}

pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&text(t))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(serde::de::Error::custom)
}

/// The same for optional timestamps (`null` when absent).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&text(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| parse(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super")]
        at: chrono::NaiveDateTime,
        #[serde(with = "super::option")]
        maybe: Option<chrono::NaiveDateTime>,
    }

    #[test]
    fn utc_with_an_offset_and_back() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_micro_opt(19, 48, 7, 238_834)
            .unwrap();
        let t = T { at, maybe: None };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"at":"2026-11-23T19:48:07.238834Z","maybe":null}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
        let naive: T = serde_json::from_str(
            r#"{"at":"2026-11-23T19:48:07.238834","maybe":"2026-11-23T20:48:07+01:00"}"#,
        )
        .unwrap();
        assert_eq!(naive.at, at);
        assert_eq!(naive.maybe.unwrap().format("%H:%M").to_string(), "19:48");
    }
}
