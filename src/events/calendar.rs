//! The event as an iCalendar (`.ics`) file, attached to invitations and
//! reminders: one VEVENT whose UID stays the same across changes and whose
//! SEQUENCE is the event's version, so a calendar program updates the
//! entry it has instead of adding another. Times are China Standard Time
//! (UTC+8, no daylight saving), written in UTC.

use chrono::{Duration, NaiveDateTime, TimeZone, Utc};
use icalendar::{Calendar, Component, EventLike};

use super::model::EventRow;

/// The offset of the events' local time from UTC.
const CHINA_OFFSET_HOURS: i64 = 8;

fn utc(local: NaiveDateTime) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&(local - Duration::hours(CHINA_OFFSET_HOURS)))
}

/// The stable UID of an event's calendar entry.
pub fn uid(event: &EventRow, domain: &str) -> String {
    format!("{}@{domain}", event.ref_code)
}

/// The `.ics` text; `link` is the public page of the need list.
pub fn ics(event: &EventRow, domain: &str, link: &str) -> String {
    let start = utc(event.held_on.and_time(event.starts_at));
    let end = utc(event.held_on.and_time(event.ends_at));
    let mut description = format!("需求清单：{link}");
    if !event.description.is_empty() {
        description = format!("{}\n\n{description}", event.description);
    }
    let mut cal = Calendar::new();
    cal.name(&event.title);
    cal.append_property(("METHOD", "PUBLISH"));
    cal.push(
        icalendar::Event::new()
            .uid(&uid(event, domain))
            .sequence(event.version.max(0) as u32)
            .timestamp(Utc::now())
            .summary(&event.title)
            .description(&description)
            .location(&event.venue)
            .starts(start)
            .ends(end)
            .url(link)
            .done(),
    );
    cal.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};

    #[test]
    fn the_calendar_parses_back_with_utc_times() {
        let event = EventRow {
            id: 1,
            ref_code: "E-2027Q1-310118-003".into(),
            region: "310118-003".into(),
            quarter: "2027Q1".into(),
            title: "香花桥街道 2027 年第一季度资源对接会".into(),
            held_on: NaiveDate::from_ymd_opt(2027, 2, 15).unwrap(),
            starts_at: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            ends_at: NaiveTime::from_hms_opt(16, 30, 0).unwrap(),
            venue: "香花桥街道社区事务受理服务中心，三楼会议室".into(),
            description: "现场签约；请携带机构公章。".into(),
            status: "published".into(),
            version: 2,
            created_by: "admin".into(),
            created_at: Utc::now().naive_utc(),
            updated_at: Utc::now().naive_utc(),
            published_at: None,
            held_at: None,
            closed_at: None,
        };
        let text = ics(
            &event,
            "aidmatch.local",
            "http://localhost/events/E-2027Q1-310118-003",
        );
        assert!(text.contains("DTSTART:20270215T060000Z"), "{text}");
        assert!(text.contains("DTEND:20270215T083000Z"));
        let parsed: Calendar = text.parse().expect("parses");
        let e = parsed.events().next().expect("one event");
        assert_eq!(e.get_summary(), Some(event.title.as_str()));
        assert_eq!(e.get_location(), Some(event.venue.as_str()));
        assert_eq!(e.get_sequence(), Some(2));
        assert_eq!(e.get_uid(), Some("E-2027Q1-310118-003@aidmatch.local"));
    }
}
