//! Which data key a database was written with: the first instance to start
//! records the key's check value; one started with another key stops with a
//! clear message instead of writing data nobody could read back.

use diesel::prelude::*;

use super::DataCipher;
use crate::db::schema::app_settings;
use crate::db::DbConnection;
use crate::error::AppError;

const CHECK_NAME: &str = "data_key_check";

pub fn check_key(conn: &mut DbConnection, cipher: &DataCipher) -> Result<(), AppError> {
    let ours = cipher.key_check();
    let stored = |conn: &mut DbConnection| -> Result<Option<String>, AppError> {
        Ok(app_settings::table
            .filter(app_settings::name.eq(CHECK_NAME))
            .select(app_settings::value)
            .first::<String>(conn)
            .optional()?)
    };
    let recorded = match stored(conn)? {
        Some(value) => value,
        None => {
            let inserted = diesel::insert_into(app_settings::table)
                .values((
                    app_settings::name.eq(CHECK_NAME),
                    app_settings::value.eq(&ours),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => return Ok(()),
                // Another instance recorded its key first: compare with it.
                Err(_) => stored(conn)?.unwrap_or_default(),
            }
        }
    };
    if recorded == ours {
        Ok(())
    } else {
        Err(AppError::Internal(
            "the data key does not match the one this database's personal data was encrypted with \
             (set AIDMATCH_DATA_KEY or <data_dir>/data_key to that key); \
             数据密钥与数据库中个人信息加密所用的密钥不一致"
                .into(),
        ))
    }
}
