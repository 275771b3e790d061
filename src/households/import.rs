//! `aidmatch import households FILE` and `aidmatch import needs FILE`:
//! every record is checked before anything is written; one bad record stops
//! the whole file, and the error names the record and the field.
//! Re-importing a household's `ref` replaces that household.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::Connection;

use super::needs::{self, NeedInput};
use super::repository;
use super::validation::{validate_household, HouseholdInput};
use crate::catalogue::import::{ImportError, ImportReport};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::import_records::{read_records, ref_of, Position, RecordError};
use crate::privacy::DataCipher;

fn none_in_file() -> Vec<RecordError> {
    vec![RecordError {
        position: None,
        record_ref: None,
        field: None,
        message: "文件中没有记录 (the file holds no records)".into(),
    }]
}

fn record_errors(
    position: Position,
    record_ref: Option<String>,
    errors: Vec<FieldError>,
) -> Vec<RecordError> {
    errors
        .into_iter()
        .map(|fe| RecordError {
            position: Some(position),
            record_ref: record_ref.clone(),
            field: Some(fe.field),
            message: fe.message,
        })
        .collect()
}

fn at(position: Position, record_ref: Option<&str>, e: AppError) -> ImportError {
    let (field, message) = match &e {
        AppError::Validation(list) if !list.is_empty() => {
            (Some(list[0].field.clone()), list[0].message.clone())
        }
        other => (None, other.to_string()),
    };
    ImportError::Invalid(vec![RecordError {
        position: Some(position),
        record_ref: record_ref.map(str::to_string),
        field,
        message,
    }])
}

/// The adviser named for a household: an active adviser covering its region.
pub fn check_adviser(
    conn: &mut DbConnection,
    name: &str,
    region: &str,
) -> Result<String, AppError> {
    let user = crate::auth::users::find_by_username(conn, name)?
        .filter(|u| u.active && u.role == "adviser")
        .ok_or_else(|| {
            AppError::field(
                "adviser",
                format!("没有名为 {name} 的救助顾问账号 (no such adviser)"),
            )
        })?;
    let covers = crate::auth::users::regions_of(conn, user.id)?
        .iter()
        .filter_map(|r| crate::domain::RegionCode::parse(r).ok())
        .any(|r| r.covers(region));
    if covers {
        Ok(user.username)
    } else {
        Err(AppError::field(
            "adviser",
            format!("{name} 不负责地区 {region} (the adviser does not cover this region)"),
        ))
    }
}

pub fn import_households(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    text: &str,
    actor: &str,
    today: NaiveDate,
    mut progress: impl FnMut(usize, usize),
) -> Result<ImportReport, ImportError> {
    let records = read_records(text).map_err(|e| ImportError::Invalid(vec![e]))?;
    if records.is_empty() {
        return Err(ImportError::Invalid(none_in_file()));
    }
    let mut errors = Vec::new();
    let mut valid: Vec<(Position, HouseholdInput)> = Vec::new();
    let mut seen: HashMap<String, Position> = HashMap::new();
    for record in records {
        let record_ref = ref_of(&record.value);
        match validate_household(&record.value, today) {
            Ok(input) => {
                if let Some(r) = &input.ref_code {
                    if let Some(first) = seen.get(r) {
                        errors.push(RecordError {
                            position: Some(record.position),
                            record_ref: record_ref.clone(),
                            field: Some("ref".into()),
                            message: format!("ref 与{first}重复 (duplicate ref in file)"),
                        });
                        continue;
                    }
                    seen.insert(r.clone(), record.position);
                }
                valid.push((record.position, input));
            }
            Err(field_errors) => {
                errors.extend(record_errors(record.position, record_ref, field_errors))
            }
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Invalid(errors));
    }
    let total = valid.len();
    conn.transaction::<_, ImportError, _>(|conn| {
        crate::db::lock_for_write(conn)?;
        let mut report = ImportReport::default();
        for (i, (position, input)) in valid.iter().enumerate() {
            let r = input.ref_code.as_deref();
            let adviser = match &input.adviser {
                Some(name) => Some(
                    check_adviser(conn, name, input.region.as_str())
                        .map_err(|e| at(*position, r, e))?,
                ),
                None => None,
            };
            match r.map(|r| repository::exists(conn, r)).transpose()? {
                Some(true) => {
                    let r = r.unwrap_or_default();
                    repository::update(conn, cipher, r, input, None, actor)
                        .map_err(|e| at(*position, Some(r), e))?;
                    report.updated += 1;
                }
                _ => {
                    repository::create(conn, cipher, input, adviser.as_deref(), actor, today)
                        .map_err(|e| at(*position, r, e))?;
                    report.created += 1;
                }
            }
            progress(i + 1, total);
        }
        Ok(report)
    })
}

/// Imports needs (each names its `household_ref`); all are created new.
pub fn import_needs(
    conn: &mut DbConnection,
    text: &str,
    actor: &str,
    mut progress: impl FnMut(usize, usize),
) -> Result<ImportReport, ImportError> {
    let records = read_records(text).map_err(|e| ImportError::Invalid(vec![e]))?;
    if records.is_empty() {
        return Err(ImportError::Invalid(none_in_file()));
    }
    let mut errors = Vec::new();
    let mut valid: Vec<(Position, NeedInput)> = Vec::new();
    for record in records {
        match needs::parse_need(&record.value) {
            Ok(input) => valid.push((record.position, input)),
            Err(e) => errors.extend(record_errors(record.position, None, e)),
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Invalid(errors));
    }
    let total = valid.len();
    conn.transaction::<_, ImportError, _>(|conn| {
        crate::db::lock_for_write(conn)?;
        let mut report = ImportReport::default();
        for (i, (position, input)) in valid.iter().enumerate() {
            let household = repository::find(conn, &input.household_ref)?.ok_or_else(|| {
                at(
                    *position,
                    None,
                    AppError::field(
                        "household_ref",
                        format!(
                            "没有编号为 {} 的家庭 (no such household)",
                            input.household_ref
                        ),
                    ),
                )
            })?;
            if !household.row.consent {
                return Err(at(
                    *position,
                    None,
                    AppError::field(
                        "household_ref",
                        "该家庭尚未记录本人同意 (record consent first)",
                    ),
                ));
            }
            needs::create(conn, household.row.id, input, None, actor)
                .map_err(|e| at(*position, None, e))?;
            report.created += 1;
            progress(i + 1, total);
        }
        Ok(report)
    })
}
