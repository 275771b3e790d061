//! User accounts: who may sign in, with which role, for which organisation
//! (charities) or regions (advisers).

use std::sync::LazyLock;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::identity::Role;
use super::organisations;
use super::password;
use crate::db::schema::{user_regions, users};
use crate::db::DbConnection;
use crate::domain::RegionCode;
use crate::error::{AppError, FieldError};

static USERNAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_.-]{3,32}$").expect("valid regex"));

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub organisation_id: Option<i64>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Bumped to end every session of the account (logout, password change).
    pub token_epoch: i64,
    /// Where the account's digests go ('' for none).
    pub email: String,
}

/// A user as shown to admins (never the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub organisation: Option<String>,
    pub regions: Vec<String>,
    pub active: bool,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
    pub email: String,
}

impl UserView {
    pub fn role_label(&self) -> &str {
        Role::parse(&self.role).map(Role::label).unwrap_or("未知")
    }
}

/// A new account, or changes to one (`password` optional on change).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct UserInput {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: Option<String>,
    pub role: String,
    /// Organisation name; required for charities.
    pub organisation: Option<String>,
    /// Region prefixes; required for advisers.
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default = "default_true")]
    pub active: bool,
    /// For advisers' daily alert digests; absent keeps the current one,
    /// `""` removes it.
    #[serde(default)]
    pub email: Option<String>,
}

fn default_true() -> bool {
    true
}

