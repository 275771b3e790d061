//! The public "which policies fit me?" page (人找政策): a short
//! questionnaire, answered without an account; the answers are checked
//! like the API's, screened, shown back with reasons, how to apply and
//! near misses — and not stored anywhere.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde_json::{json, Map, Value};

use super::form::{FieldErrors, FormData};
use super::session::MaybeWebUser;
use super::{render, render_with, PageCtx, PageError};
use crate::auth::csrf;
use crate::domain::vocabulary::{
    DISABILITY_TYPES, EMPLOYMENT, HEALTH_TAGS, RELATIONS, SEXES, STUDENT_STAGES,
};
use crate::eligibility::report::{self, ScreeningResult};
use crate::eligibility::screening;
use crate::error::FieldError;
use crate::state::AppState;

type Table = &'static [(&'static str, &'static str)];

const MAX_ROWS: usize = 12;

/// Statuses a resident can say they already have.
const STATUSES: Table = &[
    ("dibao", "低保"),
    ("tekun", "特困供养"),
    ("low_income", "低收入家庭"),
    ("expenditure_poverty", "支出型贫困"),
    ("single_parent", "单亲家庭"),
    ("child_in_difficulty", "困境儿童"),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/screening", web::get().to(form))
        .route("/screening", web::post().to(submit));
}

#[derive(Debug, Clone, Default)]
pub struct MemberRow {
    pub age: String,
    pub relation: String,
    pub sex: String,
    pub disability_grade: String,
    pub disability_type: String,
    pub health: Vec<String>,
    pub employment: String,
    pub student_stage: String,
    pub income_monthly: String,
    pub errors: FieldErrors,
}

impl MemberRow {
    pub fn has_health(&self, code: &&str) -> bool {
        self.health.iter().any(|h| h == code)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub region: String,
    pub hukou_local: String,
    pub housing_owned: String,
    pub area_m2: String,
    pub financial: String,
    pub rent: String,
    pub medical_expense: String,
    pub education_expense: String,
    pub status: Vec<String>,
    pub members: Vec<MemberRow>,
    pub errors: FieldErrors,
}

impl Answers {
    pub fn has_status(&self, code: &&str) -> bool {
        self.status.iter().any(|s| s == code)
    }

