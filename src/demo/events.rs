//! The demo's matchmaking event: this quarter's for 香花桥街道
//! (310118-003), two weeks ahead (or on the quarter's last day), its need
//! list compiled from the demo households' open needs and published — the
//! invitations to the demo charities go through the outbox. Created once.

use chrono::{Duration, NaiveDate};

use crate::auth::Identity;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::events::lifecycle::{self, parse_quarter, quarter_days, quarter_of, EventInput};
use crate::events::{model, need_list};
use crate::mail::Sender;

pub const REGION: &str = "310118-003";

/// Returns whether the event was created now.
pub fn load(conn: &mut DbConnection, sender: &Sender, today: NaiveDate) -> Result<bool, AppError> {
    let quarter = quarter_of(today);
    let ref_code = format!("E-{quarter}-{REGION}");
    if model::find_event(conn, &ref_code)?.is_some() {
        return Ok(false);
    }
    let (y, q) = parse_quarter(&quarter).expect("a quarter");
    let (_, last) = quarter_days(y, q);
    let held_on = (today + Duration::days(14)).min(last);
    let system = Identity::system();
    lifecycle::create(
        conn,
        &system,
        &EventInput {
            region: REGION.into(),
            quarter,
            title: String::new(),
            held_on: held_on.to_string(),
            starts_at: "14:00".into(),
            ends_at: "16:30".into(),
            venue: "香花桥街道社区事务受理服务中心三楼会议室".into(),
            description: "本季度资源对接会：社区救助顾问介绍需求，公益组织和爱心企业现场认领、签约。请携带机构公章。".into(),
        },
        today,
    )?;
    if need_list::compile(conn, &system, &ref_code, today)? > 0 {
        lifecycle::transition(conn, &system, sender, &ref_code, "published", today)?;
    }
    Ok(true)
}
