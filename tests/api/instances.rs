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