    fn blank() -> Answers {
        Answers {
            members: vec![MemberRow {
                relation: "self".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn from_form(f: &FormData) -> Answers {
        let members = f
            .all("member")
            .iter()
            .filter_map(|m| m.parse::<usize>().ok())
            .take(MAX_ROWS)
            .map(|i| {
                let g = |field: &str| f.get(&format!("m{i}_{field}"));
                MemberRow {
                    age: g("age"),
                    relation: g("relation"),
                    sex: g("sex"),
                    disability_grade: g("disability_grade"),
                    disability_type: g("disability_type"),
                    health: f.all(&format!("m{i}_health")),
                    employment: g("employment"),
                    student_stage: g("student_stage"),
                    income_monthly: g("income_monthly"),
                    errors: FieldErrors::default(),
                }
            })
            .collect();
        Answers {
            region: f.get("region"),
            hukou_local: f.get("hukou_local"),
            housing_owned: f.get("housing_owned"),
            area_m2: f.get("area_m2"),
            financial: f.get("financial"),
            rent: f.get("rent"),
            medical_expense: f.get("medical_expense"),
            education_expense: f.get("education_expense"),
            status: f.all("status"),
            members,
            errors: FieldErrors::default(),
        }
    }

    /// The API's request for these answers.
    fn to_json(&self) -> Value {
        fn num(s: &str) -> Option<Value> {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            Some(match s.parse::<f64>() {
                Ok(x) if x.is_finite() && x.fract() == 0.0 => json!(x as i64),
                Ok(x) if x.is_finite() => json!(x),
                _ => json!(s),
            })
        }
        fn put(obj: &mut Map<String, Value>, key: &str, v: Option<Value>) {
            if let Some(v) = v {
                obj.insert(key.into(), v);
            }
        }
        let text = |s: &str| (!s.is_empty()).then(|| json!(s));
        let yes_no = |s: &str| match s {
            "true" => Some(json!(true)),
            "false" => Some(json!(false)),
            _ => None,
        };
        let mut p = Map::new();
        put(&mut p, "region", text(&self.region));
        put(&mut p, "hukou_local", yes_no(&self.hukou_local));
        let mut housing = Map::new();
        put(&mut housing, "owned", yes_no(&self.housing_owned));
        put(&mut housing, "area_m2", num(&self.area_m2));
        p.insert("housing".into(), Value::Object(housing));
        let mut assets = Map::new();
        put(&mut assets, "financial", num(&self.financial));
        p.insert("assets".into(), Value::Object(assets));
        let mut monthly = Map::new();
        put(&mut monthly, "rent", num(&self.rent));
        put(&mut monthly, "medical_expense", num(&self.medical_expense));
        put(
            &mut monthly,
            "education_expense",
            num(&self.education_expense),
        );
        p.insert("monthly".into(), Value::Object(monthly));
        p.insert("status".into(), json!(self.status));
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|m| {
                let mut o = Map::new();
                put(&mut o, "age", num(&m.age));
                put(&mut o, "relation", text(&m.relation));
                put(&mut o, "sex", text(&m.sex));
                put(&mut o, "disability_grade", num(&m.disability_grade));
                put(&mut o, "disability_type", text(&m.disability_type));
                o.insert("health".into(), json!(m.health));
                put(&mut o, "employment", text(&m.employment));
                put(&mut o, "student_stage", text(&m.student_stage));
                put(&mut o, "income_monthly", num(&m.income_monthly));
                Value::Object(o)
            })
            .collect();
        p.insert("members".into(), Value::Array(members));
        json!({ "profile": p })
    }

    /// Each error next to its question.
    fn attach(&mut self, errors: &[FieldError]) {
        let mut general = Vec::new();
        for e in errors {
            let path = e.field.strip_prefix("profile.").unwrap_or(&e.field);
            if let Some(rest) = path.strip_prefix("members[") {
                if let Some((i, field)) = rest.split_once(']') {
                    if let Some(m) = i
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| self.members.get_mut(i))
                    {
                        let key = field.trim_start_matches('.');
                        let key = key.split(['.', '[']).next().unwrap_or(key);
                        m.errors.0.insert(key.to_string(), e.message.clone());
                        continue;
                    }
                }
            }
            let key = path.split(['.', '[']).next().unwrap_or(path).to_string();
            if key.is_empty() {
                general.push(e.clone());
            } else {
                self.errors.0.insert(key, e.message.clone());
            }
        }
        if !general.is_empty() {
            self.errors.0.insert(
                "members".into(),
                general
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("；"),
            );
        }
    }

    fn error_count(&self) -> usize {
        self.errors.0.len() + self.members.iter().map(|m| m.errors.0.len()).sum::<usize>()
    }
}

#[derive(Template)]
#[template(path = "screening.html")]
struct ScreeningPage {
    ctx: PageCtx,
    answers: Answers,
    result: Option<ScreeningResult>,
    regions: Vec<(String, String)>,
    error_count: usize,
    relations: Table,
    sexes: Table,
    disability_types: Table,
    health_tags: Table,
    employment: Table,
    student_stages: Table,
    statuses: Table,
}

async fn page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    user: MaybeWebUser,
    answers: Answers,
    result: Option<ScreeningResult>,
) -> Result<ScreeningPage, PageError> {
    let ctx = PageCtx::new(req, user.0).with_regions(state).await?;
    // Streets and communities to choose from, by name.
    let mut regions: Vec<(String, String)> = ctx
        .regions
        .0
        .keys()
        .filter(|code| code.contains('-'))
        .map(|code| (code.clone(), ctx.region_label(code)))
        .collect();
    regions.sort();
    Ok(ScreeningPage {
        error_count: answers.error_count(),
        ctx,
        answers,
        result,
        regions,
        relations: RELATIONS,
        sexes: SEXES,
        disability_types: DISABILITY_TYPES,
        health_tags: HEALTH_TAGS,
        employment: EMPLOYMENT,
        student_stages: STUDENT_STAGES,
        statuses: STATUSES,
    })
}

async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
) -> Result<HttpResponse, PageError> {
    render(&page(&state, &req, user, Answers::blank(), None).await?)
}

async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let mut answers = Answers::from_form(&data);
    if !data.get("add_member").is_empty() {
        if answers.members.len() < MAX_ROWS {
            answers.members.push(MemberRow {
                relation: "other".into(),
                ..Default::default()
            });
        }
        return render(&page(&state, &req, user, answers, None).await?);
    }
    if let Ok(i) = data.get("remove_member").parse::<usize>() {
        if i < answers.members.len() && answers.members.len() > 1 {
            answers.members.remove(i);
        }
        return render(&page(&state, &req, user, answers, None).await?);
    }
    let today = chrono::Local::now().date_naive();
    let request = match screening::parse(&answers.to_json(), today) {
        Ok(r) => r,
        Err(errors) => {
            answers.attach(&errors);
            let p = page(&state, &req, user, answers, None).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
    };
    let rules = state.rules.clone();
    let result = state
        .db(move |conn| report::run(conn, &rules, &request))
        .await?;
    render(&page(&state, &req, user, answers, Some(result)).await?)
}
