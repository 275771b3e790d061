//! A household's timelines: its assessments on the needs scale (every one
//! kept) and its case notes (服务记录).

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::assessment::{self, Scores};
use crate::db::schema::{assessments, case_notes};
use crate::db::{change_log, DbConnection};
use crate::domain::vocabulary::NOTE_KINDS;
use crate::error::{AppError, FieldError};

const MAX_NOTE: usize = 5_000;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = assessments)]
pub struct AssessmentRow {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub household_id: i64,
    pub assessed_on: NaiveDate,
    /// `{dimension: 0–4}` (JSON text).
    #[serde(skip)]
    pub scores: String,
    pub total: i64,
    pub priority: bool,
    pub risk: String,
    pub suggested_type: String,
    pub service_type: String,
    pub note: String,
    pub created_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
}

impl AssessmentRow {
    pub fn scores(&self) -> Value {
        serde_json::from_str(&self.scores).unwrap_or(Value::Null)
    }

    /// The row as the API shows it (scores as an object, the dimensions
    /// that suggest needs).
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        v["id"] = Value::from(self.id);
        v["scores"] = self.scores();
        if let Ok(s) = Scores::parse(&self.scores(), "scores") {
            v["suggested_needs"] = Value::from(s.suggested_needs());
            v["suggested_risk"] = Value::from(s.suggested_risk());
        }
        v
    }
}

/// An assessment as submitted: scores, and the adviser's choices (absent:
/// the suggestions are taken).
pub struct AssessmentInput {
    pub assessed_on: NaiveDate,
    pub scores: Scores,
    pub risk: String,
    pub service_type: String,
    pub note: String,
}

pub fn parse_assessment(
    body: &Value,
    today: NaiveDate,
) -> Result<AssessmentInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let scores = match Scores::parse(body.get("scores").unwrap_or(&Value::Null), "scores") {
        Ok(s) => Some(s),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let assessed_on = match text("assessed_on") {
        None => today,
        Some(s) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) if d <= today => d,
            Ok(_) => {
                errors.push(FieldError::new(
                    "assessed_on",
                    "评估日期不能晚于今天 (assessed_on is in the future)",
                ));
                today
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "assessed_on",
                    "评估日期须为 YYYY-MM-DD (assessed_on must be a date)",
                ));
                today
            }
        },
    };
    let risk = text("risk").map(str::to_string);
    if let Some(r) = &risk {
        if let Err(e) = assessment::check_risk(r) {
            errors.push(e);
        }
    }
    let service_type = text("service_type").map(str::to_string);
    if let Some(t) = &service_type {
        if let Err(e) = assessment::check_service_type(t) {
            errors.push(e);
        }
    }
    let note = text("note").unwrap_or_default().to_string();
    if note.chars().count() > MAX_NOTE {
        errors.push(FieldError::new(
            "note",
            format!("说明不能超过 {MAX_NOTE} 字 (note is too long)"),
        ));
    }
    match scores {
        Some(scores) if errors.is_empty() => {
            let risk = risk.unwrap_or_else(|| scores.suggested_risk().to_string());
            let service_type =
                service_type.unwrap_or_else(|| scores.suggested_service_type(&risk).to_string());
            Ok(AssessmentInput {
                assessed_on,
                scores,
                risk,
                service_type,
                note,
            })
        }
        _ => Err(errors),
    }
}

pub fn add_assessment(
    conn: &mut DbConnection,
    household_id: i64,
    household_ref: &str,
    input: &AssessmentInput,
    actor: &str,
) -> Result<AssessmentRow, AppError> {
    conn.transaction(|conn| {
        let row = diesel::insert_into(assessments::table)
            .values((
                assessments::household_id.eq(household_id),
                assessments::assessed_on.eq(input.assessed_on),
                assessments::scores.eq(input.scores.to_json().to_string()),
                assessments::total.eq(i64::from(input.scores.total())),
                assessments::priority.eq(input.scores.priority()),
                assessments::risk.eq(&input.risk),
                assessments::suggested_type.eq(input.scores.suggested_service_type(&input.risk)),
                assessments::service_type.eq(&input.service_type),
                assessments::note.eq(&input.note),
                assessments::created_by.eq(actor),
                assessments::created_at.eq(Utc::now().naive_utc()),
            ))
            .returning(assessments::id)
            .get_result::<i64>(conn)?;
        change_log::append(conn, "household", household_ref, "assess")?;
        Ok(assessments::table
            .find(row)
            .select(AssessmentRow::as_select())
            .first(conn)?)
    })
}

/// Newest first.
pub fn assessments_of(
    conn: &mut DbConnection,
    household_id: i64,
) -> Result<Vec<AssessmentRow>, AppError> {
    Ok(assessments::table
        .filter(assessments::household_id.eq(household_id))
        .order((assessments::assessed_on.desc(), assessments::id.desc()))
        .select(AssessmentRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = case_notes)]
pub struct NoteRow {
    pub id: i64,
    #[serde(skip)]
    pub household_id: i64,
    pub noted_on: NaiveDate,
    pub kind: String,
    #[serde(rename = "text")]
    pub body: String,
    pub created_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
}

pub fn parse_note(
    body: &Value,
    today: NaiveDate,
) -> Result<(NaiveDate, String, String), Vec<FieldError>> {
    let mut errors = Vec::new();
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
    };
    let kind = text("kind");
    if !NOTE_KINDS.iter().any(|(c, _)| *c == kind) {
        errors.push(FieldError::new(
            "kind",
            format!(
                "记录类型须为：{} (kind is one of these codes)",
                crate::domain::vocabulary::codes(NOTE_KINDS)
            ),
        ));
    }
    let note = text("text");
    if note.is_empty() {
        errors.push(FieldError::new("text", "请填写记录内容 (text is required)"));
    } else if note.chars().count() > MAX_NOTE {
        errors.push(FieldError::new(
            "text",
            format!("记录不能超过 {MAX_NOTE} 字 (text is too long)"),
        ));
    }
    let noted_on = match text("noted_on") {
        "" => today,
        s => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) if d <= today => d,
            Ok(_) => {
                errors.push(FieldError::new(
                    "noted_on",
                    "日期不能晚于今天 (noted_on is in the future)",
                ));
                today
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "noted_on",
                    "日期须为 YYYY-MM-DD (noted_on must be a date)",
                ));
                today
            }
        },
    };
    if errors.is_empty() {
        Ok((noted_on, kind.to_string(), note.to_string()))
    } else {
        Err(errors)
    }
}

pub fn add_note(
    conn: &mut DbConnection,
    household_id: i64,
    noted_on: NaiveDate,
    kind: &str,
    text: &str,
    actor: &str,
) -> Result<NoteRow, AppError> {
    let id: i64 = diesel::insert_into(case_notes::table)
        .values((
            case_notes::household_id.eq(household_id),
            case_notes::noted_on.eq(noted_on),
            case_notes::kind.eq(kind),
            case_notes::body.eq(text),
            case_notes::created_by.eq(actor),
            case_notes::created_at.eq(Utc::now().naive_utc()),
        ))
        .returning(case_notes::id)
        .get_result(conn)?;
    Ok(case_notes::table
        .find(id)
        .select(NoteRow::as_select())
        .first(conn)?)
}

/// Newest first.
pub fn notes_of(conn: &mut DbConnection, household_id: i64) -> Result<Vec<NoteRow>, AppError> {
    Ok(case_notes::table
        .filter(case_notes::household_id.eq(household_id))
        .order((case_notes::noted_on.desc(), case_notes::id.desc()))
        .select(NoteRow::as_select())
        .load(conn)?)
}
