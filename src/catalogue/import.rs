//! `aidmatch import resources FILE`: every record is checked before anything
//! is written; one bad record stops the whole file, and the error names the
//! record (index or line, and `ref`) and the field. Re-importing a `ref`
//! updates that resource.

use std::collections::HashMap;

use diesel::Connection;

use super::editing::provider_and_organisation;
use super::repository;
use super::validation::{validate_resource, ResourceInput};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::import_records::{read_records, ref_of, Position, RecordError};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("导入失败，未写入任何数据 (import rejected, nothing written):\n{}", list(.0))]
    Invalid(Vec<RecordError>),
    #[error(transparent)]
    App(#[from] AppError),
}

fn list(errors: &[RecordError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks every record; returns them all valid, or every problem found.
pub fn check_file(text: &str) -> Result<Vec<(Position, ResourceInput)>, Vec<RecordError>> {
    let records = read_records(text).map_err(|e| vec![e])?;
    if records.is_empty() {
        return Err(vec![RecordError {
            position: None,
            record_ref: None,
            field: None,
            message: "文件中没有记录 (the file holds no records)".into(),
        }]);
    }
    let mut errors = Vec::new();
    let mut valid = Vec::new();
    let mut seen: HashMap<String, Position> = HashMap::new();
    for record in records {
        let record_ref = ref_of(&record.value);
        match validate_resource(&record.value) {
            Ok(input) => {
                if input.provider.is_none() {
                    errors.push(RecordError {
                        position: Some(record.position),
                        record_ref: record_ref.clone(),
                        field: Some("provider".into()),
                        message: "provider 为必填项 (provider is required)".into(),
                    });
                } else if let Some(first) = seen.get(&input.ref_code) {
                    errors.push(RecordError {
                        position: Some(record.position),
                        record_ref: record_ref.clone(),
                        field: Some("ref".into()),
                        message: format!("ref 与{first}重复 (duplicate ref in file)"),
                    });
                } else {
                    seen.insert(input.ref_code.clone(), record.position);
                    valid.push((record.position, input));
                }
            }
            Err(field_errors) => errors.extend(field_errors.into_iter().map(|fe| RecordError {
                position: Some(record.position),
                record_ref: record_ref.clone(),
                field: Some(fe.field),
                message: fe.message,
            })),
        }
    }
    if errors.is_empty() {
        Ok(valid)
    } else {
        Err(errors)
    }
}

/// Imports `text` in one transaction. `progress` is told after each record.
pub fn import_resources(
    conn: &mut DbConnection,
    text: &str,
    actor: &str,
    mut progress: impl FnMut(usize, usize),
) -> Result<ImportReport, ImportError> {
    let records = check_file(text).map_err(ImportError::Invalid)?;
    let total = records.len();
    let report = conn.transaction::<_, ImportError, _>(|conn| {
        crate::db::lock_for_write(conn)?;
        let mut report = ImportReport::default();
        for (i, (position, input)) in records.iter().enumerate() {
            let (provider, organisation_id) =
                provider_and_organisation(conn, input).map_err(|e| at(*position, input, e))?;
            match repository::find(conn, &input.ref_code)? {
                Some(existing) => {
                    let status = input.status.as_deref().unwrap_or(&existing.status);
                    super::access::check_transition(&existing.status, status)
                        .map_err(|e| at(*position, input, e))?;
                    // A provider name that names no organisation keeps the owner.
                    let organisation_id = organisation_id.or(existing.organisation_id);
                    repository::update(
                        conn,
                        &existing,
                        input,
                        &provider,
                        organisation_id,
                        status,
                        actor,
                    )
                    .map_err(|e| at(*position, input, e))?;
                    report.updated += 1;
                }
                None => {
                    let status = input.status.as_deref().unwrap_or("draft");
                    // An import may bring in withdrawn entries too (an archive).
                    repository::create(
                        conn,
                        input,
                        &provider,
                        organisation_id,
                        status,
                        actor,
                        "imported",
                    )
                    .map_err(|e| at(*position, input, e))?;
                    report.created += 1;
                }
            }
            progress(i + 1, total);
        }
        Ok(report)
    })?;
    Ok(report)
}

fn at(position: Position, input: &ResourceInput, e: AppError) -> ImportError {
    let (field, message) = match &e {
        AppError::Validation(list) if !list.is_empty() => {
            (Some(list[0].field.clone()), list[0].message.clone())
        }
        other => (None, other.to_string()),
    };
    ImportError::Invalid(vec![RecordError {
        position: Some(position),
        record_ref: Some(input.ref_code.clone()),
        field,
        message,
    }])
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError::App(AppError::Database(e))
    }
}
