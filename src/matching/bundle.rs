//! The three-list bundle (一户一案): for one household, the policy list
//! (eligible policies with reasons, and near misses), the need list, and
//! the resource list (resources matched to each live need). Personal data
//! in it is masked. A saved bundle is an immutable, numbered snapshot.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::ranking::{household_groups, match_need, Match};
use crate::db::schema::{bundles, households};
use crate::db::{lock_for_write, DbConnection};
use crate::eligibility::facts::{derive, FactsInput};
use crate::eligibility::report::{EligiblePolicy, NearMiss};
use crate::eligibility::rulebook::{screen, Loaded};
use crate::error::AppError;
use crate::households::history;
use crate::households::needs::{self, NeedQuery};
use crate::households::repository::{self, Household, Scope};
use crate::households::view::age;
use crate::privacy::{mask, DataCipher};
use crate::search::SearchIndex;

/// Resources suggested per need.
pub const MATCHES_PER_NEED: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundleMember {
    /// Masked (`张**`).
    pub name: String,
    pub relation: String,
    pub sex: Option<String>,
    pub age: Option<u32>,
    pub disability_grade: i64,
    pub health: Vec<String>,
    pub employment: Option<String>,
    pub student_stage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundleAssessment {
    pub assessed_on: NaiveDate,
    pub total: i64,
    pub priority: bool,
    pub risk: String,
    pub service_type: String,
}

/// The household as the bundle shows it: personal data masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundleHousehold {
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub region: String,
    /// Masked.
    pub head_name: String,
    pub address: Option<String>,
    pub contact_phone: Option<String>,
    pub adviser: Option<String>,
    pub members: Vec<BundleMember>,
    pub status: Vec<String>,
    pub assessment: Option<BundleAssessment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundleNeed {
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub dimension: String,
    pub title: String,
    pub detail: String,
    pub urgency: String,
    pub quantity: i64,
    pub status: String,
}

/// The resources matched to one need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NeedResources {
    pub need_ref: String,
    pub need_title: String,
    pub dimension: String,
    pub matches: Vec<Match>,
}

/// SPEC `{household, policies, needs, resources}`, plus the near misses and
/// bookkeeping.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bundle {
    /// Set once saved (`B-000001`).
    pub number: Option<String>,
    pub as_of: NaiveDate,
    pub household: BundleHousehold,
    pub policies: Vec<EligiblePolicy>,
    /// The first near misses (at most 20).
    pub near_misses: Vec<NearMiss>,
    /// How many near misses there are in all (0 in snapshots saved before
    /// it was kept).
    #[serde(default)]
    pub near_misses_total: usize,
    pub needs: Vec<BundleNeed>,
    pub resources: Vec<NeedResources>,
    pub generated_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub generated_at: NaiveDateTime,
}

fn masked(
    cipher: &DataCipher,
    purpose: &str,
    sealed: &Option<String>,
    f: fn(&str) -> String,
) -> Result<Option<String>, AppError> {
    sealed
        .as_deref()
        .map(|s| cipher.decrypt(purpose, s).map(|v| f(&v)))
        .transpose()
}

