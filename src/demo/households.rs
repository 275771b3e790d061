//! The demo households (`households.json`): realistic records with members,
//! assessments, needs and case notes, dated relative to today so that the
//! work queue always has visits due, overdue and done.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::db::DbConnection;
use crate::error::AppError;
use crate::households::validation::validate_household;
use crate::households::{history, needs, repository};
use crate::privacy::DataCipher;

const HOUSEHOLDS: &str = include_str!("households.json");

/// Keys of the demo file that are not part of the household document.
const EXTRA: &[&str] = &[
    "adviser",
    "identified_days_ago",
    "assessments",
    "needs",
    "notes",
];

fn bad(r: &str, what: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("demo household {r}: {what}"))
}

fn days_ago(today: NaiveDate, v: &Value) -> String {
    (today - Duration::days(v.as_i64().unwrap_or(0))).to_string()
}

/// Writes the demo households that are not there yet; returns how many
/// were written.
pub fn load(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    today: NaiveDate,
) -> Result<usize, AppError> {
    let all: Vec<Value> = serde_json::from_str(HOUSEHOLDS).map_err(|e| bad("file", e))?;
    let mut written = 0;
    for item in &all {
        let r = item["ref"].as_str().unwrap_or_default().to_string();
        if repository::exists(conn, &r)? {
            continue;
        }
        let mut doc = item.clone();
        if let Value::Object(obj) = &mut doc {
            for key in EXTRA {
                obj.remove(*key);
            }
            obj.insert(
                "identified_on".into(),
                Value::String(days_ago(today, &item["identified_days_ago"])),
            );
        }
        let input = validate_household(&doc, today).map_err(|e| bad(&r, format!("{e:?}")))?;
        let h = repository::create(
            conn,
            cipher,
            &input,
            item["adviser"].as_str(),
            "demo",
            today,
        )?;
        for a in item["assessments"].as_array().into_iter().flatten() {
            let body = json!({
                "assessed_on": days_ago(today, &a["days_ago"]),
                "scores": a["scores"],
                "risk": a["risk"],
                "service_type": a["service_type"],
                "note": a["note"],
            });
            let input =
                history::parse_assessment(&body, today).map_err(|e| bad(&r, format!("{e:?}")))?;
            history::add_assessment(conn, h.row.id, &r, &input, "demo")?;
        }
        for n in item["needs"].as_array().into_iter().flatten() {
            let mut body = n.clone();
            body["household_ref"] = Value::String(r.clone());
            let input = needs::parse_need(&body).map_err(|e| bad(&r, format!("{e:?}")))?;
            needs::create(conn, h.row.id, &input, None, "demo")?;
        }
        for note in item["notes"].as_array().into_iter().flatten() {
            let body = json!({
                "noted_on": days_ago(today, &note["days_ago"]),
                "kind": note["kind"],
                "text": note["text"],
            });
            let (on, kind, text) =
                history::parse_note(&body, today).map_err(|e| bad(&r, format!("{e:?}")))?;
            history::add_note(conn, h.row.id, on, &kind, &text, "demo")?;
        }
        written += 1;
    }
    Ok(written)
}
