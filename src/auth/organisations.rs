//! Provider organisations: government departments, charities, companies and
//! community centres.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::organisations;
use crate::db::DbConnection;
use crate::domain::vocabulary::{self, ORGANISATION_KINDS};
use crate::domain::RegionCode;
use crate::error::{AppError, FieldError};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub region: String,
    pub contact: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
    /// Where invitations and follow-ups go ('' for none).
    pub email: String,
}

impl Organisation {
    pub fn kind_label(&self) -> &str {
        vocabulary::label(ORGANISATION_KINDS, &self.kind)
    }
}

/// What a client sends to create or change an organisation.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct OrganisationInput {
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub contact: String,
    /// Invitations and follow-ups go here; absent keeps the current one,
    /// `""` removes it.
    #[serde(default)]
    pub email: Option<String>,
}

impl OrganisationInput {
    pub fn validate(&self) -> Result<(), AppError> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                "机构名称为必填项，不超过 100 字 (name is required)",
            ));
        }
        if !vocabulary::is_known(ORGANISATION_KINDS, &self.kind) {
            errors.push(FieldError::new(
                "kind",
                format!(
                    "未知机构类型 \"{}\"，可选：{} (unknown kind)",
                    self.kind,
                    vocabulary::codes(ORGANISATION_KINDS)
                ),
            ));
        }
        if !self.region.trim().is_empty() {
            if let Err(msg) = RegionCode::parse(&self.region) {
                errors.push(FieldError::new("region", msg));
            }
        }
        if self.contact.chars().count() > 200 {
            errors.push(FieldError::new(
                "contact",
                "联系方式不超过 200 字 (contact is too long)",
            ));
        }
        if let Some(email) = self
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
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(errors))
        }
    }
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Organisation>, AppError> {
    Ok(organisations::table
        .order(organisations::name.asc())
        .select(Organisation::as_select())
        .load(conn)?)
}

pub fn find_by_id(conn: &mut DbConnection, id: i64) -> Result<Option<Organisation>, AppError> {
    Ok(organisations::table
        .find(id)
        .select(Organisation::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<Organisation>, AppError> {
    Ok(organisations::table
        .filter(organisations::name.eq(name))
        .select(Organisation::as_select())
        .first(conn)
        .optional()?)
}

/// Creates the organisation, or updates the one with the same name.
pub fn upsert(
    conn: &mut DbConnection,
    input: &OrganisationInput,
) -> Result<Organisation, AppError> {
    input.validate()?;
    let name = input.name.trim();
    match find_by_name(conn, name)? {
        Some(existing) => {
            diesel::update(organisations::table.find(existing.id))
                .set((
                    organisations::kind.eq(&input.kind),
                    organisations::region.eq(input.region.trim()),
                    organisations::contact.eq(input.contact.trim()),
                    organisations::email.eq(input
                        .email
                        .as_deref()
                        .map(str::trim)
                        .unwrap_or(&existing.email)),
                ))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(organisations::table)
                .values((
                    organisations::name.eq(name),
                    organisations::kind.eq(&input.kind),
                    organisations::region.eq(input.region.trim()),
                    organisations::contact.eq(input.contact.trim()),
                    organisations::email.eq(input.email.as_deref().map(str::trim).unwrap_or("")),
                    organisations::created_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)?;
        }
    }
    find_by_name(conn, name)?.ok_or_else(|| AppError::not_found("机构"))
}
