//! The mail an event sends, all through the outbox: invitations to the
//! region's charities when it is published (again, as a change notice,
//! when its date, time or venue change), reminders in the three days
//! before it, and follow-ups after it to charities whose agreements are not
//! yet fulfilled (14, 30, 60 and 90 days after, or when an admin asks).
//! Messages carry the anonymised need list only.

use askama::Template;
use chrono::NaiveDate;
use diesel::prelude::*;

use super::agreements::{self, AgreementView};
use super::model::{event_or_404, view, EventRow, EventView};
use crate::auth::Identity;
use crate::db::schema::{agreements as agreement_table, events, organisations, pledges};
use crate::db::DbConnection;
use crate::domain::RegionCode;
use crate::error::AppError;
use crate::mail::outbox;
use crate::mail::{Attachment, Letter, Sender};

/// Days before the event when reminders go out.
pub const REMIND_DAYS: i64 = 3;
/// Days after the event when unfulfilled agreements are followed up.
pub const FOLLOW_UP_DAYS: [i64; 4] = [14, 30, 60, 90];

/// Organisation kinds invited (government offices are not).
const INVITED_KINDS: [&str; 3] = ["charity", "company", "community"];

/// A charity to write to.
struct Recipient {
    id: i64,
    name: String,
    email: String,
}

/// The charities of the event's region (their scope covers the event's, or
/// lies inside it) that have an e-mail address.
fn invited(conn: &mut DbConnection, event: &EventRow) -> Result<Vec<Recipient>, AppError> {
    let rows: Vec<(i64, String, String, String)> = organisations::table
        .filter(organisations::kind.eq_any(INVITED_KINDS))
        .filter(organisations::email.ne(""))
        .order(organisations::id.asc())
        .select((
            organisations::id,
            organisations::name,
            organisations::region,
            organisations::email,
        ))
        .load(conn)?;
    let scope = RegionCode::parse(&event.region).ok();
    Ok(rows
        .into_iter()
        .filter(|(_, _, region, _)| {
            let theirs = RegionCode::parse(region).ok();
            match (&scope, &theirs) {
                (Some(ours), Some(theirs)) => {
                    theirs.covers(ours.as_str()) || ours.covers(theirs.as_str())
                }
                _ => false,
            }
        })
        .map(|(id, name, _, email)| Recipient { id, name, email })
        .collect())
}

/// Invited charities plus any that pledged.
fn participants(conn: &mut DbConnection, event: &EventRow) -> Result<Vec<Recipient>, AppError> {
    let mut list = invited(conn, event)?;
    let pledged: Vec<(i64, String, String)> = pledges::table
        .inner_join(organisations::table)
        .filter(pledges::event_id.eq(event.id))
        .filter(organisations::email.ne(""))
        .select((organisations::id, organisations::name, organisations::email))
        .distinct()
        .load(conn)?;
    for (id, name, email) in pledged {
        if !list.iter().any(|r| r.id == id) {
            list.push(Recipient { id, name, email });
        }
    }
    Ok(list)
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    to: &'a str,
    e: &'a EventView,
    changed: bool,
    reminder: bool,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    to: &'a str,
    e: &'a EventView,
    changed: bool,
    reminder: bool,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/follow_up.txt")]
struct FollowUpText<'a> {
    to: &'a str,
    a: &'a AgreementView,
    pending: usize,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/follow_up.html")]
struct FollowUpHtml<'a> {
    to: &'a str,
    a: &'a AgreementView,
    pending: usize,
    link: &'a str,
}

fn render(t: &impl Template) -> Result<String, AppError> {
    t.render()
        .map_err(|e| AppError::Internal(format!("mail template: {e}")))
}

fn event_link(sender: &Sender, event: &EventRow) -> String {
    format!("{}/events/{}", sender.public_url, event.ref_code)
}

/// An invitation (or reminder) letter for one charity, with the `.ics`.
fn invitation(
    sender: &Sender,
    event: &EventRow,
    e: &EventView,
    to: &Recipient,
    reminder: bool,
) -> Result<Letter, AppError> {
    let link = event_link(sender, event);
    let changed = event.version > 1 && !reminder;
    let subject = if reminder {
        format!("会前提醒：{}（{}）", event.title, event.time_range())
    } else if changed {
        format!("对接会变更通知：{}（{}）", event.title, event.time_range())
    } else {
        format!("资源对接会邀请：{}（{}）", event.title, event.time_range())
    };
    let text = render(&InvitationText {
        to: &to.name,
        e,
        changed,
        reminder,
        link: &link,
    })?;
    let html = render(&InvitationHtml {
        to: &to.name,
        e,
        changed,
        reminder,
        link: &link,
    })?;
    Ok(Letter {
        to: to.email.clone(),
        to_name: to.name.clone(),
        subject,
        text,
        html,
        attachments: vec![Attachment {
            filename: format!("{}.ics", event.ref_code),
            content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
            bytes: super::calendar::ics(event, &sender.domain(), &link).into_bytes(),
        }],
    })
}