/// Builds the bundle of `h` on `as_of`.
pub fn build(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    search: &SearchIndex,
    book: &Loaded,
    h: &Household,
    as_of: NaiveDate,
    actor: &str,
) -> Result<Bundle, AppError> {
    let input = FactsInput::of(h);
    let facts = derive(&input, as_of);
    let found = screen(book.policies(Some(&h.row.region), as_of), &facts);
    let (need_rows, _) = needs::list(
        conn,
        &Scope::All,
        &NeedQuery {
            household_ref: Some(h.row.ref_code.clone()),
            page: 1,
            per_page: 200,
            ..Default::default()
        },
    )?;
    let groups = household_groups(&facts.to_json());
    let mut resources = Vec::new();
    for n in need_rows
        .iter()
        .filter(|n| matches!(n.status.as_str(), "open" | "matched"))
    {
        resources.push(NeedResources {
            need_ref: n.ref_code.clone(),
            need_title: n.title.clone(),
            dimension: n.dimension.clone(),
            matches: match_need(
                conn,
                search,
                book,
                &h.row.region,
                &facts,
                &groups,
                n,
                as_of,
                MATCHES_PER_NEED,
            )?,
        });
    }
    let latest = history::assessments_of(conn, h.row.id)?.into_iter().next();
    let profile = h.row.profile();
    Ok(Bundle {
        number: None,
        as_of,
        household: BundleHousehold {
            ref_code: h.row.ref_code.clone(),
            region: h.row.region.clone(),
            head_name: mask::name(&h.row.head_name),
            address: masked(
                cipher,
                repository::ADDRESS,
                &h.row.address_enc,
                mask::address,
            )?,
            contact_phone: masked(
                cipher,
                repository::CONTACT_PHONE,
                &h.row.contact_phone_enc,
                mask::phone,
            )?,
            adviser: h.row.adviser.clone(),
            members: h
                .members
                .iter()
                .map(|m| BundleMember {
                    name: mask::name(&m.name),
                    relation: m.relation.clone(),
                    sex: m.sex.clone(),
                    age: m.birth_date.and_then(|b| age(b, as_of)),
                    disability_grade: m.disability_grade,
                    health: m.health(),
                    employment: m.employment.clone(),
                    student_stage: m.student_stage.clone(),
                })
                .collect(),
            status: profile.status,
            assessment: latest.map(|a| BundleAssessment {
                assessed_on: a.assessed_on,
                total: a.total,
                priority: a.priority,
                risk: a.risk,
                service_type: a.service_type,
            }),
        },
        policies: found.eligible.iter().map(EligiblePolicy::of).collect(),
        near_misses: found.near.iter().filter_map(NearMiss::of).collect(),
        near_misses_total: found.near_total,
        needs: need_rows
            .into_iter()
            .filter(|n| n.status != "closed")
            .map(|n| BundleNeed {
                ref_code: n.ref_code,
                dimension: n.dimension,
                title: n.title,
                detail: n.detail,
                urgency: n.urgency,
                quantity: n.quantity,
                status: n.status,
            })
            .collect(),
        resources,
        generated_by: actor.to_string(),
        generated_at: Utc::now().naive_utc(),
    })
}

