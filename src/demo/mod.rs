//! The demo data set: providers, a catalogue written from the policies and
//! services the seed documents describe, and one account per role.

use crate::auth::organisations::{self, OrganisationInput};
use crate::auth::users::{self, UserInput};
use crate::catalogue::import::{import_resources, ImportError, ImportReport};
use diesel::Connection;

use crate::db::DbConnection;
use crate::domain::region_names::{self, RegionNameInput};
use crate::error::AppError;

const ORGANISATIONS: &str = include_str!("organisations.json");
const RESOURCES: &str = include_str!("resources.json");
const REGIONS: &str = include_str!("regions.json");

/// A demo login, printed when the demo data is loaded.
pub mod events;
pub mod households;
pub mod synthetic;

pub struct DemoAccount {
    pub username: &'static str,
    pub password: &'static str,
    pub display_name: &'static str,
    pub role: &'static str,
    pub organisation: Option<&'static str>,
    pub regions: &'static [&'static str],
}

pub const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        username: "admin",
        password: "Admin#2026",
        display_name: "王敏（民政局）",
        role: "admin",
        organisation: Some("青浦区民政局"),
        regions: &[],
    },
    DemoAccount {
        username: "adviser",
        password: "Adviser#2026",
        display_name: "李娟（香花桥街道救助顾问）",
        role: "adviser",
        organisation: None,
        regions: &["310118-003", "310118-001"],
    },
    DemoAccount {
        username: "adviser2",
        password: "Adviser#2026",
        display_name: "陈刚（徐汇区救助顾问）",
        role: "adviser",
        organisation: None,
        regions: &["310104"],
    },
    DemoAccount {
        username: "charity",
        password: "Charity#2026",
        display_name: "周洁（青浦区慈善基金会）",
        role: "charity",
        organisation: Some("青浦区慈善基金会"),
        regions: &[],
    },
    DemoAccount {
        username: "company",
        password: "Company#2026",
        display_name: "赵磊（联华超市）",
        role: "charity",
        organisation: Some("联华超市股份有限公司"),
        regions: &[],
    },
];

#[derive(Debug)]
pub struct DemoReport {
    pub organisations: usize,
    pub resources: ImportReport,
    pub accounts: usize,
    /// Households written (those already present are left as they are).
    pub households: usize,
    /// Whether this quarter's demo matchmaking event was created now.
    pub event: bool,
}

/// Loads (or refreshes) the demo data in one transaction; safe to run more
/// than once. Demo accounts are created only when missing: an existing
/// account (say a real `admin`) keeps its password.
pub fn load(
    conn: &mut DbConnection,
    cipher: &crate::privacy::DataCipher,
    sender: &crate::mail::Sender,
    progress: impl FnMut(usize, usize),
) -> Result<DemoReport, AppError> {
    conn.transaction(|conn| {
        crate::db::lock_for_write(conn)?;
        load_in_transaction(conn, cipher, sender, progress)
    })
}

fn load_in_transaction(
    conn: &mut DbConnection,
    cipher: &crate::privacy::DataCipher,
    sender: &crate::mail::Sender,
    progress: impl FnMut(usize, usize),
) -> Result<DemoReport, AppError> {
    let orgs: Vec<OrganisationInput> = serde_json::from_str(ORGANISATIONS)
        .map_err(|e| AppError::Internal(format!("demo organisations: {e}")))?;
    for org in &orgs {
        organisations::upsert(conn, org)?;
    }
    let regions: Vec<RegionNameInput> = serde_json::from_str(REGIONS)
        .map_err(|e| AppError::Internal(format!("demo regions: {e}")))?;
    for region in &regions {
        region_names::upsert(conn, region)?;
    }
    let resources = import_resources(conn, RESOURCES, "demo", progress).map_err(|e| match e {
        ImportError::App(a) => a,
        other => AppError::Internal(format!("demo resources: {other}")),
    })?;
    for account in ACCOUNTS {
        let input = UserInput {
            username: account.username.into(),
            display_name: account.display_name.into(),
            password: Some(account.password.into()),
            role: account.role.into(),
            organisation: account.organisation.map(str::to_string),
            regions: account.regions.iter().map(|r| r.to_string()).collect(),
            active: true,
            // Advisers get their alert digests (as .eml files without SMTP).
            email: (account.role == "adviser")
                .then(|| format!("{}@aidmatch.local", account.username)),
        };
        if users::find_by_username(conn, account.username)?.is_none() {
            users::create(conn, &input)?;
        }
    }
    let today = chrono::Local::now().date_naive();
    let households = households::load(conn, cipher, today)?;
    let event = events::load(conn, sender, today)?;
    Ok(DemoReport {
        organisations: orgs.len(),
        resources,
        accounts: ACCOUNTS.len(),
        households,
        event,
    })
}

/// The lines listing the demo logins.
pub fn logins_text() -> String {
    ACCOUNTS
        .iter()
        .map(|a| {
            format!(
                "  {:<9} 密码 {:<13} {}",
                a.username, a.password, a.display_name
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