/// Queues the invitations of a published event (for its current version).
/// Returns how many were queued.
pub fn invite(
    conn: &mut DbConnection,
    sender: &Sender,
    event: &EventRow,
) -> Result<usize, AppError> {
    let e = view(conn, event, false)?;
    let mut queued = 0;
    for r in invited(conn, event)? {
        let key = format!("invite:{}:{}:v{}", event.ref_code, r.id, event.version);
        let letter = invitation(sender, event, &e, &r, false)?;
        if outbox::enqueue(conn, &sender.from, "invitation", &key, &letter)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Midnight of `day` in the server's time zone, as the UTC time stored in
/// the database.
fn local_midnight_utc(day: NaiveDate) -> chrono::NaiveDateTime {
    use chrono::TimeZone;
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
    chrono::Local
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(midnight)
}

/// Reminders for the published events of the next three days.
fn remind(conn: &mut DbConnection, sender: &Sender, today: NaiveDate) -> Result<usize, AppError> {
    let soon: Vec<EventRow> = events::table
        .filter(events::status.eq("published"))
        .filter(events::held_on.ge(today))
        .filter(events::held_on.le(today + chrono::Duration::days(REMIND_DAYS)))
        .select(EventRow::as_select())
        .load(conn)?;
    let mut queued = 0;
    for event in soon {
        let e = view(conn, &event, false)?;
        // The reminder window opens REMIND_DAYS before the event; a charity
        // invited (for this version) after it opened has just been told.
        let window = local_midnight_utc(event.held_on - chrono::Duration::days(REMIND_DAYS));
        for r in participants(conn, &event)? {
            let key = format!("remind:{}:{}:v{}", event.ref_code, r.id, event.version);
            let invite = format!("invite:{}:{}:v{}", event.ref_code, r.id, event.version);
            let recent: i64 = crate::db::schema::outbox::table
                .filter(
                    crate::db::schema::outbox::dedupe_key.eq(&key).or(
                        crate::db::schema::outbox::dedupe_key
                            .eq(&invite)
                            .and(crate::db::schema::outbox::created_at.ge(window)),
                    ),
                )
                .count()
                .get_result(conn)?;
            if recent > 0 {
                continue;
            }
            let letter = invitation(sender, &event, &e, &r, true)?;
            if outbox::enqueue(conn, &sender.from, "reminder", &key, &letter)? {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// Referrals of the agreement neither fulfilled nor declined.
fn pending(a: &AgreementView) -> usize {
    a.needs
        .iter()
        .filter(|n| matches!(n.referral_status.as_str(), "referred" | "accepted"))
        .count()
}

fn follow_up_letter(
    sender: &Sender,
    a: &AgreementView,
    to: &Recipient,
) -> Result<Letter, AppError> {
    let link = format!("{}/referrals", sender.public_url);
    let n = pending(a);
    Ok(Letter {
        to: to.email.clone(),
        to_name: to.name.clone(),
        subject: format!("协议跟进：{}（{} 项待完成）", a.number, n),
        text: render(&FollowUpText {
            to: &to.name,
            a,
            pending: n,
            link: &link,
        })?,
        html: render(&FollowUpHtml {
            to: &to.name,
            a,
            pending: n,
            link: &link,
        })?,
        attachments: Vec::new(),
    })
}

/// Agreements of held or closed events with referrals still open, with
/// the charity to write to.
fn unfulfilled(
    conn: &mut DbConnection,
    event: &EventRow,
) -> Result<Vec<(AgreementView, Recipient)>, AppError> {
    let rows: Vec<(String, i64, String, String)> = agreement_table::table
        .inner_join(pledges::table.inner_join(organisations::table))
        .filter(agreement_table::event_id.eq(event.id))
        .filter(organisations::email.ne(""))
        .select((
            agreement_table::number,
            organisations::id,
            organisations::name,
            organisations::email,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    for (number, id, name, email) in rows {
        let a = agreements::anonymous(conn, &number)?;
        if pending(&a) > 0 {
            out.push((a, Recipient { id, name, email }));
        }
    }
    Ok(out)
}

/// Follow-ups due by the calendar: at the latest milestone passed (earlier
/// ones missed are not sent late).
fn follow_up(
    conn: &mut DbConnection,
    sender: &Sender,
    today: NaiveDate,
) -> Result<usize, AppError> {
    let after: Vec<EventRow> = events::table
        .filter(events::status.eq_any(["held", "closed"]))
        .filter(events::held_on.ge(today - chrono::Duration::days(FOLLOW_UP_DAYS[3])))
        .select(EventRow::as_select())
        .load(conn)?;
    let mut queued = 0;
    for event in after {
        let days = (today - event.held_on).num_days();
        let Some(milestone) = FOLLOW_UP_DAYS.iter().rev().find(|d| **d <= days) else {
            continue;
        };
        for (a, to) in unfulfilled(conn, &event)? {
            let key = format!("follow:{}:d{milestone}", a.number);
            let letter = follow_up_letter(sender, &a, &to)?;
            if outbox::enqueue(conn, &sender.from, "follow_up", &key, &letter)? {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// An admin sends follow-ups now (once a day per agreement). Returns how
/// many were queued.
pub fn follow_up_now(
    conn: &mut DbConnection,
    who: &Identity,
    sender: &Sender,
    event_ref: &str,
    today: NaiveDate,
) -> Result<usize, AppError> {
    if !who.is_admin() {
        return Err(AppError::forbidden());
    }
    let event = event_or_404(conn, event_ref)?;
    if !matches!(event.status.as_str(), "held" | "closed") {
        return Err(AppError::Conflict(
            "对接会举行后才能发送协议跟进提醒 (follow-ups are sent after the event)".into(),
        ));
    }
    let mut queued = 0;
    for (a, to) in unfulfilled(conn, &event)? {
        let key = format!("follow:{}:manual:{today}", a.number);
        let letter = follow_up_letter(sender, &a, &to)?;
        if outbox::enqueue(conn, &sender.from, "follow_up", &key, &letter)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// What the calendar makes due today: reminders and follow-ups.
pub fn plan(conn: &mut DbConnection, sender: &Sender, today: NaiveDate) -> Result<usize, AppError> {
    Ok(remind(conn, sender, today)? + follow_up(conn, sender, today)?)
}
