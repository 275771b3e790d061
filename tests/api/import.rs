//! `aidmatch import resources FILE`, run as the real binary against the
//! test's database: all or nothing, errors naming record and field, re-import updates.

use std::ffi::OsStr;

use serde_json::{json, Value};

use crate::helpers::{policy, service, TestApp};

fn run_import(app: &TestApp, file: &std::path::Path) -> (i32, String, String) {
    let out = app.cli([
        OsStr::new("import"),
        OsStr::new("resources"),
        file.as_os_str(),
    ]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn jsonl(records: &[Value]) -> String {
    records
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn import_is_all_or_nothing_and_names_the_bad_record(app: TestApp) {
    let dir = app.data_dir();
    let mut bad = service("S-IMP-3", "上海市民政局");
    bad["dimensions"] = json!(["income", "happiness"]);
    let records = vec![
        policy("P-IMP-1"),
        service("S-IMP-2", "测试慈善基金会"),
        bad,
        service("S-IMP-4", "测试慈善基金会"),
    ];
    // JSON Lines with a bad record on line 3.
    let file = dir.join("bad.jsonl");
    std::fs::write(&file, jsonl(&records)).unwrap();
    let (code, _out, err) = run_import(&app, &file);
    assert_ne!(code, 0, "a bad file must fail");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("S-IMP-3"), "{err}");
    assert!(err.contains("dimensions[1]"), "{err}");
    let admin = app.token("admin").await;
    let (_, list) = app.get("/api/v1/resources", Some(&admin)).await;
    assert_eq!(list["total"], 0, "nothing may be written: {list}");

    // The same as a JSON array: the error names the index.
    let file = dir.join("bad.json");
    std::fs::write(&file, Value::Array(records.clone()).to_string()).unwrap();
    let (code, _, err) = run_import(&app, &file);
    assert_ne!(code, 0);
    assert!(err.contains("index 2") && err.contains("S-IMP-3"), "{err}");

    // A duplicate ref inside one file is refused too.
    let file = dir.join("dup.jsonl");
    std::fs::write(&file, jsonl(&[policy("P-DUP"), policy("P-DUP")])).unwrap();
    let (code, _, err) = run_import(&app, &file);
    assert_ne!(code, 0);
    assert!(err.contains("line 2") && err.contains("P-DUP"), "{err}");

    // Broken JSON on a line names the line.
    let file = dir.join("broken.jsonl");
    std::fs::write(&file, format!("{}\n{{\"ref\": \"X\",\n", policy("P-OK"))).unwrap();
    let (code, _, err) = run_import(&app, &file);
    assert_ne!(code, 0);
    assert!(err.contains("line 2"), "{err}");
    let (_, list) = app.get("/api/v1/resources", Some(&admin)).await;
    assert_eq!(list["total"], 0);

    // A good file imports every record; the charity's offers link to its organisation.
    let good: Vec<Value> = records
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, r)| r.clone())
        .collect();
    let file = dir.join("good.json");
    std::fs::write(&file, Value::Array(good.clone()).to_string()).unwrap();
    let (code, out, err) = run_import(&app, &file);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("新建 3"), "{out}");
    let (_, list) = app.get("/api/v1/resources", Some(&admin)).await;
    assert_eq!(list["total"], 3);
    let (_, s2) = app.get("/api/v1/resources/S-IMP-2", Some(&admin)).await;
    assert_eq!(s2["organisation"], "测试慈善基金会");
    assert_eq!(s2["status"], "draft", "status defaults to draft");

    // Re-importing the same refs updates them.
    let mut changed = good.clone();
    changed[0]["title"] = json!("上海市最低生活保障（2026 年标准）");
    let file = dir.join("again.jsonl");
    std::fs::write(&file, jsonl(&changed)).unwrap();
    let (code, out, _) = run_import(&app, &file);
    assert_eq!(code, 0);
    assert!(out.contains("更新 3"), "{out}");
    let (_, list) = app.get("/api/v1/resources", Some(&admin)).await;
    assert_eq!(list["total"], 3);
    let (_, p1) = app.get("/api/v1/resources/P-IMP-1", None).await;
    assert_eq!(p1["title"], "上海市最低生活保障（2026 年标准）");
    assert_eq!(p1["version"], 2);
}