/// A saved bundle's row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bundles)]
pub struct BundleRow {
    pub id: i64,
    pub number: String,
    pub household_id: i64,
    pub as_of: NaiveDate,
    pub content: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

impl BundleRow {
    pub fn bundle(&self) -> Result<Bundle, AppError> {
        serde_json::from_str(&self.content)
            .map_err(|e| AppError::Internal(format!("saved bundle {}: {e}", self.number)))
    }
}

/// Saves `bundle` as the next numbered snapshot of household `household_id`.
pub fn save(
    conn: &mut DbConnection,
    household_id: i64,
    mut bundle: Bundle,
) -> Result<Bundle, AppError> {
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let numbers: Vec<String> = bundles::table.select(bundles::number).load(conn)?;
        let number = repository::next_numbered("B-", &numbers);
        bundle.number = Some(number.clone());
        let content = serde_json::to_string(&bundle)
            .map_err(|e| AppError::Internal(format!("bundle json: {e}")))?;
        diesel::insert_into(bundles::table)
            .values((
                bundles::number.eq(&number),
                bundles::household_id.eq(household_id),
                bundles::as_of.eq(bundle.as_of),
                bundles::content.eq(&content),
                bundles::created_by.eq(&bundle.generated_by),
                bundles::created_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        Ok(bundle)
    })
}

/// A saved bundle and its household's ref.
pub fn find(
    conn: &mut DbConnection,
    number: &str,
) -> Result<Option<(BundleRow, String)>, AppError> {
    Ok(bundles::table
        .inner_join(households::table)
        .filter(bundles::number.eq(number))
        .select((BundleRow::as_select(), households::ref_code))
        .first(conn)
        .optional()?)
}

/// A household's saved bundles, newest first.
pub fn saved_of(conn: &mut DbConnection, household_id: i64) -> Result<Vec<BundleRow>, AppError> {
    Ok(bundles::table
        .filter(bundles::household_id.eq(household_id))
        .order(bundles::id.desc())
        .select(BundleRow::as_select())
        .load(conn)?)
}

/// The bundle as an Excel workbook: the household, and one sheet per list.
pub fn to_xlsx(
    b: &Bundle,
    regions: &crate::domain::region_names::RegionNames,
) -> Result<Vec<u8>, AppError> {
    use crate::domain::vocabulary::{
        self as v, DIMENSIONS, NEED_STATUSES, RELATIONS, RISK_LEVELS, SERVICE_TYPES, URGENCIES,
    };
    use crate::export::xlsx::{workbook, Sheet};
    let h = &b.household;
    let mut facts = vec![
        vec![
            "方案编号".to_string(),
            b.number.clone().unwrap_or_else(|| "预览（未存档）".into()),
        ],
        vec!["比对日期".into(), b.as_of.to_string()],
        vec!["家庭编号".into(), h.ref_code.clone()],
        vec!["户主".into(), h.head_name.clone()],
        vec!["所在地区".into(), regions.label(&h.region)],
        vec!["住址".into(), h.address.clone().unwrap_or_default()],
        vec![
            "联系电话".into(),
            h.contact_phone.clone().unwrap_or_default(),
        ],
        vec!["救助顾问".into(), h.adviser.clone().unwrap_or_default()],
    ];
    for m in &h.members {
        facts.push(vec![
            "家庭成员".into(),
            format!(
                "{}（{}{}）",
                m.name,
                v::label(RELATIONS, &m.relation),
                m.age.map(|a| format!("，{a} 岁")).unwrap_or_default()
            ),
        ]);
    }
    if let Some(a) = &h.assessment {
        facts.push(vec![
            "需求评估".into(),
            format!(
                "{}：{} 分{}，{}，{}",
                a.assessed_on,
                a.total,
                if a.priority { "（优先介入）" } else { "" },
                v::label(RISK_LEVELS, &a.risk),
                v::label(SERVICE_TYPES, &a.service_type)
            ),
        ]);
    }
    let mut policies: Vec<Vec<String>> = b
        .policies
        .iter()
        .map(|p| {
            vec![
                p.ref_code.clone(),
                p.title.clone(),
                p.provider.clone(),
                p.benefit.clone(),
                p.reasons.join("；"),
                format!("{} {}", p.apply.process, p.apply.materials.join("、")),
                p.apply.contact.clone(),
                "符合".into(),
            ]
        })
        .collect();
    policies.extend(b.near_misses.iter().map(|n| {
        vec![
            n.ref_code.clone(),
            n.title.clone(),
            String::new(),
            String::new(),
            format!("差一个条件：{}", n.failed),
            String::new(),
            String::new(),
            "差一个条件".into(),
        ]
    }));
    let needs: Vec<Vec<String>> = b
        .needs
        .iter()
        .map(|n| {
            vec![
                n.ref_code.clone(),
                v::label(DIMENSIONS, &n.dimension).to_string(),
                n.title.clone(),
                n.detail.clone(),
                v::label(URGENCIES, &n.urgency).to_string(),
                n.quantity.to_string(),
                v::label(NEED_STATUSES, &n.status).to_string(),
            ]
        })
        .collect();
    let resources: Vec<Vec<String>> = b
        .resources
        .iter()
        .flat_map(|r| {
            r.matches.iter().map(move |m| {
                vec![
                    r.need_ref.clone(),
                    r.need_title.clone(),
                    m.ref_code.clone(),
                    m.title.clone(),
                    m.provider.clone(),
                    m.benefit.clone(),
                    m.why.join("；"),
                ]
            })
        })
        .collect();
    workbook(&[
        Sheet {
            name: "家庭概况".into(),
            columns: vec![("项目", 14.0), ("内容", 70.0)],
            rows: facts,
        },
        Sheet {
            name: "政策清单".into(),
            columns: vec![
                ("编号", 18.0),
                ("政策", 28.0),
                ("提供方", 18.0),
                ("救助内容", 30.0),
                ("理由", 50.0),
                ("申请方式", 40.0),
                ("咨询电话", 16.0),
                ("结果", 12.0),
            ],
            rows: policies,
        },
        Sheet {
            name: "需求清单".into(),
            columns: vec![
                ("编号", 12.0),
                ("维度", 10.0),
                ("需求", 30.0),
                ("说明", 40.0),
                ("紧急程度", 10.0),
                ("数量", 8.0),
                ("状态", 10.0),
            ],
            rows: needs,
        },
        Sheet {
            name: "资源清单".into(),
            columns: vec![
                ("需求编号", 12.0),
                ("需求", 28.0),
                ("资源编号", 18.0),
                ("资源", 28.0),
                ("提供方", 18.0),
                ("内容", 30.0),
                ("推荐理由", 50.0),
            ],
            rows: resources,
        },
    ])
}
