//! Recording a household and editing it: one form with the household's
//! facts and a row per member; "添加成员" and "删除" change the rows
//! without saving (the page comes back with every value as typed).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::form::{FormAction, HouseholdForm, Kept};
use super::{today, STAFF};
use crate::auth::{csrf, Identity, Role};
use crate::domain::vocabulary::{
    DISABILITY_TYPES, EMPLOYMENT, HEALTH_TAGS, RELATIONS, SEXES, STUDENT_STAGES, TARGET_GROUPS,
};
use crate::error::AppError;
use crate::households::validation::validate_household;
use crate::households::{access, import, repository};
use crate::state::AppState;
use crate::web::form::FormData;
use crate::web::session::MaybeWebUser;
use crate::web::{redirect, render, render_with, require_role, PageCtx, PageError};
use diesel::Connection;

type Table = &'static [(&'static str, &'static str)];

#[derive(Template)]
#[template(path = "households/form.html")]
struct FormPage {
    ctx: PageCtx,
    form: HouseholdForm,
    editing: bool,
    is_admin: bool,
    /// The signed-in user's username.
    me: String,
    general_error: String,
    relations: Table,
    sexes: Table,
    disability_types: Table,
    health_tags: Table,
    employment: Table,
    student_stages: Table,
    target_groups: Table,
}

fn page(req: &HttpRequest, who: Identity, form: HouseholdForm, editing: bool) -> FormPage {
    FormPage {
        is_admin: who.role == Role::Admin,
        me: who.username.clone(),
        ctx: PageCtx::new(req, Some(who)),
        form,
        editing,
        general_error: String::new(),
        relations: RELATIONS,
        sexes: SEXES,
        disability_types: DISABILITY_TYPES,
        health_tags: HEALTH_TAGS,
        employment: EMPLOYMENT,
        student_stages: STUDENT_STAGES,
        target_groups: TARGET_GROUPS,
    }
}

/// The form again, with what went wrong.
fn rejected(
    req: &HttpRequest,
    who: Identity,
    mut form: HouseholdForm,
    editing: bool,
    error: AppError,
) -> Result<HttpResponse, PageError> {
    let mut general_error = String::new();
    match error {
        AppError::Validation(list) => form.attach_errors(&list),
        AppError::Conflict(msg) | AppError::Forbidden(msg) => general_error = msg,
        other => return Err(other.into()),
    }
    let mut p = page(req, who, form, editing);
    p.general_error = general_error;
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &p)
}

pub async fn new_form(req: HttpRequest, user: MaybeWebUser) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let mut form = HouseholdForm::blank(today());
    // An adviser with one assigned region starts there.
    if let [only] = who.regions.as_slice() {
        form.region = only.clone();
    }
    render(&page(&req, who, form, false))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let (mut form, action) = HouseholdForm::from_form(&data);
    if who.role != Role::Admin {
        form.adviser = String::new();
    }
    match action {
        FormAction::AddMember => {
            form.add_member();
            return render(&page(&req, who, form, false));
        }
        FormAction::RemoveMember(i) => {
            form.remove_member(i);
            return render(&page(&req, who, form, false));
        }
        FormAction::Save => {}
    }
    if !form.errors.is_empty() {
        return render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&req, who, form, false),
        );
    }
    let doc = form.to_json(&Kept::default(), true);
    let input = match validate_household(&doc, today()) {
        Ok(input) => input,
        Err(list) => return rejected(&req, who, form, false, AppError::Validation(list)),
    };
    if let Err(e) = access::check_create(&who, &input.region) {
        return rejected(&req, who, form, false, e);
    }
    let cipher = state.cipher.clone();
    let actor = who.clone();
    let saved = state
        .db(move |conn| {
            let adviser = match &input.adviser {
                Some(name) => Some(
                    import::check_adviser(conn, name, input.region.as_str())
                        .map_err(|e| AppError::field("adviser", e.public_message()))?,
                ),
                None => (actor.role == Role::Adviser).then(|| actor.username.clone()),
            };
            repository::create(
                conn,
                &cipher,
                &input,
                adviser.as_deref(),
                &actor.username,
                today(),
            )
        })
        .await;
    match saved {
        Ok(h) => Ok(redirect(&format!(
            "/households/{}?done=created",
            h.row.ref_code
        ))),
        Err(e) => rejected(&req, who, form, false, e),
    }
}

pub async fn edit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let ref_code = path.into_inner();
    let cipher = state.cipher.clone();
    let viewer = who.clone();
    let form = state
        .db(move |conn| {
            let h = access::visible_household(conn, &viewer, &ref_code)?;
            HouseholdForm::of(&cipher, &h)
        })
        .await?;
    render(&page(&req, who, form, true))
}

pub async fn update(
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
    let (mut form, action) = HouseholdForm::from_form(&data);
    form.ref_code = ref_code.clone();
    // Visible before anything is shown back, even an added member row.
    let viewer = who.clone();
    let lookup_ref = ref_code.clone();
    let adviser = state
        .db(move |conn| {
            Ok(access::visible_household(conn, &viewer, &lookup_ref)?
                .row
                .adviser)
        })
        .await?;
    form.adviser = adviser.unwrap_or_default();
    match action {
        FormAction::AddMember => {
            form.add_member();
            return render(&page(&req, who, form, true));
        }
        FormAction::RemoveMember(i) => {
            form.remove_member(i);
            return render(&page(&req, who, form, true));
        }
        FormAction::Save => {}
    }
    if !form.errors.is_empty() {
        return render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&req, who, form, true),
        );
    }
    // The version the form was read at: the values kept from the record
    // (and the rows they belong to) are those of that version only.
    let Ok(version) = form.version.parse::<i64>() else {
        return rejected(
            &req,
            who,
            form,
            true,
            AppError::Conflict(
                "表单缺少版本信息，请重新打开编辑页面 (the form has no version; reload it)".into(),
            ),
        );
    };
    let cipher = state.cipher.clone();
    let actor = who.clone();
    let posted = form.clone();
    let saved = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let current = access::visible_household(conn, &actor, &ref_code)?;
                let kept = Kept::of(&cipher, &current)?;
                let doc = posted.to_json(&kept, false);
                let input = validate_household(&doc, today()).map_err(AppError::Validation)?;
                if current.row.consent && !input.consent {
                    return Err(AppError::field(
                        "consent",
                        "已记录的同意不能在此撤回，请在家庭页面点“撤回同意” (withdraw consent from the household page)",
                    ));
                }
                access::check_create(&actor, &input.region)?;
                repository::update(
                    conn,
                    &cipher,
                    &ref_code,
                    &input,
                    Some(version),
                    &actor.username,
                )
            })
        })
        .await;
    match saved {
        Ok(h) => Ok(redirect(&format!(
            "/households/{}?done=saved",
            h.row.ref_code
        ))),
        Err(e) => rejected(&req, who, form, true, e),
    }
}
