//! People find policy (人找政策): `POST /api/v1/screening` and the public
//! page — eligible policies with reasons and how to apply, near misses,
//! boundaries (a threshold met exactly, a member turning 80 on the day,
//! region scopes), clear errors, and nothing stored.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde_json::{json, Value};

use crate::helpers::{policy, TestApp};

crate::backend_tests!(
    screening_explains_eligibility_and_near_misses,
    screening_boundaries_and_errors,
    screening_stores_nothing,
);

fn elderly_policy(ref_code: &str, region: &str) -> Value {
    let mut p = policy(ref_code);
    p["title"] = json!("高龄老人营养补贴");
    p["region"] = json!(region);
    p["dimensions"] = json!(["income"]);
    p["target_groups"] = json!(["elderly"]);
    p["eligibility"] = json!({"and": [{"==": [{"var": "hukou_local"}, true]},
        {"some": [{"var": "members"}, {">=": [{"var": "age"}, 80]}]}]});
    p
}

async fn publish(app: &TestApp, doc: &Value) {
    let admin = app.token("admin").await;
    let (status, body) = app.post("/api/v1/resources", Some(&admin), doc).await;
    assert_eq!(status, 201, "{body}");
}

fn refs(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["ref"].as_str().unwrap().to_string())
        .collect()
}

async fn screening_explains_eligibility_and_near_misses(app: TestApp) {
    publish(&app, &policy("P-T-DIBAO")).await;
    publish(&app, &elderly_policy("P-T-GAOLING", "310118")).await;
    publish(&app, &elderly_policy("P-T-XUHUI", "310104")).await;
    let body = json!({"profile": {"hukou_local": true, "region": "310118-003-012",
        "members": [{"name": "张建国", "age": 82, "income_monthly": 1200}, {"age": 50, "income_monthly": 0}]}});
    let (status, result) = app.post("/api/v1/screening", None, &body).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(
        refs(&result["eligible"]),
        ["P-T-DIBAO", "P-T-GAOLING"],
        "310104's policy is out of scope"
    );
    let dibao = &result["eligible"][0];
    assert_eq!(
        dibao["reasons"],
        json!(["本市户籍：是", "家庭月人均收入 600 元，低于 1510 元"])
    );
    assert_eq!(dibao["apply"]["materials"], json!(["身份证", "户口簿"]));
    assert_eq!(dibao["apply"]["process"], "街道受理");
    assert_eq!(
        result["eligible"][1]["reasons"][1],
        "有成员年满 80 周岁：是（张**，82 岁）"
    );
    // Without a region, every scope is considered.
    let mut anywhere = body.clone();
    anywhere["profile"]
        .as_object_mut()
        .unwrap()
        .remove("region");
    let (_, result) = app.post("/api/v1/screening", None, &anywhere).await;
    assert_eq!(refs(&result["eligible"]).len(), 3);

    // One condition short: a near miss naming it.
    let richer = json!({"profile": {"hukou_local": true, "region": "310118-003",
        "members": [{"age": 70, "income_monthly": 1620}]}});
    let (_, result) = app.post("/api/v1/screening", None, &richer).await;
    assert_eq!(result["eligible"], json!([]));
    assert_eq!(refs(&result["near_misses"]), ["P-T-DIBAO", "P-T-GAOLING"]);
    assert_eq!(
        result["near_misses"][0]["failed"],
        "家庭月人均收入 1620 元，高于 1510 元"
    );
    assert_eq!(result["near_misses"][0]["held"], json!(["本市户籍：是"]));
    assert_eq!(result["near_misses"][1]["failed"], "有成员年满 80 周岁：否");
    // Two conditions short: not a near miss.
    let far = json!({"profile": {"hukou_local": false, "members": [{"age": 30, "income_monthly": 9000}]}});
    let (_, result) = app.post("/api/v1/screening", None, &far).await;
    assert_eq!(result["eligible"], json!([]));
    assert_eq!(result["near_misses"], json!([]));
}