async fn the_demo_data_loads_and_is_realistic(app: TestApp) {
    let out = app.cli(["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Existing accounts keep their passwords; missing demo accounts are created.
    let admin = app.token("admin").await;
    let (status, _) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "admin", "password": "Admin#2026"}),
        )
        .await;
    assert_eq!(
        status, 401,
        "the demo must not reset a real admin's password"
    );
    let (_, all) = app
        .get("/api/v1/resources?per_page=200", Some(&admin))
        .await;
    let items = all["items"].as_array().unwrap();
    assert!(
        items.len() >= 60,
        "at least 60 resources, got {}",
        items.len()
    );
    for kind in ["policy", "funding", "material", "service"] {
        assert!(
            items.iter().filter(|r| r["kind"] == kind).count() >= 8,
            "{kind}"
        );
    }
    // Households with members, assessments, needs and notes, for each
    // adviser's own streets.
    let adviser = app.token("adviser").await;
    let (_, households) = app
        .get("/api/v1/households?per_page=200", Some(&admin))
        .await;
    assert!(
        households["total"].as_i64().unwrap() >= 40,
        "{}",
        households["total"]
    );
    let (_, mine) = app
        .get("/api/v1/households?per_page=200", Some(&adviser))
        .await;
    let mine_total = mine["total"].as_i64().unwrap();
    assert!(
        mine_total >= 10,
        "the test adviser's street has households: {mine_total}"
    );
    assert!(mine_total < households["total"].as_i64().unwrap());
    let first = mine["items"][0]["ref"].as_str().unwrap();
    let (_, needs) = app.get("/api/v1/needs?per_page=200", Some(&admin)).await;
    assert!(needs["total"].as_i64().unwrap() >= 60, "{}", needs["total"]);
    let (status, one) = app
        .get(&format!("/api/v1/households/{first}"), Some(&adviser))
        .await;
    assert_eq!(status, 200, "{one}");
    let policies_with_rules = items
        .iter()
        .filter(|r| r["kind"] == "policy" && r["eligibility"].is_object())
        .count();
    assert!(policies_with_rules >= 20, "{policies_with_rules}");
    let providers: std::collections::BTreeSet<&str> = items
        .iter()
        .map(|r| r["provider"].as_str().unwrap())
        .collect();
    assert!(providers.len() >= 5);
    for title in [
        "最低生活保障",
        "特困人员救助供养",
        "临时救助",
        "高龄津贴",
        "社区长者助餐",
    ] {
        assert!(
            items
                .iter()
                .any(|r| r["title"].as_str().unwrap().contains(title)),
            "{title}"
        );
    }
    // The demo accounts that did not exist were created, one per role.
    for (user, pw) in [
        ("adviser2", "Adviser#2026"),
        ("charity", "Charity#2026"),
        ("company", "Company#2026"),
    ] {
        demo_token(&app, user, pw).await;
    }
    // Loading twice changes nothing.
    let again = app.cli(["demo"]);
    assert!(again.status.success());
    let (_, all2) = app.get("/api/v1/resources?per_page=1", Some(&admin)).await;
    assert_eq!(all2["total"], all["total"]);
}

async fn demo_token(app: &TestApp, user: &str, password: &str) -> String {
    let (status, body) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": user, "password": password}),
        )
        .await;
    assert_eq!(status, 200, "{user}: {body}");
    body["token"].as_str().unwrap().to_string()
}

crate::backend_tests!(
    import_is_all_or_nothing_and_names_the_bad_record,
    the_demo_data_loads_and_is_realistic,
);
