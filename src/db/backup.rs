//! Backups: a consistent copy of the database taken while servers run, and
//! its restore. SQLite uses `VACUUM INTO` (a transactionally consistent,
//! compacted copy); PostgreSQL uses `pg_dump --format=custom` and
//! `pg_restore`, which must be installed (Debian's postgresql-client). The
//! search index is not backed up: it is rebuilt from the database.

use std::path::Path;
use std::process::Command;

use diesel::connection::SimpleConnection;

use super::{establish, Backend};
use crate::config::Settings;
use crate::error::AppError;

fn sqlite_path(settings: &Settings) -> String {
    settings
        .database_url()
        .trim_start_matches("sqlite://")
        .to_string()
}

/// Writes a backup of the database to `file` (which must not exist).
pub fn backup(settings: &Settings, file: &Path) -> Result<(), AppError> {
    if file.exists() {
        return Err(AppError::BadRequest(format!(
            "{} 已存在，不会覆盖 (the backup file exists)",
            file.display()
        )));
    }
    match settings.backend() {
        Backend::Sqlite => {
            let mut conn = establish(&settings.database_url())?;
            let target = file.to_string_lossy().replace('\'', "''");
            conn.batch_execute(&format!("VACUUM INTO '{target}'"))?;
            Ok(())
        }
        Backend::Postgresql => run(
            Command::new("pg_dump")
                .arg("--format=custom")
                .arg("--no-owner")
                .arg("--file")
                .arg(file)
                .arg(settings.database_url()),
            "pg_dump",
        ),
    }
}

/// Replaces the database with the backup in `file`, and removes this
/// instance's search index so the next start rebuilds it.
pub fn restore(settings: &Settings, file: &Path) -> Result<(), AppError> {
    if !file.is_file() {
        return Err(AppError::BadRequest(format!(
            "找不到备份文件 {} (no such backup file)",
            file.display()
        )));
    }
    match settings.backend() {
        Backend::Sqlite => {
            // Check it is a SQLite database of ours before replacing anything.
            let mut probe = establish(&file.to_string_lossy())?;
            probe
                .batch_execute("SELECT count(*) FROM resources")
                .map_err(|_| {
                    AppError::BadRequest(format!(
                        "{} 不是 aidmatch 的 SQLite 备份 (not an aidmatch SQLite backup)",
                        file.display()
                    ))
                })?;
            drop(probe);
            let db = sqlite_path(settings);
            if let Some(dir) = Path::new(&db).parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| AppError::Internal(format!("{}: {e}", dir.display())))?;
            }
            let tmp = format!("{db}.restoring");
            std::fs::copy(file, &tmp).map_err(|e| AppError::Internal(format!("{tmp}: {e}")))?;
            for stale in [format!("{db}-wal"), format!("{db}-shm")] {
                let _ = std::fs::remove_file(stale);
            }
            std::fs::rename(&tmp, &db).map_err(|e| AppError::Internal(format!("{db}: {e}")))?;
        }
        Backend::Postgresql => run(
            Command::new("pg_restore")
                .arg("--clean")
                .arg("--if-exists")
                .arg("--no-owner")
                .arg("--single-transaction")
                .arg("--dbname")
                .arg(settings.database_url())
                .arg(file),
            "pg_restore",
        )?,
    }
    let index = settings.index_dir();
    if index.exists() {
        std::fs::remove_dir_all(&index)
            .map_err(|e| AppError::Internal(format!("{}: {e}", index.display())))?;
    }
    Ok(())
}

fn run(cmd: &mut Command, name: &str) -> Result<(), AppError> {
    let out = cmd.output().map_err(|e| {
        AppError::Internal(format!(
            "{name} 无法运行，请安装 postgresql-client ({name} could not run: {e})"
        ))
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(AppError::Internal(format!(
            "{name} 失败 ({name} failed): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
