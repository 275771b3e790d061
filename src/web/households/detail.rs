//! One household's page: its facts and members with personal data masked
//! (the adviser can reveal one value, audited), the latest assessment and
//! its trend, the need list with the needs the assessment suggests, the
//! deadlines, and the case-note timeline with a form to add a note.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use serde_json::json;

use super::{today, STAFF};
use crate::auth::{csrf, Identity, Role};
use crate::db::DbConnection;
use crate::domain::vocabulary::{DIMENSIONS, NOTE_KINDS};
use crate::error::AppError;
use crate::households::access;
use crate::households::assessment::{Scores, SCORE_LABELS};
use crate::households::deadlines::{self, Due};
use crate::households::history::{self, AssessmentRow, NoteRow};
use crate::households::needs::{self, NeedDoc, NeedQuery};
use crate::households::repository::{self, Household, Scope};
use crate::households::validation::Profile;
use crate::households::view::{self, RevealField};
use crate::matching::alerts::{self, AlertQuery, AlertView};
use crate::privacy::{audit, mask, DataCipher};
use crate::state::AppState;
use crate::web::form::FormData;
use crate::web::session::MaybeWebUser;
use crate::web::{render_with, require_role, PageCtx, PageError};

pub struct MemberView {
    pub name: String,
    pub relation: String,
    pub sex: String,
    pub birth_date: String,
    pub age: Option<u32>,
    pub id_masked: String,
    pub phone_masked: String,
    pub disability_grade: i64,
    pub disability_type: String,
    pub health: Vec<String>,
    pub employment: String,
    pub student_stage: String,
    pub income_monthly: Option<f64>,
}

/// One dimension of the latest assessment.
pub struct ScoreLine {
    pub label: &'static str,
    pub score: u8,
    pub score_label: &'static str,
}

/// A value shown unmasked on this response only.
pub struct Revealed {
    pub field: String,
    pub member: Option<usize>,
    pub value: String,
}

impl Revealed {
    /// Whether this is the household's `field`.
    pub fn is(&self, field: &str) -> bool {
        self.field == field && self.member.is_none()
    }

    /// Whether this is member `index`'s `field`.
    pub fn is_member(&self, field: &str, index: impl ToString) -> bool {
        self.field == field && self.member.map(|m| m.to_string()) == Some(index.to_string())
    }
}

/// The trend of assessment totals, as an SVG polyline.
pub struct Trend {
    pub points: String,
    pub dots: Vec<(u32, u32, i64, String)>,
    pub width: u32,
    pub height: u32,
    /// y of the priority line (total 70).
    pub line_70: u32,
}

pub struct NoteForm {
    pub noted_on: String,
    pub kind: String,
    pub text: String,
    pub errors: crate::web::form::FieldErrors,
}

#[derive(Template)]
#[template(path = "households/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    h: Household,
    profile: Profile,
    address_masked: String,
    contact_phone_masked: String,
    members: Vec<MemberView>,
    revealed: Option<Revealed>,
    can_reveal: bool,
    assessments: Vec<AssessmentRow>,
    scores: Vec<ScoreLine>,
    trend: Option<Trend>,
    needs: Vec<NeedDoc>,
    suggested: Vec<(&'static str, &'static str)>,
    notes: Vec<NoteRow>,
    first_visit: Option<Due>,
    follow_up: Option<Due>,
    note_form: NoteForm,
    note_kinds: &'static [(&'static str, &'static str)],
    is_admin: bool,
    alerts: Vec<AlertView>,
}

fn masked(
    cipher: &DataCipher,
    purpose: &str,
    sealed: &Option<String>,
    f: fn(&str) -> String,
) -> Result<String, AppError> {
    Ok(match sealed {
        Some(s) => f(&cipher.decrypt(purpose, s)?),
        None => String::new(),
    })
}

fn trend(assessments: &[AssessmentRow]) -> Option<Trend> {
    if assessments.len() < 2 {
        return None;
    }
    let (width, height, pad) = (320u32, 100u32, 10u32);
    // Oldest first, left to right.
    let list: Vec<&AssessmentRow> = assessments.iter().rev().collect();
    let step = (width - 2 * pad) / (list.len() as u32 - 1).max(1);
    let y = |total: i64| pad + (height - 2 * pad) * (100 - total.clamp(0, 100) as u32) / 100;
    let dots: Vec<(u32, u32, i64, String)> = list
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                pad + step * i as u32,
                y(a.total),
                a.total,
                a.assessed_on.to_string(),
            )
        })
        .collect();
    Some(Trend {
        points: dots
            .iter()
            .map(|(x, y, _, _)| format!("{x},{y}"))
            .collect::<Vec<_>>()
            .join(" "),
        dots,
        width,
        height,
        line_70: y(70),
    })
}