async fn screening_boundaries_and_errors(app: TestApp) {
    publish(&app, &policy("P-T-DIBAO")).await;
    publish(&app, &elderly_policy("P-T-GAOLING", "310118")).await;
    // Income equal to the threshold is not below it.
    let at =
        json!({"profile": {"hukou_local": true, "members": [{"age": 40, "income_monthly": 1510}]}});
    let (_, result) = app.post("/api/v1/screening", None, &at).await;
    assert_eq!(result["eligible"], json!([]));
    assert_eq!(
        result["near_misses"][0]["failed"],
        "家庭月人均收入 1510 元，等于 1510 元"
    );
    let below = json!({"profile": {"hukou_local": true, "members": [{"age": 40, "income_monthly": 1509.99}]}});
    let (_, result) = app.post("/api/v1/screening", None, &below).await;
    assert_eq!(refs(&result["eligible"]), ["P-T-DIBAO"]);
    // A member born 1946-11-23 turns 80 on 2026-11-23.
    for (as_of, eligible) in [
        ("2026-11-22", false),
        ("2026-11-23", true),
        ("2026-11-24", true),
    ] {
        let body = json!({"as_of": as_of, "profile": {"hukou_local": true, "region": "310118-003",
            "members": [{"birth_date": "1946-11-23", "income_monthly": 5000}]}});
        let (status, result) = app.post("/api/v1/screening", None, &body).await;
        assert_eq!(status, 200, "{result}");
        assert_eq!(
            refs(&result["eligible"]).contains(&"P-T-GAOLING".to_string()),
            eligible,
            "as of {as_of}: {result}"
        );
    }
    // Region scopes: a prefix covers, a sibling does not.
    for (region, covered) in [
        ("310118-003-012", true),
        ("310118", true),
        ("310104-001", false),
    ] {
        let body = json!({"profile": {"hukou_local": true, "region": region,
            "members": [{"age": 85, "income_monthly": 5000}]}});
        let (_, result) = app.post("/api/v1/screening", None, &body).await;
        assert_eq!(
            refs(&result["eligible"]).contains(&"P-T-GAOLING".to_string()),
            covered,
            "{region}"
        );
    }
    // Wrong or missing answers are named.
    let (status, err) = app
        .post(
            "/api/v1/screening",
            None,
            &json!({"profile": {"hukou_local": "是", "members": [{"age": 300}, {}]}}),
        )
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = err["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "profile.hukou_local",
            "profile.members[0].age",
            "profile.members[1].age"
        ]
    );
    let (status, _) = app.post("/api/v1/screening", None, &json!([])).await;
    assert_eq!(status, 422);
    let (status, _) = app
        .post(
            "/api/v1/screening",
            None,
            &json!({"profile": {"members": []}}),
        )
        .await;
    assert_eq!(status, 422);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows in every table of the schema.
fn row_counts(app: &TestApp) -> Vec<(String, i64)> {
    let mut conn = aidmatch::db::establish(&app.database_url()).unwrap();
    let tables = [
        "resources",
        "resource_history",
        "change_log",
        "user_regions",
        "households",
        "members",
        "assessments",
        "needs",
        "need_events",
        "case_notes",
        "audit_log",
        "users",
        "organisations",
        "regions",
        "app_settings",
    ];
    tables
        .iter()
        .map(|t| {
            let c: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {t}"))
                .get_result(&mut conn)
                .unwrap_or_else(|e| panic!("{t}: {e}"));
            (t.to_string(), c.n)
        })
        .collect()
}

async fn screening_stores_nothing(app: TestApp) {
    publish(&app, &policy("P-T-DIBAO")).await;
    let before = row_counts(&app);
    for body in [
        json!({"profile": {"hukou_local": true, "members": [{"name": "王芳", "age": 40, "income_monthly": 800,
            "id_number": "310101198001010011"}]}}),
        json!({"profile": {"members": [{"age": "x"}]}}),
    ] {
        app.post("/api/v1/screening", None, &body).await;
    }
    assert_eq!(row_counts(&app), before, "a screening writes nothing");
}
