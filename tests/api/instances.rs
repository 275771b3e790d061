//! Several instances on one database: background work (the policy scanner,
//! the mail worker) is done by the one instance holding its lease, and
//! another takes over when it stops.

use std::time::{Duration, Instant};

use aidmatch::db::lease;
use serde_json::Value;

use crate::helpers::{policy, start_server, TestApp};
use crate::households::household;

crate::backend_tests!(
    a_lease_has_one_holder_at_a_time,
    background_work_moves_to_the_instance_left,
);

async fn a_lease_has_one_holder_at_a_time(app: TestApp) {
    let mut conn = aidmatch::db::establish(&app.database_url()).expect("connect");
    let minute = chrono::Duration::seconds(60);
    assert!(lease::acquire(&mut conn, "test-lease", "a", minute).unwrap());
    assert!(
        !lease::acquire(&mut conn, "test-lease", "b", minute).unwrap(),
        "held by a"
    );
    assert!(
        lease::acquire(&mut conn, "test-lease", "a", minute).unwrap(),
        "a renews"
    );
    assert_eq!(
        lease::holder(&mut conn, "test-lease").unwrap().as_deref(),
        Some("a")
    );
    lease::release(&mut conn, "test-lease", "b").unwrap();
    assert!(
        !lease::acquire(&mut conn, "test-lease", "b", minute).unwrap(),
        "b cannot release a's lease"
    );
    lease::release(&mut conn, "test-lease", "a").unwrap();
    assert!(
        lease::acquire(&mut conn, "test-lease", "b", minute).unwrap(),
        "released: b takes it"
    );
    // An expired lease goes to whoever asks next.
    assert!(lease::acquire(&mut conn, "short", "a", chrono::Duration::seconds(-1)).unwrap());
    assert!(
        lease::acquire(&mut conn, "short", "b", minute).unwrap(),
        "expired: b takes it"
    );
    assert!(!lease::acquire(&mut conn, "short", "a", minute).unwrap());
    // The running server holds its own leases.
    let started = Instant::now();
    while lease::holder(&mut conn, "policy-scanner")
        .unwrap()
        .is_none()
        || lease::holder(&mut conn, "mail-worker").unwrap().is_none()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server took no lease"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn alerts(app: &TestApp, token: &str) -> Vec<Value> {
    let (code, body) = app.get("/api/v1/alerts?status=all", Some(token)).await;
    assert_eq!(code, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn until_alerts(app: &TestApp, token: &str, n: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let list = alerts(app, token).await;
        if list.len() >= n {
            return list;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no scanner raised the alert: {list:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn background_work_moves_to_the_instance_left(app: TestApp) {
    if !app.database_url().starts_with("postgres") {
        return; // instances share a database on PostgreSQL
    }
    let adviser = app.token("adviser").await;
    let admin = app.token("admin").await;
    let (status, body) = app
        .post(
            "/api/v1/households",
            Some(&adviser),
            &household("310118-003-012"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // A second instance on the same database.
    let second_dir = tempfile::tempdir().unwrap();
    let mut settings = app.settings.clone();
    settings.data_dir = second_dir.path().to_path_buf();
    let (address, handle) = start_server(settings).await;
    let mut second = crate::helpers::detached(&app);
    second.moved_to(address, handle);

    let (status, body) = app
        .post("/api/v1/resources", Some(&admin), &policy("P-T-ONE"))
        .await;
    assert_eq!(status, 201, "{body}");
    let list = until_alerts(&second, &adviser, 1).await;
    assert_eq!(list.len(), 1, "raised once: {list:?}");

    // The first instance stops; the second carries on scanning.
    app.stop().await;
    let mut p = policy("P-T-TWO");
    p["title"] = serde_json::json!("第二项政策");
    let admin2 = second.token("admin").await;
    let adviser2 = second.token("adviser").await;
    let (status, body) = second.post("/api/v1/resources", Some(&admin2), &p).await;
    assert_eq!(status, 201, "{body}");
    let list = until_alerts(&second, &adviser2, 2).await;
    assert_eq!(list.len(), 2, "{list:?}");
    second.stop().await;
}

#[actix_web::test]
async fn metrics_count_requests_by_route() {
    let app = crate::helpers::try_spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    for _ in 0..3 {
        let (status, _) = app.get("/api/v1/resources/search?q=助餐", None).await;
        assert_eq!(status, 200);
    }
    let (status, _) = app.get("/api/v1/resources/P-NOT-THERE", None).await;
    assert_eq!(status, 404);
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("aidmatch_http_requests_total{")
                && l.contains("endpoint=\"/api/v1/resources/search\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no counter for the search route: {text}"));
    assert!(line.ends_with(" 3"), "{line}");
    assert!(text.contains("aidmatch_http_requests_duration_seconds_bucket"));
    // Route patterns, never concrete paths (no refs in labels).
    assert!(
        text.contains("endpoint=\"/api/v1/resources/{ref}\""),
        "{text}"
    );
    assert!(!text.contains("P-NOT-THERE"));
}

#[actix_web::test]
async fn gen_writes_realistic_data_that_servers_pick_up() {
    let app = crate::helpers::try_spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let out = app.cli([
        "gen",
        "--resources",
        "60",
        "--households",
        "40",
        "--policies",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("已生成 60 项资源"), "{stdout}");
    // Nothing asked for: an error, exit code 2.
    let out = app.cli(["gen"]);
    assert_eq!(out.status.code(), Some(2));
    // A second run continues the numbering.
    let out = app.cli(["gen", "--households", "5", "--seed", "9"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The running server follows the change log: the resources are found.
    let started = Instant::now();
    loop {
        let (_, found) = app.get("/api/v1/resources/search?q=GEN-000060", None).await;
        let (_, listed) = app.get("/api/v1/resources?per_page=1&q=", None).await;
        if listed["total"].as_i64().unwrap_or(0) >= 63 || found["total"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{listed}");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    let admin = app.token("admin").await;
    let (status, list) = app
        .get("/api/v1/households?per_page=100", Some(&admin))
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 45, "{list}");
    // An adviser reveals a generated member's ID number: valid, encrypted at
    // rest, consistent with the recorded birth date and sex.
    let adviser = app.token("adviser").await;
    let (_, mine) = app
        .get("/api/v1/households?per_page=100", Some(&adviser))
        .await;
    let h = mine["items"]
        .as_array()
        .unwrap()
        .first()
        .cloned()
        .expect("a generated household in the adviser's street");
    let r = h["ref"].as_str().unwrap();
    let (status, full) = app
        .get(&format!("/api/v1/households/{r}"), Some(&adviser))
        .await;
    assert_eq!(status, 200, "{full}");
    let (status, revealed) = app
        .post(
            &format!("/api/v1/households/{r}/reveal"),
            Some(&adviser),
            &serde_json::json!({"field": "id_number", "member": 0}),
        )
        .await;
    assert_eq!(status, 200, "{revealed}");
    let number = revealed["value"].as_str().unwrap();
    let parsed = aidmatch::households::id_number::parse(number).expect("a valid ID number");
    let member = &full["members"][0];
    // Birth dates show only their year unless revealed.
    assert_eq!(
        parsed.birth_date.format("%Y").to_string(),
        member["birth_date"].as_str().unwrap()[..4]
    );
    assert_eq!(parsed.sex, member["sex"].as_str().unwrap());
    assert!(member["name"].as_str().unwrap().chars().count() >= 2);
}
