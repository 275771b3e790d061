//! Creating events, the quarterly proposals, editing, and the status
//! moves draft → published → held → closed.

use chrono::{Datelike, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;

use super::model::{event_or_404, EventRow};
use crate::auth::Identity;
use crate::db::schema::{event_items, events, households, needs};
use crate::db::{lock_for_write, DbConnection};
use crate::domain::RegionCode;
use crate::error::{AppError, FieldError};
use crate::mail::Sender;

/// "2026Q4" for a day in October–December 2026.
pub fn quarter_of(day: NaiveDate) -> String {
    format!("{}Q{}", day.year(), (day.month() - 1) / 3 + 1)
}

/// The quarter after `day`'s.
pub fn next_quarter(day: NaiveDate) -> (i32, u32) {
    let q = (day.month() - 1) / 3 + 1;
    if q == 4 {
        (day.year() + 1, 1)
    } else {
        (day.year(), q + 1)
    }
}

/// Parses "2026Q4".
pub fn parse_quarter(s: &str) -> Option<(i32, u32)> {
    let (y, q) = s.trim().split_once(['Q', 'q'])?;
    let (y, q) = (y.parse::<i32>().ok()?, q.parse::<u32>().ok()?);
    ((2000..=2100).contains(&y) && (1..=4).contains(&q)).then_some((y, q))
}

/// The first and last day of a quarter.
pub fn quarter_days(year: i32, q: u32) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1).expect("valid quarter");
    let next = if q == 4 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, q * 3 + 1, 1)
    }
    .expect("valid quarter");
    (first, next.pred_opt().expect("a day before"))
}

/// What an admin types to create or edit an event.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EventInput {
    pub region: String,
    /// `2026Q4`; defaults to the quarter of `held_on`.
    #[serde(default)]
    pub quarter: String,
    #[serde(default)]
    pub title: String,
    /// `YYYY-MM-DD`
    pub held_on: String,
    /// `HH:MM`
    pub starts_at: String,
    pub ends_at: String,
    pub venue: String,
    #[serde(default)]
    pub description: String,
}

/// The checked input.
pub struct Checked {
    pub region: RegionCode,
    pub quarter: String,
    pub title: String,
    pub held_on: NaiveDate,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub venue: String,
    pub description: String,
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M:%S"))
        .ok()
}

/// Checks every field and reports all problems at once.
pub fn check(
    input: &EventInput,
    region_label: impl Fn(&str) -> String,
) -> Result<Checked, AppError> {
    let mut errors = Vec::new();
    let region = match RegionCode::parse(&input.region) {
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(FieldError::new("region", e));
            None
        }
    };
    let held_on = match NaiveDate::parse_from_str(input.held_on.trim(), "%Y-%m-%d") {
        Ok(d) if (2000..=2100).contains(&d.year()) => Some(d),
        Ok(_) => {
            errors.push(FieldError::new(
                "held_on",
                "活动日期须在 2000–2100 年之间 (date out of range)",
            ));
            None
        }
        Err(_) => {
            errors.push(FieldError::new(
                "held_on",
                "请填写活动日期，格式为 YYYY-MM-DD (date required)",
            ));
            None
        }
    };
    let starts_at = parse_time(&input.starts_at);
    if starts_at.is_none() {
        errors.push(FieldError::new(
            "starts_at",
            "请填写开始时间，格式为 HH:MM (start time required)",
        ));
    }
    let ends_at = parse_time(&input.ends_at);
    if ends_at.is_none() {
        errors.push(FieldError::new(
            "ends_at",
            "请填写结束时间，格式为 HH:MM (end time required)",
        ));
    }
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e <= s {
            errors.push(FieldError::new(
                "ends_at",
                "结束时间须晚于开始时间 (the event must end after it starts)",
            ));
        }
    }
    let venue = input.venue.trim().to_string();
    if venue.is_empty() {
        errors.push(FieldError::new("venue", "请填写活动地点 (venue required)"));
    } else if venue.chars().count() > 200 {
        errors.push(FieldError::new(
            "venue",
            "地点不能超过 200 字 (venue too long)",
        ));
    }
    let description = input.description.trim().to_string();
    if description.chars().count() > 2000 {
        errors.push(FieldError::new(
            "description",
            "说明不能超过 2000 字 (description too long)",
        ));
    }
    let quarter = if input.quarter.trim().is_empty() {
        held_on.map(quarter_of).unwrap_or_default()
    } else {
        match parse_quarter(&input.quarter) {
            Some((y, q)) => format!("{y}Q{q}"),
            None => {
                errors.push(FieldError::new(
                    "quarter",
                    "季度格式为 2026Q4 (quarter like 2026Q4)",
                ));
                String::new()
            }
        }
    };
    if let (Some(d), Some((y, q))) = (held_on, parse_quarter(&quarter)) {
        let (first, last) = quarter_days(y, q);
        if d < first || d > last {
            errors.push(FieldError::new(
                "held_on",
                format!(
                    "活动日期须在 {quarter} 季度内（{first} 至 {last}）(date outside the quarter)"
                ),
            ));
        }
    }
    let title = input.title.trim().to_string();
    if title.chars().count() > 100 {
        errors.push(FieldError::new(
            "title",
            "标题不能超过 100 字 (title too long)",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let region = region.expect("checked");
    let (y, q) = parse_quarter(&quarter)
        .ok_or_else(|| AppError::field("quarter", "季度格式为 2026Q4 (quarter like 2026Q4)"))?;
    let title = if title.is_empty() {
        format!(
            "{} {y} 年第{}季度资源对接会",
            region_label(region.as_str()),
            ["一", "二", "三", "四"][(q - 1) as usize]
        )
    } else {
        title
    };
    Ok(Checked {
        region,
        quarter,
        title,
        held_on: held_on.expect("checked"),
        starts_at: starts_at.expect("checked"),
        ends_at: ends_at.expect("checked"),
        venue,
        description,
    })
}

fn only_admin(who: &Identity) -> Result<(), AppError> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "只有民政管理员可以管理资源对接会 (only admins manage events)".into(),
        ))
    }
}