pub fn find_by_username(conn: &mut DbConnection, name: &str) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::username.eq(name))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_id(conn: &mut DbConnection, id: i64) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn count(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn regions_of(conn: &mut DbConnection, user_id: i64) -> Result<Vec<String>, AppError> {
    Ok(user_regions::table
        .filter(user_regions::user_id.eq(user_id))
        .order(user_regions::region.asc())
        .select(user_regions::region)
        .load(conn)?)
}

pub fn view_of(conn: &mut DbConnection, row: &UserRow) -> Result<UserView, AppError> {
    let organisation = match row.organisation_id {
        Some(id) => organisations::find_by_id(conn, id)?.map(|o| o.name),
        None => None,
    };
    Ok(UserView {
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        role: row.role.clone(),
        organisation,
        regions: regions_of(conn, row.id)?,
        active: row.active,
        created_at: row.created_at,
        email: row.email.clone(),
    })
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<UserView>, AppError> {
    let rows: Vec<UserRow> = users::table
        .order(users::username.asc())
        .select(UserRow::as_select())
        .load(conn)?;
    rows.iter().map(|r| view_of(conn, r)).collect()
}

/// Checks an input and resolves its organisation; `creating` requires a password.
fn check(
    conn: &mut DbConnection,
    input: &UserInput,
    creating: bool,
) -> Result<(Role, Option<i64>, Vec<String>), AppError> {
    let mut errors = Vec::new();
    if !USERNAME_RE.is_match(&input.username) {
        errors.push(FieldError::new(
            "username",
            "用户名为 3–32 位字母、数字、点、下划线或连字符 (username must be 3-32 letters, digits, '.', '_' or '-')",
        ));
    }
    if input.display_name.chars().count() > 50 {
        errors.push(FieldError::new(
            "display_name",
            "姓名不超过 50 字 (display name is too long)",
        ));
    }
    match (&input.password, creating) {
        (Some(pw), _) => {
            if let Err(msg) = password::check_strength(pw) {
                errors.push(FieldError::new("password", msg));
            }
        }
        (None, true) => errors.push(FieldError::new(
            "password",
            "密码为必填项 (password is required)",
        )),
        (None, false) => {}
    }
    if let Some(email) = input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        if let Err(AppError::Validation(mut e)) =
            crate::mail::compose::check_address("email", email)
        {
            errors.append(&mut e);
        }
    }
    let role = Role::parse(&input.role);
    if role.is_none() {
        errors.push(FieldError::new(
            "role",
            format!(
                "未知角色 \"{}\"，可选：admin, adviser, charity (unknown role)",
                input.role
            ),
        ));
    }
    let mut regions = Vec::new();
    for (i, r) in input.regions.iter().enumerate() {
        match RegionCode::parse(r) {
            Ok(code) => regions.push(code.as_str().to_string()),
            Err(msg) => errors.push(FieldError::new(format!("regions[{i}]"), msg)),
        }
    }
    regions.sort();
    regions.dedup();
    if role == Some(Role::Adviser) && input.regions.is_empty() {
        errors.push(FieldError::new(
            "regions",
            "救助顾问必须分配至少一个负责地区 (an adviser needs at least one region)",
        ));
    }
    let organisation_name = input
        .organisation
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut organisation_id = None;
    match (role, organisation_name) {
        (Some(Role::Charity), None) => errors.push(FieldError::new(
            "organisation",
            "公益组织账号必须属于一个机构 (a charity account needs an organisation)",
        )),
        (_, Some(name)) => match organisations::find_by_name(conn, name)? {
            Some(org) => organisation_id = Some(org.id),
            None => errors.push(FieldError::new(
                "organisation",
                format!("机构 \"{name}\" 不存在，请先创建 (unknown organisation)"),
            )),
        },
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok((role.unwrap_or(Role::Adviser), organisation_id, regions))
}

fn replace_regions(
    conn: &mut DbConnection,
    user_id: i64,
    regions: &[String],
) -> Result<(), AppError> {
    diesel::delete(user_regions::table.filter(user_regions::user_id.eq(user_id))).execute(conn)?;
    for region in regions {
        diesel::insert_into(user_regions::table)
            .values((
                user_regions::user_id.eq(user_id),
                user_regions::region.eq(region),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn create(conn: &mut DbConnection, input: &UserInput) -> Result<UserRow, AppError> {
    let (role, organisation_id, regions) = check(conn, input, true)?;
    if find_by_username(conn, &input.username)?.is_some() {
        return Err(AppError::Validation(vec![FieldError::new(
            "username",
            format!(
                "用户名 \"{}\" 已被使用 (username already taken)",
                input.username
            ),
        )]));
    }
    let hash = password::hash_password(input.password.as_deref().unwrap_or_default())?;
    let now = Utc::now().naive_utc();
    conn.transaction(|conn| {
        diesel::insert_into(users::table)
            .values((
                users::username.eq(&input.username),
                users::display_name.eq(input.display_name.trim()),
                users::password_hash.eq(&hash),
                users::role.eq(role.as_str()),
                users::organisation_id.eq(organisation_id),
                users::active.eq(input.active),
                users::email.eq(input.email.as_deref().map(str::trim).unwrap_or("")),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        let row =
            find_by_username(conn, &input.username)?.ok_or_else(|| AppError::not_found("用户"))?;
        replace_regions(conn, row.id, &regions)?;
        Ok(row)
    })
}

/// Changes an existing account (the username in `input` must be its own).
pub fn update(
    conn: &mut DbConnection,
    existing: &UserRow,
    input: &UserInput,
) -> Result<UserRow, AppError> {
    let (role, organisation_id, regions) = check(conn, input, false)?;
    if input.username != existing.username {
        return Err(AppError::field(
            "username",
            "用户名不能修改 (username cannot be changed)",
        ));
    }
    let hash = match &input.password {
        Some(pw) => password::hash_password(pw)?,
        None => existing.password_hash.clone(),
    };
    // A new password or a disabled account ends the account's sessions.
    let epoch = if input.password.is_some() || !input.active {
        existing.token_epoch + 1
    } else {
        existing.token_epoch
    };
    conn.transaction(|conn| {
        diesel::update(users::table.find(existing.id))
            .set((
                users::token_epoch.eq(epoch),
                users::display_name.eq(input.display_name.trim()),
                users::password_hash.eq(&hash),
                users::role.eq(role.as_str()),
                users::organisation_id.eq(organisation_id),
                users::active.eq(input.active),
                users::email.eq(input
                    .email
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or(&existing.email)),
                users::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        replace_regions(conn, existing.id, &regions)?;
        find_by_id(conn, existing.id)?.ok_or_else(|| AppError::not_found("用户"))
    })
}

/// Changes a user's own password after checking the current one.
pub fn change_own_password(
    conn: &mut DbConnection,
    user_id: i64,
    current: &str,
    new: &str,
) -> Result<(), AppError> {
    let row = find_by_id(conn, user_id)?.ok_or_else(|| AppError::not_found("用户"))?;
    let mut errors = Vec::new();
    if !password::verify_password(current, &row.password_hash) {
        errors.push(FieldError::new(
            "current_password",
            "当前密码不正确 (current password is wrong)",
        ));
    }
    if let Err(msg) = password::check_strength(new) {
        errors.push(FieldError::new("new_password", msg));
    } else if new == current {
        errors.push(FieldError::new(
            "new_password",
            "新密码不能与当前密码相同 (new password must differ)",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let hash = password::hash_password(new)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::token_epoch.eq(row.token_epoch + 1),
            users::password_hash.eq(hash),
            users::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends every session of the account (tokens issued before now stop working).
pub fn end_sessions(conn: &mut DbConnection, user_id: i64) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set(users::token_epoch.eq(users::token_epoch + 1))
        .execute(conn)?;
    Ok(())
}