/// Everything the page shows (the caller has checked visibility).
struct Loaded {
    h: Household,
    alerts: Vec<AlertView>,
    assessments: Vec<AssessmentRow>,
    needs: Vec<NeedDoc>,
    notes: Vec<NoteRow>,
}

fn load(conn: &mut DbConnection, who: &Identity, ref_code: &str) -> Result<Loaded, AppError> {
    let h = access::visible_household(conn, who, ref_code)?;
    let assessments = history::assessments_of(conn, h.row.id)?;
    let notes = history::notes_of(conn, h.row.id)?;
    let (needs, _) = needs::list(
        conn,
        &Scope::All,
        &NeedQuery {
            household_ref: Some(h.row.ref_code.clone()),
            page: 1,
            per_page: 200,
            ..Default::default()
        },
    )?;
    let alerts = alerts::list(
        conn,
        &Scope::All,
        &AlertQuery {
            household_id: Some(h.row.id),
            limit: 100,
            ..Default::default()
        },
    )?;
    Ok(Loaded {
        h,
        alerts,
        assessments,
        needs,
        notes,
    })
}

fn page(
    req: &HttpRequest,
    who: Identity,
    cipher: &DataCipher,
    loaded: Loaded,
    revealed: Option<Revealed>,
    note_form: NoteForm,
    today: NaiveDate,
) -> Result<DetailPage, AppError> {
    let Loaded {
        h,
        alerts,
        assessments,
        needs,
        notes,
    } = loaded;
    let members = h
        .members
        .iter()
        .map(|m| {
            Ok(MemberView {
                name: m.name.clone(),
                relation: m.relation.clone(),
                sex: m.sex.clone().unwrap_or_default(),
                birth_date: m.birth_date.map(|d| d.to_string()).unwrap_or_default(),
                age: m.birth_date.and_then(|b| view::age(b, today)),
                id_masked: masked(
                    cipher,
                    repository::ID_NUMBER,
                    &m.id_number_enc,
                    mask::id_number,
                )?,
                phone_masked: masked(cipher, repository::MEMBER_PHONE, &m.phone_enc, mask::phone)?,
                disability_grade: m.disability_grade,
                disability_type: m.disability_type.clone().unwrap_or_default(),
                health: m.health(),
                employment: m.employment.clone().unwrap_or_default(),
                student_stage: m.student_stage.clone().unwrap_or_default(),
                income_monthly: m.income_monthly,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let latest_scores = assessments
        .first()
        .and_then(|a| Scores::parse(&a.scores(), "scores").ok());
    let scores = latest_scores
        .as_ref()
        .map(|s| {
            DIMENSIONS
                .iter()
                .map(|(code, label)| {
                    let score = s.get(code);
                    ScoreLine {
                        label,
                        score,
                        score_label: SCORE_LABELS[usize::from(score).min(4)],
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    // Suggested needs: heavily scored dimensions with no live need yet.
    let suggested = latest_scores
        .map(|s| {
            s.suggested_needs()
                .into_iter()
                .filter(|d| {
                    !needs.iter().any(|n| {
                        n.dimension == *d && matches!(n.status.as_str(), "open" | "matched")
                    })
                })
                .map(|d| (d, crate::domain::vocabulary::label(DIMENSIONS, d)))
                .collect()
        })
        .unwrap_or_default();
    let visited = notes.iter().any(|n| n.kind == "home_visit");
    let last_contact = notes.iter().map(|n| n.noted_on).max();
    let first_visit = deadlines::first_visit(h.row.identified_on, visited, today);
    let follow_up = deadlines::follow_up(
        assessments.first().map(|a| a.risk.as_str()),
        last_contact,
        h.row.identified_on,
        today,
    );
    let can_reveal = access::check_reveal(&who, &h.row).is_ok();
    Ok(DetailPage {
        is_admin: who.role == Role::Admin,
        ctx: PageCtx::new(req, Some(who)),
        profile: h.row.profile(),
        address_masked: masked(
            cipher,
            repository::ADDRESS,
            &h.row.address_enc,
            mask::address,
        )?,
        contact_phone_masked: masked(
            cipher,
            repository::CONTACT_PHONE,
            &h.row.contact_phone_enc,
            mask::phone,
        )?,
        members,
        revealed,
        can_reveal,
        trend: trend(&assessments),
        assessments,
        scores,
        needs,
        suggested,
        notes,
        first_visit,
        follow_up,
        note_form,
        note_kinds: NOTE_KINDS,
        alerts,
        h,
    })
}

fn blank_note(today: NaiveDate) -> NoteForm {
    NoteForm {
        noted_on: today.to_string(),
        kind: "home_visit".into(),
        text: String::new(),
        errors: Default::default(),
    }
}

async fn show(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    who: Identity,
    ref_code: String,
    reveal: Option<(RevealField, Option<usize>)>,
    note_form: Option<NoteForm>,
) -> Result<HttpResponse, PageError> {
    let cipher = state.cipher.clone();
    let viewer = who.clone();
    let (loaded, revealed) = state
        .db(move |conn| {
            let loaded = load(conn, &viewer, &ref_code)?;
            let revealed = match reveal {
                Some((field, member)) => {
                    access::check_reveal(&viewer, &loaded.h.row)?;
                    let (value, subject) = view::reveal(&cipher, &loaded.h, field, member)?;
                    // The value is shown only once its audit entry is written.
                    audit::record(
                        conn,
                        &viewer.username,
                        "reveal",
                        &subject,
                        field.as_str(),
                        "",
                    )?;
                    Some(Revealed {
                        field: field.as_str().to_string(),
                        member,
                        value: value.unwrap_or_else(|| "（未登记）".into()),
                    })
                }
                None => {
                    audit::record(
                        conn,
                        &viewer.username,
                        "view",
                        &loaded.h.row.ref_code,
                        "",
                        "",
                    )?;
                    None
                }
            };
            Ok((loaded, revealed))
        })
        .await?;
    let status = if note_form.as_ref().is_some_and(|f| !f.errors.is_empty()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let today = today();
    let mut p = page(
        req,
        who,
        &state.cipher,
        loaded,
        revealed,
        note_form.unwrap_or_else(|| blank_note(today)),
        today,
    )?;
    p.ctx = p.ctx.with_regions(state).await?;
    render_with(status, &p)
}

pub async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    show(&state, &req, who, path.into_inner(), None, None).await
}

/// Shows one masked value in full, on this response only; audited.
pub async fn reveal(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let field: RevealField = serde_json::from_value(json!(data.get("field"))).map_err(|_| {
        AppError::field(
            "field",
            "只能查看身份证号、手机号、联系电话或住址 (unknown field)",
        )
    })?;
    let member = match data.get("member").as_str() {
        // A household-level value belongs to no member.
        _ if !field.of_member() => None,
        "" => None,
        s => Some(
            s.parse::<usize>()
                .map_err(|_| AppError::field("member", "成员序号无效 (member must be a number)"))?,
        ),
    };
    show(
        &state,
        &req,
        who,
        path.into_inner(),
        Some((field, member)),
        None,
    )
    .await
}

/// Adds a case note (服务记录) to the household's timeline.
pub async fn add_note(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let ref_code = path.into_inner();
    let form = NoteForm {
        noted_on: data.get("noted_on"),
        kind: data.get("kind"),
        text: data.get("text"),
        errors: Default::default(),
    };
    let body = json!({"noted_on": form.noted_on, "kind": form.kind, "text": form.text});
    let parsed = history::parse_note(&body, today());
    let (noted_on, kind, text) = match parsed {
        Ok(p) => p,
        Err(list) => {
            let form = NoteForm {
                errors: crate::web::form::FieldErrors::from_list(&list),
                ..form
            };
            return show(&state, &req, who, ref_code, None, Some(form)).await;
        }
    };
    let actor = who.clone();
    let target = ref_code.clone();
    let saved = state
        .db(move |conn| {
            let h = access::visible_household(conn, &actor, &target)?;
            access::require_consent(&h)?;
            history::add_note(conn, h.row.id, noted_on, &kind, &text, &actor.username)
        })
        .await;
    match saved {
        Ok(_) => Ok(crate::web::redirect(&format!(
            "/households/{ref_code}?done=note_added#notes"
        ))),
        Err(AppError::Validation(list)) => {
            let form = NoteForm {
                errors: crate::web::form::FieldErrors::from_list(&list),
                ..form
            };
            show(&state, &req, who, ref_code, None, Some(form)).await
        }
        Err(e) => Err(e.into()),
    }
}
