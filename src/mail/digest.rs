//! The advisers' daily digest of "policy finds people" alerts: one message
//! a day per adviser with an e-mail address, listing the open alerts raised
//! for their households since their previous digest.

use askama::Template;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::compose::Letter;
use super::outbox;
use super::Sender;
use crate::db::schema::{alerts, households, outbox as outbox_table, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::privacy::mask;

/// Alerts listed in one digest at most; the rest are counted.
const LISTED: usize = 50;

pub struct DigestLine {
    pub household_ref: String,
    /// Masked (张*英).
    pub head_name: String,
    pub policy_title: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "mail/alert_digest.txt")]
struct DigestText<'a> {
    name: &'a str,
    day: NaiveDate,
    total: usize,
    lines: &'a [DigestLine],
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/alert_digest.html")]
struct DigestHtml<'a> {
    name: &'a str,
    day: NaiveDate,
    total: usize,
    lines: &'a [DigestLine],
    link: &'a str,
}

fn render(t: &impl Template) -> Result<String, AppError> {
    t.render()
        .map_err(|e| AppError::Internal(format!("mail template: {e}")))
}

/// The key that keeps an adviser's digest to one a day.
fn key(username: &str, day: NaiveDate) -> String {
    format!("digest:{username}:{day}")
}

/// Queues today's digest for every adviser with an e-mail address and new
/// open alerts. Returns how many were queued.
pub fn plan(conn: &mut DbConnection, sender: &Sender, day: NaiveDate) -> Result<usize, AppError> {
    let advisers: Vec<(String, String, String)> = users::table
        .filter(users::role.eq("adviser"))
        .filter(users::active.eq(true))
        .filter(users::email.ne(""))
        .select((users::username, users::display_name, users::email))
        .load(conn)?;
    let mut queued = 0;
    for (username, display_name, email) in advisers {
        let today_key = key(&username, day);
        let done: i64 = outbox_table::table
            .filter(outbox_table::dedupe_key.eq(&today_key))
            .count()
            .get_result(conn)?;
        if done > 0 {
            continue;
        }
        // Since the previous digest to this adviser (its key starts with
        // "digest:<username>:"; compared in Rust, as LIKE would read '_' in
        // a username as a wildcard and collations may order ':' oddly).
        let prefix = format!("digest:{username}:");
        let since: Option<NaiveDateTime> = outbox_table::table
            .filter(outbox_table::kind.eq("alert_digest"))
            .filter(outbox_table::recipient.eq(&email))
            .select((outbox_table::dedupe_key, outbox_table::created_at))
            .load::<(String, NaiveDateTime)>(conn)?
            .into_iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, at)| at)
            .max();
        let mut query = alerts::table
            .inner_join(households::table)
            .filter(households::adviser.eq(&username))
            .filter(alerts::status.eq("open"))
            .into_boxed();
        if let Some(since) = since {
            query = query.filter(alerts::raised_at.gt(since));
        }
        let rows: Vec<(String, String, String, String)> = query
            .order(alerts::id.asc())
            .select((
                households::ref_code,
                households::head_name,
                alerts::resource_title,
                alerts::reasons,
            ))
            .load(conn)?;
        if rows.is_empty() {
            continue;
        }
        let total = rows.len();
        let households = rows
            .iter()
            .map(|r| r.0.as_str())
            .collect::<std::collections::HashSet<_>>()
            .len();
        let lines: Vec<DigestLine> = rows
            .into_iter()
            .take(LISTED)
            .map(|(household_ref, head, title, reasons)| DigestLine {
                household_ref,
                head_name: mask::name(&head),
                policy_title: title,
                reason: serde_json::from_str::<Vec<String>>(&reasons)
                    .ok()
                    .and_then(|r| r.into_iter().next())
                    .unwrap_or_default(),
            })
            .collect();
        let name = if display_name.is_empty() {
            username.as_str()
        } else {
            display_name.as_str()
        };
        let link = format!("{}/work", sender.public_url);
        let letter = Letter {
            to: email,
            to_name: name.to_string(),
            subject: format!("政策找人：{households} 户家庭有 {total} 条新提醒（{day}）"),
            text: render(&DigestText {
                name,
                day,
                total,
                lines: &lines,
                link: &link,
            })?,
            html: render(&DigestHtml {
                name,
                day,
                total,
                lines: &lines,
                link: &link,
            })?,
            attachments: Vec::new(),
        };
        if outbox::enqueue(conn, &sender.from, "alert_digest", &today_key, &letter)? {
            queued += 1;
        }
    }
    Ok(queued)
}
