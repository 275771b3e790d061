//! The needs-assessment form: each of the 12 dimensions scored 0–4; "计算"
//! shows the total (0–100), the priority flag and the suggested risk level
//! and service type, which the adviser keeps or overrides before saving.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde_json::{json, Map, Value};

use super::{today, STAFF};
use crate::auth::{csrf, Identity};
use crate::domain::vocabulary::{DIMENSIONS, RISK_LEVELS, SERVICE_TYPES};
use crate::error::AppError;
use crate::households::access;
use crate::households::assessment::{Scores, MAX_SCORE, PRIORITY_ABOVE, SCORE_LABELS};
use crate::households::history;
use crate::state::AppState;
use crate::web::form::{FieldErrors, FormData};
use crate::web::session::MaybeWebUser;
use crate::web::{redirect, render, render_with, require_role, PageCtx, PageError};

/// What the scores add up to, shown after "计算".
pub struct Outcome {
    pub total: u32,
    pub priority: bool,
    pub risk: &'static str,
    pub service_type: &'static str,
    pub needs: Vec<&'static str>,
}

pub struct DimensionRow {
    pub code: &'static str,
    pub label: &'static str,
    /// The score as typed (empty: not scored).
    pub score: String,
}

#[derive(Template)]
#[template(path = "households/assess.html")]
struct AssessPage {
    ctx: PageCtx,
    ref_code: String,
    head_name: String,
    rows: Vec<DimensionRow>,
    assessed_on: String,
    note: String,
    risk: String,
    service_type: String,
    outcome: Option<Outcome>,
    errors: FieldErrors,
    score_labels: [&'static str; 5],
    levels: Vec<u8>,
    risks: &'static [(&'static str, &'static str)],
    service_types: &'static [(&'static str, &'static str)],
    priority_above: u32,
    /// The highest possible sum of scores.
    max_points: u32,
    /// Whether the scores were taken from the last assessment.
    from_last: bool,
}

struct Typed {
    scores: BTreeMap<String, String>,
    assessed_on: String,
    note: String,
    risk: String,
    service_type: String,
}

impl Typed {
    fn from_form(f: &FormData) -> Typed {
        Typed {
            scores: DIMENSIONS
                .iter()
                .map(|(code, _)| (code.to_string(), f.get(&format!("score_{code}"))))
                .collect(),
            assessed_on: f.get("assessed_on"),
            note: f.get("note"),
            risk: f.get("risk"),
            service_type: f.get("service_type"),
        }
    }

    /// The API's document for these values (empty choices: the suggestions).
    fn to_json(&self) -> Value {
        let mut scores = Map::new();
        for (code, typed) in &self.scores {
            if typed.is_empty() {
                continue;
            }
            let v = typed
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or(json!(typed));
            scores.insert(code.clone(), v);
        }
        let opt = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
        json!({
            "scores": scores,
            "assessed_on": opt(&self.assessed_on),
            "note": self.note,
            "risk": opt(&self.risk),
            "service_type": opt(&self.service_type),
        })
    }
}

fn page(
    req: &HttpRequest,
    who: Identity,
    (ref_code, head_name): (String, String),
    typed: Typed,
    outcome: Option<Outcome>,
    errors: FieldErrors,
    from_last: bool,
) -> AssessPage {
    AssessPage {
        ctx: PageCtx::new(req, Some(who)),
        ref_code,
        head_name,
        rows: DIMENSIONS
            .iter()
            .map(|(code, label)| DimensionRow {
                code,
                label,
                score: typed.scores.get(*code).cloned().unwrap_or_default(),
            })
            .collect(),
        assessed_on: typed.assessed_on,
        note: typed.note,
        risk: typed.risk,
        service_type: typed.service_type,
        outcome,
        errors,
        score_labels: SCORE_LABELS,
        levels: (0..=MAX_SCORE).collect(),
        risks: RISK_LEVELS,
        service_types: SERVICE_TYPES,
        priority_above: PRIORITY_ABOVE,
        max_points: u32::from(MAX_SCORE) * DIMENSIONS.len() as u32,
        from_last,
    }
}

/// The household (visible, with consent): its ref and name, and the scores
/// of its last assessment.
async fn household(
    state: &web::Data<AppState>,
    who: &Identity,
    ref_code: String,
) -> Result<((String, String), Option<Value>), PageError> {
    let who = who.clone();
    Ok(state
        .db(move |conn| {
            let h = access::visible_household(conn, &who, &ref_code)?;
            access::require_consent(&h)?;
            let last = history::assessments_of(conn, h.row.id)?
                .first()
                .map(|a| a.scores());
            Ok(((h.row.ref_code, h.row.head_name), last))
        })
        .await?)
}

pub async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let (names, last) = household(&state, &who, path.into_inner()).await?;
    let scores = DIMENSIONS
        .iter()
        .map(|(code, _)| {
            let s = last
                .as_ref()
                .and_then(|l| l.get(*code))
                .and_then(Value::as_u64)
                .map(|s| s.to_string())
                .unwrap_or_else(|| "0".into());
            (code.to_string(), s)
        })
        .collect();
    let typed = Typed {
        scores,
        assessed_on: today().to_string(),
        note: String::new(),
        risk: String::new(),
        service_type: String::new(),
    };
    render(&page(
        &req,
        who,
        names,
        typed,
        None,
        FieldErrors::default(),
        last.is_some(),
    ))
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let (names, _) = household(&state, &who, path.into_inner()).await?;
    let typed = Typed::from_form(&data);
    let preview = data.get("step") == "preview";
    let parsed = history::parse_assessment(&typed.to_json(), today());
    let input = match parsed {
        Err(list) => {
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(
                    &req,
                    who,
                    names,
                    typed,
                    None,
                    FieldErrors::exact(&list),
                    false,
                ),
            )
        }
        Ok(input) => input,
    };
    if preview {
        let scores: &Scores = &input.scores;
        let outcome = Outcome {
            total: scores.total(),
            priority: scores.priority(),
            risk: scores.suggested_risk(),
            service_type: scores.suggested_service_type(if typed.risk.is_empty() {
                scores.suggested_risk()
            } else {
                &typed.risk
            }),
            needs: scores.suggested_needs(),
        };
        return render(&page(
            &req,
            who,
            names,
            typed,
            Some(outcome),
            FieldErrors::default(),
            false,
        ));
    }
    let actor = who.clone();
    let ref_code = names.0.clone();
    state
        .db(move |conn| {
            let h = access::visible_household(conn, &actor, &ref_code)?;
            access::require_consent(&h)?;
            history::add_assessment(conn, h.row.id, &h.row.ref_code, &input, &actor.username)
        })
        .await
        .map_err(|e: AppError| PageError::from(e))?;
    Ok(redirect(&format!(
        "/households/{}?done=assessed#assessment",
        names.0
    )))
}
