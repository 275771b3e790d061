//! Backups: `aidmatch backup` while the server runs, then `aidmatch
//! restore` over the database: the restored installation gives back the
//! same search and bundle answers (and a change made after the backup is
//! gone).

use serde_json::{json, Value};

use crate::helpers::{policy, service, start_server, TestApp, ORG_A};
use crate::households::household;

crate::backend_tests!(a_restore_gives_back_the_same_answers);

/// What the restored installation must answer alike.
async fn answers(app: &TestApp, household_ref: &str, token: &str) -> (Vec<String>, Value) {
    let mut refs = Vec::new();
    for q in ["低保", "助餐", "上门"] {
        let (status, found) = app
            .get(&format!("/api/v1/resources/search?q={q}"), None)
            .await;
        assert_eq!(status, 200, "{found}");
        refs.extend(
            found["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| format!("{q}:{}", h["ref"].as_str().unwrap())),
        );
    }
    let (status, bundle) = app
        .get(
            &format!("/api/v1/households/{household_ref}/bundle"),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{bundle}");
    let policies: Vec<&str> = bundle["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ref"].as_str().unwrap())
        .collect();
    let needs: Vec<&Value> = bundle["needs"].as_array().unwrap().iter().collect();
    let resources: Vec<Value> = bundle["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!({"need": r["need_ref"], "matches": r["matches"].as_array().unwrap().iter()
                .map(|m| m["ref"].clone()).collect::<Vec<_>>()})
        })
        .collect();
    (
        refs,
        json!({"policies": policies, "needs": needs.iter().map(|n| n["title"].clone()).collect::<Vec<_>>(),
               "resources": resources, "household": bundle["household"]["ref"]}),
    )
}

/// The answers once `done` holds for them, or whatever they are after ten
/// seconds (the assertions that follow then say what is wrong).
async fn settled(
    app: &TestApp,
    household_ref: &str,
    token: &str,
    done: impl Fn(&(Vec<String>, Value)) -> bool,
) -> (Vec<String>, Value) {
    let start = std::time::Instant::now();
    loop {
        let got = answers(app, household_ref, token).await;
        if done(&got) || start.elapsed() > std::time::Duration::from_secs(10) {
            return got;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn a_restore_gives_back_the_same_answers(mut app: TestApp) {
    let admin = app.token("admin").await;
    let adviser = app.token("adviser").await;
    let charity = app.token("charity_a").await;
    let (status, body) = app
        .post("/api/v1/resources", Some(&admin), &policy("P-T-DIBAO"))
        .await;
    assert_eq!(status, 201, "{body}");
    let mut meal = service("S-T-MEAL", ORG_A);
    meal["status"] = json!("published");
    let (status, body) = app.post("/api/v1/resources", Some(&charity), &meal).await;
    assert_eq!(status, 201, "{body}");
    let (status, h) = app
        .post(
            "/api/v1/households",
            Some(&adviser),
            &household("310118-003-012"),
        )
        .await;
    assert_eq!(status, 201, "{h}");
    let r = h["ref"].as_str().unwrap().to_string();
    let (status, need) = app
        .post(
            "/api/v1/needs",
            Some(&adviser),
            &json!({"household_ref": r, "dimension": "daily_care", "title": "老人每日助餐", "urgency": "high"}),
        )
        .await;
    assert_eq!(status, 201, "{need}");
    // Searchable before the backup is taken (the index commits in the
    // background; give a loaded machine time to catch up).
    let before = settled(&app, &r, &adviser, |a| {
        a.0.iter().any(|h| h.ends_with("S-T-MEAL")) && a.0.iter().any(|h| h.ends_with("P-T-DIBAO"))
    })
    .await;
    assert!(
        before.0.iter().any(|h| h.ends_with("S-T-MEAL")),
        "{:?}",
        before.0
    );
    assert!(
        !before.1["policies"].as_array().unwrap().is_empty(),
        "{}",
        before.1
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aidmatch.backup");
    let out = app.cli(["backup".as_ref(), file.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An existing file is never overwritten.
    let out = app.cli(["backup".as_ref(), file.as_os_str()]);
    assert!(!out.status.success());

    // A change after the backup.
    let mut later = service("S-T-LATER", ORG_A);
    later["title"] = json!("上门助餐（备份后新增）");
    later["status"] = json!("published");
    let (status, body) = app.post("/api/v1/resources", Some(&charity), &later).await;
    assert_eq!(status, 201, "{body}");

    app.stop().await;
    // Restoring needs the confirmation.
    let out = app.cli(["restore".as_ref(), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let out = app.cli(["restore".as_ref(), file.as_os_str(), "--yes".as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (address, handle) = start_server(app.settings.clone()).await;
    app.moved_to(address, handle);
    let adviser = app.token("adviser").await;
    let after = settled(&app, &r, &adviser, |a| a.0 == before.0).await;
    assert_eq!(after.0, before.0, "search answers");
    assert_eq!(after.1, before.1, "bundle answers");
    let (status, _) = app.get("/api/v1/resources/S-T-LATER", None).await;
    assert_eq!(status, 404, "the change after the backup is gone");
    app.stop().await;
}
