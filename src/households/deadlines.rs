//! The adviser's deadlines (seed 002 §1.1.4, §1.2.3): a newly identified
//! household gets its first home visit within 30 days; a red-risk household
//! is followed up every month.

use chrono::{Duration, NaiveDate};
use serde::Serialize;

/// Days from identification to the first home visit.
pub const FIRST_VISIT_DAYS: i64 = 30;
/// Days between follow-ups of a red-risk household.
pub const FOLLOW_UP_DAYS: i64 = 30;

/// What is due for a household, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    /// `first_visit` or `follow_up`.
    pub kind: &'static str,
    pub due_on: NaiveDate,
    /// Days left (negative: overdue by that many days).
    pub days_left: i64,
}

impl Due {
    pub fn overdue(&self) -> bool {
        self.days_left < 0
    }
}

/// The first home visit, while none has been made.
pub fn first_visit(identified_on: NaiveDate, visited: bool, today: NaiveDate) -> Option<Due> {
    if visited {
        return None;
    }
    let due_on = identified_on + Duration::days(FIRST_VISIT_DAYS);
    Some(Due {
        kind: "first_visit",
        due_on,
        days_left: (due_on - today).num_days(),
    })
}

/// The next monthly follow-up of a red-risk household: a month after the
/// last contact of any kind (or after identification when there was none).
pub fn follow_up(
    risk: Option<&str>,
    last_contact: Option<NaiveDate>,
    identified_on: NaiveDate,
    today: NaiveDate,
) -> Option<Due> {
    if risk != Some("red") {
        return None;
    }
    let due_on = last_contact.unwrap_or(identified_on) + Duration::days(FOLLOW_UP_DAYS);
    Some(Due {
        kind: "follow_up",
        due_on,
        days_left: (due_on - today).num_days(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn first_visit_within_30_days() {
        let today = d("2026-11-23");
        let due = first_visit(d("2026-11-01"), false, today).unwrap();
        assert_eq!(due.due_on, d("2026-12-01"));
        assert_eq!(due.days_left, 8);
        assert!(!due.overdue());
        let late = first_visit(d("2026-10-01"), false, today).unwrap();
        assert_eq!(late.days_left, -23);
        assert!(late.overdue());
        assert_eq!(first_visit(d("2026-10-01"), true, today), None);
    }

    #[test]
    fn red_households_monthly() {
        let today = d("2026-11-23");
        let due = follow_up(Some("red"), Some(d("2026-10-10")), d("2026-01-01"), today).unwrap();
        assert_eq!(due.due_on, d("2026-11-09"));
        assert!(due.overdue());
        let never = follow_up(Some("red"), None, d("2026-11-20"), today).unwrap();
        assert_eq!(never.due_on, d("2026-12-20"));
        assert_eq!(
            follow_up(Some("yellow"), None, d("2026-01-01"), today),
            None
        );
        assert_eq!(follow_up(None, None, d("2026-01-01"), today), None);
    }
}