fn past_date() -> AppError {
    AppError::field(
        "held_on",
        "活动日期不能早于今天 (the event date is in the past)",
    )
}

/// Creates a draft event.
pub fn create(
    conn: &mut DbConnection,
    who: &Identity,
    input: &EventInput,
    today: NaiveDate,
) -> Result<EventRow, AppError> {
    only_admin(who)?;
    let names = crate::domain::region_names::names(conn)?;
    let c = check(input, |code| names.label(code))?;
    if c.held_on < today {
        return Err(past_date());
    }
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let taken: i64 = events::table
            .filter(events::region.eq(c.region.as_str()))
            .filter(events::quarter.eq(&c.quarter))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(AppError::Conflict(format!(
                "{} 在 {} 已有对接会 (one event per region and quarter)",
                c.region.as_str(),
                c.quarter
            )));
        }
        let ref_code = format!("E-{}-{}", c.quarter, c.region.as_str());
        let now = Utc::now().naive_utc();
        diesel::insert_into(events::table)
            .values((
                events::ref_code.eq(&ref_code),
                events::region.eq(c.region.as_str()),
                events::quarter.eq(&c.quarter),
                events::title.eq(&c.title),
                events::held_on.eq(c.held_on),
                events::starts_at.eq(c.starts_at),
                events::ends_at.eq(c.ends_at),
                events::venue.eq(&c.venue),
                events::description.eq(&c.description),
                events::status.eq("draft"),
                events::version.eq(1),
                events::created_by.eq(&who.username),
                events::created_at.eq(now),
                events::updated_at.eq(now),
            ))
            .execute(conn)?;
        event_or_404(conn, &ref_code)
    })
}

