//! Policy finds people (政策找人): a published policy is checked against
//! every household in its scope by the server's background scanner; each
//! household that qualifies raises one alert for its adviser, never two;
//! an alert is withdrawn when the household no longer qualifies (its facts
//! changed, the rule changed, the policy was withdrawn) and raised again
//! when it qualifies once more. `aidmatch scan` does it all at once.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{policy, spawn_configured, Backend, TestApp};
use crate::households::household;

crate::backend_tests!(alerts_are_raised_once_and_withdrawn);

/// The adviser's alerts with `status` (`""`: the live ones).
async fn alerts(app: &TestApp, token: &str, status: &str) -> Vec<Value> {
    let path = if status.is_empty() {
        "/api/v1/alerts".to_string()
    } else {
        format!("/api/v1/alerts?status={status}")
    };
    let (code, body) = app.get(&path, Some(token)).await;
    assert_eq!(code, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// Waits for the background scanner until `check` holds (at most 15 s).
async fn until(
    app: &TestApp,
    token: &str,
    status: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let list = alerts(app, token, status).await;
        if check(&list) {
            return list;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the scanner did not get there: {list:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn alerts_are_raised_once_and_withdrawn(app: TestApp) {
    let adviser = app.token("adviser").await;
    let admin = app.token("admin").await;
    let (status, created) = app
        .post(
            "/api/v1/households",
            Some(&adviser),
            &household("310118-003-012"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let r = created["ref"].as_str().unwrap().to_string();
    // Another street's household that would qualify too.
    let (status, _) = app
        .post(
            "/api/v1/households",
            Some(&admin),
            &household("310104-001-001"),
        )
        .await;
    assert_eq!(status, 201);

    // Publishing the policy raises an alert for the adviser's household:
    // 2600 元 over 2 members is 1300 元 a head, below 1510 元.
    let (status, body) = app
        .post("/api/v1/resources", Some(&admin), &policy("P-T-DIBAO"))
        .await;
    assert_eq!(status, 201, "{body}");
    let list = until(&app, &adviser, "", |l| !l.is_empty()).await;
    assert_eq!(list.len(), 1, "only the adviser's street: {list:?}");
    let alert = &list[0];
    assert_eq!(alert["household_ref"], r.as_str());
    assert_eq!(alert["resource_ref"], "P-T-DIBAO");
    assert_eq!(alert["status"], "open");
    assert_eq!(
        alert["reasons"],
        json!(["本市户籍：是", "家庭月人均收入 1300 元，低于 1510 元"])
    );
    let id = alert["id"].as_i64().unwrap();
    // Scoping: the other street's adviser sees only theirs, a charity none.
    let other = app.token("adviser_b").await;
    let theirs = until(&app, &other, "", |l| l.len() == 1).await;
    assert_ne!(theirs[0]["household_ref"], r.as_str());
    let charity = app.token("charity_a").await;
    assert_eq!(app.get("/api/v1/alerts", Some(&charity)).await.0, 403);
    let (status, _) = app
        .post(
            &format!("/api/v1/alerts/{id}/acknowledge"),
            Some(&other),
            &json!({}),
        )
        .await;
    assert_eq!(status, 404);

    // Never raised twice: later scans, and a full `aidmatch scan`, leave it be.
    actix_web::rt::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(alerts(&app, &adviser, "all").await.len(), 1);
    let out = app.cli(["scan"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("新提醒 0 条"), "{text}");
    assert!(text.contains("不变 2 条"), "{text}");
    assert_eq!(alerts(&app, &adviser, "all").await.len(), 1);

    // The work queue shows it; acknowledging takes it off the queue.
    let (status, _) = app
        .post(
            &format!("/api/v1/alerts/{id}/acknowledge"),
            Some(&adviser),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            &format!("/api/v1/alerts/{id}/acknowledge"),
            Some(&adviser),
            &json!({}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(alerts(&app, &adviser, "acknowledged").await.len(), 1);

    // The household's income rises: no longer eligible, the alert is withdrawn.
    let path = format!("/api/v1/households/{r}");
    let (_, current) = app.get(&path, Some(&adviser)).await;
    let mut richer = current.clone();
    richer["members"][0]["income_monthly"] = json!(5000);
    let (status, body) = app.put(&path, Some(&adviser), &richer).await;
    assert_eq!(status, 200, "{body}");
    until(&app, &adviser, "", |l| l.is_empty()).await;
    let gone = alerts(&app, &adviser, "withdrawn").await;
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0]["id"], id);

    // It falls again: the same alert is raised again, open.
    let (_, current) = app.get(&path, Some(&adviser)).await;
    let mut poorer = current.clone();
    poorer["members"][0]["income_monthly"] = json!(2000);
    let (status, body) = app.put(&path, Some(&adviser), &poorer).await;
    assert_eq!(status, 200, "{body}");
    let back = until(&app, &adviser, "open", |l| l.len() == 1).await;
    assert_eq!(back[0]["id"], id, "one alert per household and policy");
    assert_eq!(
        back[0]["reasons"][1],
        "家庭月人均收入 1000 元，低于 1510 元"
    );

    // The rule changes: a lower threshold withdraws it.
    let mut stricter = policy("P-T-DIBAO");
    stricter["eligibility"]["and"][1]["<"][1] = json!(900);
    stricter["version"] = json!(1);
    let (status, body) = app
        .put("/api/v1/resources/P-T-DIBAO", Some(&admin), &stricter)
        .await;
    assert_eq!(status, 200, "{body}");
    until(&app, &adviser, "", |l| l.is_empty()).await;
    // Back to 1510, then the policy is withdrawn: withdrawn again.
    let mut again = policy("P-T-DIBAO");
    again["version"] = json!(2);
    let (status, body) = app
        .put("/api/v1/resources/P-T-DIBAO", Some(&admin), &again)
        .await;
    assert_eq!(status, 200, "{body}");
    until(&app, &adviser, "open", |l| l.len() == 1).await;
    let (status, body) = app
        .post(
            "/api/v1/resources/P-T-DIBAO/withdraw",
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    until(&app, &adviser, "", |l| l.is_empty()).await;
    assert_eq!(alerts(&app, &adviser, "all").await.len(), 1);
}

#[actix_web::test]
async fn a_full_scan_writes_thousands_and_catches_a_withdrawn_policy_sqlite() {
    a_full_scan_writes_thousands_and_catches_a_withdrawn_policy(Backend::Sqlite).await;
}

#[actix_web::test]
async fn a_full_scan_writes_thousands_and_catches_a_withdrawn_policy_postgres() {
    a_full_scan_writes_thousands_and_catches_a_withdrawn_policy(Backend::Postgres).await;
}

/// The numbers `aidmatch scan` reports: (raised, withdrawn, unchanged).
fn scan(app: &TestApp) -> (usize, usize, usize) {
    let out = app.cli(["scan"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count = |label: &str| -> usize {
        let at = text
            .find(label)
            .unwrap_or_else(|| panic!("{label} in {text}"))
            + label.len();
        text[at..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a number after {label} in {text}"))
    };
    (count("新提醒"), count("撤回"), count("不变"))
}

/// A full scan (no background scanner running) over a few thousand
/// households writes its alerts in batches, changes nothing when run again,
/// and withdraws the alerts of a policy withdrawn while no scanner ran.
async fn a_full_scan_writes_thousands_and_catches_a_withdrawn_policy(backend: Backend) {
    let Some(app) = spawn_configured(backend, true, |s| s.background_scan = false).await else {
        eprintln!("skipped: AIDMATCH_TEST_POSTGRES is not set");
        return;
    };
    let out = app.cli(["gen", "--households", "2600", "--seed", "5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = app.token("admin").await;
    // Every household qualifies for exactly one of the two.
    for (r, op) in [("P-T-LOCAL", "=="), ("P-T-MIGRANT", "!=")] {
        let mut p = policy(r);
        p["eligibility"] = json!({op: [{"var": "hukou_local"}, true]});
        let (status, body) = app.post("/api/v1/resources", Some(&admin), &p).await;
        assert_eq!(status, 201, "{body}");
    }
    let (raised, withdrawn, unchanged) = scan(&app);
    // Every Shanghai household (some generated ones live in Jiangsu, outside
    // the policies' 310000): more than two multi-row inserts' worth.
    assert!(raised > 2_000, "one alert per household in scope: {raised}");
    assert_eq!((withdrawn, unchanged), (0, 0));
    assert_eq!(scan(&app), (0, 0, raised), "a second scan changes nothing");

    // Withdrawn while no scanner runs: the next full scan withdraws its alerts.
    let (status, body) = app
        .post(
            "/api/v1/resources/P-T-MIGRANT/withdraw",
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (again, withdrawn, unchanged) = scan(&app);
    assert_eq!(again, 0);
    assert!(withdrawn > 0 && unchanged > 0, "{withdrawn} {unchanged}");
    assert_eq!(withdrawn + unchanged, raised);
    let gone = alerts(&app, &admin, "withdrawn").await;
    assert!(!gone.is_empty());
    assert!(
        gone.iter().all(|a| a["resource_ref"] == "P-T-MIGRANT"),
        "{gone:?}"
    );
    assert_eq!(scan(&app), (0, 0, unchanged), "nothing left to withdraw");
}