/// Edits an event that is not closed; region and quarter stay. Changing the
/// date, time or venue of a published event bumps its version, and the
/// invited charities are sent the change.
pub fn update(
    conn: &mut DbConnection,
    who: &Identity,
    sender: &Sender,
    ref_code: &str,
    input: &EventInput,
    today: NaiveDate,
) -> Result<EventRow, AppError> {
    only_admin(who)?;
    let names = crate::domain::region_names::names(conn)?;
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let e = event_or_404(conn, ref_code)?;
        if matches!(e.status.as_str(), "held" | "closed") {
            return Err(AppError::Conflict(format!(
                "对接会已{}，不能再修改 (a held or closed event is not edited)",
                e.status_label()
            )));
        }
        let mut input = input.clone();
        input.region = e.region.clone();
        input.quarter = e.quarter.clone();
        let c = check(&input, |code| names.label(code))?;
        if c.held_on != e.held_on && c.held_on < today {
            return Err(past_date());
        }
        if e.status != "draft" {
            // Published texts stay free of personal data.
            let people = super::privacy::names_in(conn, &e.region)?;
            let errors: Vec<FieldError> = [("title", &c.title), ("description", &c.description)]
                .into_iter()
                .filter_map(|(f, t)| super::privacy::check_text(f, t, &people).err())
                .collect();
            if !errors.is_empty() {
                return Err(AppError::Validation(errors));
            }
        }
        let moved = c.held_on != e.held_on
            || c.starts_at != e.starts_at
            || c.ends_at != e.ends_at
            || c.venue != e.venue;
        // A published event's version counts the changes its invited
        // charities were told of; a draft's changes tell nobody.
        let version = if moved && e.status == "published" {
            e.version + 1
        } else {
            e.version
        };
        diesel::update(events::table.find(e.id))
            .set((
                events::title.eq(&c.title),
                events::held_on.eq(c.held_on),
                events::starts_at.eq(c.starts_at),
                events::ends_at.eq(c.ends_at),
                events::venue.eq(&c.venue),
                events::description.eq(&c.description),
                events::version.eq(version),
                events::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        let e = event_or_404(conn, ref_code)?;
        if moved && e.status == "published" {
            super::mailings::invite(conn, sender, &e)?;
        }
        Ok(e)
    })
}

/// Deletes a draft (nothing was published, pledged or signed).
pub fn delete(conn: &mut DbConnection, who: &Identity, ref_code: &str) -> Result<(), AppError> {
    only_admin(who)?;
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let e = event_or_404(conn, ref_code)?;
        if e.status != "draft" {
            return Err(AppError::Conflict(
                "只能删除草稿状态的对接会 (only drafts are deleted)".into(),
            ));
        }
        diesel::delete(events::table.find(e.id)).execute(conn)?;
        Ok(())
    })
}

/// Moves an event on: `published` (the need list must have a visible
/// item; invitations go out), `held` (on or after its day), `closed`.
pub fn transition(
    conn: &mut DbConnection,
    who: &Identity,
    sender: &Sender,
    ref_code: &str,
    to: &str,
    today: NaiveDate,
) -> Result<EventRow, AppError> {
    only_admin(who)?;
    if !["published", "held", "closed"].contains(&to) {
        return Err(AppError::field(
            "status",
            "状态须为 published、held 或 closed (unknown status)",
        ));
    }
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let e = event_or_404(conn, ref_code)?;
        let now = Utc::now().naive_utc();
        match (e.status.as_str(), to) {
            ("draft", "published") => {
                let visible: i64 = event_items::table
                    .filter(event_items::event_id.eq(e.id))
                    .filter(event_items::hidden.eq(false))
                    .count()
                    .get_result(conn)?;
                if visible == 0 {
                    return Err(AppError::Conflict(
                        "需求清单为空：请先汇总并检查需求清单再发布 (compile the need list before publishing)"
                            .into(),
                    ));
                }
                if e.held_on < today {
                    return Err(AppError::Conflict(format!(
                        "活动日期 {} 已过，请先修改日期再发布 (the event date has passed)",
                        e.held_on
                    )));
                }
                super::privacy::check_event(conn, &e)?;
                diesel::update(events::table.find(e.id))
                    .set((
                        events::status.eq("published"),
                        events::published_at.eq(Some(now)),
                        events::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                let e = event_or_404(conn, ref_code)?;
                super::mailings::invite(conn, sender, &e)?;
                Ok(e)
            }
            ("published", "held") => {
                if today < e.held_on {
                    return Err(AppError::Conflict(format!(
                        "活动日期 {} 未到，不能标记为已举行 (the event has not taken place yet)",
                        e.held_on
                    )));
                }
                diesel::update(events::table.find(e.id))
                    .set((
                        events::status.eq("held"),
                        events::held_at.eq(Some(now)),
                        events::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                event_or_404(conn, ref_code)
            }
            ("held", "closed") => {
                diesel::update(events::table.find(e.id))
                    .set((
                        events::status.eq("closed"),
                        events::closed_at.eq(Some(now)),
                        events::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                event_or_404(conn, ref_code)
            }
            (from, to) => Err(AppError::Conflict(format!(
                "对接会状态不能从“{}”变为“{}” (events move draft → published → held → closed)",
                super::model::label(super::model::EVENT_STATUSES, from),
                super::model::label(super::model::EVENT_STATUSES, to)
            ))),
        }
    })
}

/// A proposed event: a street with open needs and no event next quarter.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Proposal {
    pub region: String,
    pub region_name: String,
    pub quarter: String,
    /// Suggested: the 15th of the quarter's middle month.
    pub held_on: NaiveDate,
    pub open_needs: i64,
}

/// The street part of a region code (`310118-003`).
pub fn street(region: &str) -> String {
    region.split('-').take(2).collect::<Vec<_>>().join("-")
}

/// Next quarter's proposals, one per street with open needs.
pub fn proposals(conn: &mut DbConnection, today: NaiveDate) -> Result<Vec<Proposal>, AppError> {
    let (y, q) = next_quarter(today);
    let quarter = format!("{y}Q{q}");
    let rows: Vec<String> = needs::table
        .inner_join(households::table)
        .filter(needs::status.eq("open"))
        .filter(households::status.eq("active"))
        .filter(households::consent.eq(true))
        .select(households::region)
        .load(conn)?;
    let mut per_street: std::collections::BTreeMap<String, i64> = Default::default();
    for r in rows {
        *per_street.entry(street(&r)).or_insert(0) += 1;
    }
    let planned: Vec<String> = events::table
        .filter(events::quarter.eq(&quarter))
        .select(events::region)
        .load(conn)?;
    let names = crate::domain::region_names::names(conn)?;
    let held_on = NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 2, 15).expect("valid day");
    Ok(per_street
        .into_iter()
        .filter(|(s, _)| s.contains('-'))
        // A street already covered by an event of that quarter (its own or
        // its district's) needs no other.
        .filter(|(s, _)| {
            !planned
                .iter()
                .filter_map(|p| RegionCode::parse(p).ok())
                .any(|p| p.covers(s))
        })
        .map(|(region, open_needs)| Proposal {
            region_name: names.label(&region),
            region,
            quarter: quarter.clone(),
            held_on,
            open_needs,
        })
        .collect())
}

/// Events, newest first: all for admins, the public ones for everyone else.
pub fn list(conn: &mut DbConnection, include_drafts: bool) -> Result<Vec<EventRow>, AppError> {
    let mut q = events::table.into_boxed();
    if !include_drafts {
        q = q.filter(events::status.ne("draft"));
    }
    Ok(q.order((events::held_on.desc(), events::id.desc()))
        .select(EventRow::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn quarters() {
        assert_eq!(quarter_of(d(2026, 11, 23)), "2026Q4");
        assert_eq!(quarter_of(d(2026, 1, 1)), "2026Q1");
        assert_eq!(next_quarter(d(2026, 11, 23)), (2027, 1));
        assert_eq!(next_quarter(d(2026, 6, 30)), (2026, 3));
        assert_eq!(parse_quarter("2026Q4"), Some((2026, 4)));
        assert_eq!(parse_quarter("2026Q5"), None);
        assert_eq!(quarter_days(2026, 4), (d(2026, 10, 1), d(2026, 12, 31)));
        assert_eq!(quarter_days(2027, 1), (d(2027, 1, 1), d(2027, 3, 31)));
    }

    #[test]
    fn input_is_checked_field_by_field() {
        let bad = EventInput {
            region: "abc".into(),
            held_on: "2026-13-01".into(),
            starts_at: "14:00".into(),
            ends_at: "13:00".into(),
            venue: " ".into(),
            ..Default::default()
        };
        let Err(AppError::Validation(errors)) = check(&bad, |c| c.to_string()) else {
            panic!("invalid input accepted");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["region", "held_on", "ends_at", "venue"]);
        let good = EventInput {
            region: "310118-003".into(),
            held_on: "2027-02-15".into(),
            starts_at: "14:00".into(),
            ends_at: "16:30".into(),
            venue: "香花桥街道社区事务受理服务中心".into(),
            ..Default::default()
        };
        let c = check(&good, |_| "青浦区 · 香花桥街道".into()).unwrap();
        assert_eq!(c.quarter, "2027Q1");
        assert_eq!(c.title, "青浦区 · 香花桥街道 2027 年第一季度资源对接会");
        let outside = EventInput {
            quarter: "2026Q4".into(),
            ..good
        };
        assert!(check(&outside, |c| c.to_string()).is_err());
    }
}
