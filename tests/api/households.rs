//! Household records over the API: region scoping, validation of ID numbers,
//! encryption at rest, masking, reveals written to the audit log.

use aidmatch::households::id_number::check_char;
use serde_json::{json, Value};

use crate::helpers::TestApp;

crate::backend_tests!(
    households_are_scoped_masked_and_encrypted,
    bad_id_numbers_are_refused_and_nothing_is_written,
    assessments_score_suggest_and_keep_history,
    needs_follow_their_lifecycle_within_the_region,
    household_and_need_imports_are_all_or_nothing,
);

/// A valid ID number from its first 17 digits.
pub(crate) fn id(first17: &str) -> String {
    format!("{first17}{}", check_char(first17.as_bytes()))
}

pub(crate) fn household(region: &str) -> Value {
    json!({
        "region": region,
        "address": "上海市青浦区香花桥街道新桥路88弄5号301室",
        "contact_phone": "13812345678",
        "hukou_local": true,
        "housing": { "owned": false, "area_m2": 32.5 },
        "assets": { "financial": 20000 },
        "monthly": { "medical_expense": 800, "education_expense": 0, "rent": 1200 },
        "status": ["dibao"],
        "members": [
            { "name": "张建国", "id_number": id("31022919500302123"), "relation": "self",
              "sex": "M", "birth_date": "1950-03-02", "health": ["chronic"],
              "employment": "retired", "income_monthly": 2600 },
            { "name": "李秀英", "id_number": id("31022919520815124"), "relation": "spouse",
              "sex": "F", "birth_date": "1952-08-15", "disability_grade": 2,
              "disability_type": "physical", "phone": "13900001111" }
        ],
        "consent": true
    })
}

async fn households_are_scoped_masked_and_encrypted(app: TestApp) {
    let adviser = app.token("adviser").await;
    let other = app.token("adviser_b").await;
    let admin = app.token("admin").await;
    let charity = app.token("charity_a").await;
    let full_id = id("31022919500302123");

    let (status, created) = app
        .post(
            "/api/v1/households",
            Some(&adviser),
            &household("310118-003-012"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let r = created["ref"].as_str().unwrap().to_string();
    assert_eq!(created["adviser"], "adviser");
    // Masked in the response.
    let masked_id = format!("310***********{}", &full_id[14..]);
    assert_eq!(created["members"][0]["id_number"], masked_id.as_str());
    assert_eq!(created["contact_phone"], "138****5678");
    assert_eq!(created["members"][1]["phone"], "139****1111");
    assert_eq!(created["address"], "上海市青浦区香花桥街道新桥路****");
    assert!(created["members"][0]["age"].as_u64().unwrap() >= 76);
    assert!(!created.to_string().contains(&full_id));

    // Scoping: the adviser sees it; another district's adviser gets 404; a
    // charity 403; nobody without a login.
    let path = format!("/api/v1/households/{r}");
    let (status, body) = app.get(&path, Some(&adviser)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains(&full_id));
    assert_eq!(app.get(&path, Some(&other)).await.0, 404);
    assert_eq!(app.get(&path, Some(&charity)).await.0, 403);
    assert_eq!(app.get(&path, None).await.0, 401);
    assert_eq!(app.get("/api/v1/households", Some(&charity)).await.0, 403);
    let (_, mine) = app.get("/api/v1/households", Some(&adviser)).await;
    assert_eq!(mine["total"], 1);
    let (_, theirs) = app.get("/api/v1/households", Some(&other)).await;
    assert_eq!(theirs["total"], 0);
    let (_, all) = app.get("/api/v1/households", Some(&admin)).await;
    assert_eq!(all["total"], 1);
    // Recording outside one's own region is refused.
    let (status, body) = app
        .post(
            "/api/v1/households",
            Some(&other),
            &household("310118-003-012"),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let reveal = json!({"field": "id_number", "member": 0});
    assert_eq!(
        app.post(&format!("{path}/reveal"), Some(&other), &reveal)
            .await
            .0,
        404
    );

    // Encrypted at rest: the ID number and phone are nowhere in the database.
    let mut leaked = Vec::new();
    for file in ["aidmatch.db", "aidmatch.db-wal"] {
        if let Ok(bytes) = std::fs::read(app.data_dir().join(file)) {
            let text = String::from_utf8_lossy(&bytes);
            for secret in [full_id.as_str(), "13812345678", "新桥路88弄"] {
                if text.contains(secret) {
                    leaked.push(format!("{file}: {secret}"));
                }
            }
        }
    }
    assert!(leaked.is_empty(), "plain personal data on disk: {leaked:?}");

    // Reveal: the adviser sees one value, and the audit log says so.
    let (status, shown) = app
        .post(&format!("{path}/reveal"), Some(&adviser), &reveal)
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["value"], full_id.as_str());
    let (status, _) = app
        .post(&format!("{path}/reveal"), Some(&admin), &reveal)
        .await;
    assert_eq!(status, 403);
    let (status, log) = app
        .get(&format!("/api/v1/audit?subject={r}"), Some(&admin))
        .await;
    assert_eq!(status, 200, "{log}");
    let reveals: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "reveal")
        .collect();
    assert_eq!(reveals.len(), 1, "{log}");
    assert_eq!(reveals[0]["actor"], "adviser");
    assert_eq!(reveals[0]["field"], "id_number");
    assert_eq!(reveals[0]["subject"], format!("{r}/members[0]"));
    assert!(!log.to_string().contains(&full_id));
    assert_eq!(app.get("/api/v1/audit", Some(&adviser)).await.0, 403);

    // Found by ID number (keyed hash), only by those who may see it.
    let lookup = json!({"id_number": full_id});
    let (_, found) = app
        .post("/api/v1/households/lookup", Some(&adviser), &lookup)
        .await;
    assert_eq!(found["items"][0]["ref"], r.as_str(), "{found}");
    let (_, none) = app
        .post("/api/v1/households/lookup", Some(&other), &lookup)
        .await;
    assert_eq!(none["total"], 0);

    // Updates are optimistic.
    let mut changed = household("310118-003-012");
    changed["version"] = json!(1);
    changed["address"] = json!("上海市青浦区香花桥街道新桥路90弄1号");
    let (status, updated) = app.put(&path, Some(&adviser), &changed).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["version"], 2);
    let (status, _) = app.put(&path, Some(&adviser), &changed).await;
    assert_eq!(status, 409);

    // What was read can be sent back: its masked values mean "unchanged".
    let (_, read) = app.get(&path, Some(&adviser)).await;
    assert_eq!(read["members"][0]["birth_date"], "1950-**-**");
    assert!(read["members"][0]["age"].as_u64().unwrap() >= 76);
    let mut back = read.clone();
    back["monthly"]["rent"] = json!(1300);
    let (status, saved) = app.put(&path, Some(&adviser), &back).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["version"], 3);
    assert_eq!(saved["monthly"]["rent"], 1300.0);
    assert_eq!(
        saved["members"][0]["id_number"],
        read["members"][0]["id_number"]
    );
    assert_eq!(saved["members"][0]["birth_date"], "1950-**-**");
    assert_eq!(saved["members"][1]["phone"], "139****1111");
    assert_eq!(saved["address"], read["address"]);
    let (_, found) = app
        .post("/api/v1/households/lookup", Some(&adviser), &lookup)
        .await;
    assert_eq!(
        found["items"][0]["ref"],
        r.as_str(),
        "still found by ID number"
    );
    // A masked value that matches nothing on record is refused.
    let mut wrong = saved.clone();
    wrong["members"][0]["id_number"] = json!("310***********0000");
    let (status, body) = app.put(&path, Some(&adviser), &wrong).await;
    assert_eq!(status, 422, "{body}");
}

async fn bad_id_numbers_are_refused_and_nothing_is_written(app: TestApp) {
    let adviser = app.token("adviser").await;
    let good = id("31022919500302123");
    let wrong_check = format!(
        "{}{}",
        &good[..17],
        if good.ends_with('0') { '1' } else { '0' }
    );

    let mut bad_check = household("310118-003-012");
    bad_check["members"][0]["id_number"] = json!(wrong_check);
    let (status, body) = app
        .post("/api/v1/households", Some(&adviser), &bad_check)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["details"][0]["field"], "members[0].id_number",
        "{body}"
    );
    assert!(body["error"]["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("校验位"));

    let mut mismatch = household("310118-003-012");
    mismatch["members"][0]["birth_date"] = json!("1950-03-03");
    let (status, body) = app
        .post("/api/v1/households", Some(&adviser), &mismatch)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["details"][0]["field"],
        "members[0].birth_date"
    );

    let mut no_consent = household("310118-003-012");
    no_consent["consent"] = json!(false);
    let (status, body) = app
        .post("/api/v1/households", Some(&adviser), &no_consent)
        .await;
    assert_eq!(status, 422, "{body}");

    let (_, list) = app.get("/api/v1/households", Some(&adviser)).await;
    assert_eq!(list["total"], 0, "nothing was written");

    // A name and region only, before consent: kept.
    let minimal = json!({"region": "310118-003-012", "consent": false,
                         "members": [{"name": "王阿婆"}]});
    let (status, body) = app
        .post("/api/v1/households", Some(&adviser), &minimal)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["consent"], false);
    assert_eq!(body["head_name"], "王阿婆");
}

fn scores(pairs: &[(&str, u64)]) -> Value {
    let mut all = serde_json::Map::new();
    for (code, _) in aidmatch::domain::vocabulary::DIMENSIONS {
        all.insert(code.to_string(), json!(0));
    }
    for (d, v) in pairs {
        all.insert(d.to_string(), json!(v));
    }
    Value::Object(all)
}

async fn assessments_score_suggest_and_keep_history(app: TestApp) {
    let adviser = app.token("adviser").await;
    let other = app.token("adviser_b").await;
    let (_, created) = app
        .post(
            "/api/v1/households",
            Some(&adviser),
            &household("310118-003-012"),
        )
        .await;
    let path = format!("/api/v1/households/{}", created["ref"].as_str().unwrap());

    // A light assessment first: yellow, basic, a need suggested for daily care.
    let light = json!({"assessed_on": "2026-01-10",
                       "scores": scores(&[("daily_care", 3), ("medical", 2)])});
    let (status, first) = app
        .post(&format!("{path}/assessments"), Some(&adviser), &light)
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["total"], 10);
    assert_eq!(first["priority"], false);
    assert_eq!(first["risk"], "yellow");
    assert_eq!(first["service_type"], "basic");
    assert_eq!(first["suggested_needs"], json!(["daily_care"]));

    // Then a heavy one above the 70 line: red, crisis, unless overridden.
    let mut heavy: Vec<(&str, u64)> = aidmatch::domain::vocabulary::DIMENSIONS
        .iter()
        .map(|(c, _)| (*c, 3))
        .collect();
    heavy[0].1 = 4; // 37 of 48 points
    let body = json!({"scores": scores(&heavy), "service_type": "basic", "note": "家中突发变故"});
    let (status, second) = app
        .post(&format!("{path}/assessments"), Some(&adviser), &body)
        .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["total"], 77);
    assert_eq!(second["priority"], true);
    assert_eq!(second["risk"], "red");
    assert_eq!(second["suggested_type"], "crisis");
    assert_eq!(
        second["service_type"], "basic",
        "the adviser's choice is kept"
    );

    let (_, history) = app
        .get(&format!("{path}/assessments"), Some(&adviser))
        .await;
    assert_eq!(history["total"], 2);
    assert_eq!(history["items"][0]["total"], 77, "newest first");
    assert_eq!(history["items"][1]["total"], 10);

    // Bad scores are named; another district's adviser cannot assess.
    let bad = json!({"scores": {"housing": 9}, "risk": "purple"});
    let (status, body) = app
        .post(&format!("{path}/assessments"), Some(&adviser), &bad)
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"scores.housing") && fields.contains(&"risk"),
        "{body}"
    );
    assert_eq!(
        app.post(&format!("{path}/assessments"), Some(&other), &light)
            .await
            .0,
        404
    );

    // Case notes on a timeline.
    let note = json!({"kind": "home_visit", "text": "首次入户走访，老人独居，需助餐。", "noted_on": "2026-01-12"});
    let (status, saved) = app
        .post(&format!("{path}/notes"), Some(&adviser), &note)
        .await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["kind"], "home_visit");
    let (status, _) = app
        .post(
            &format!("{path}/notes"),
            Some(&adviser),
            &json!({"kind": "chat", "text": ""}),
        )
        .await;
    assert_eq!(status, 422);
    let (_, notes) = app.get(&format!("{path}/notes"), Some(&adviser)).await;
    assert_eq!(notes["total"], 1);
    assert_eq!(
        notes["items"][0]["text"],
        "首次入户走访，老人独居，需助餐。"
    );
}

async fn needs_follow_their_lifecycle_within_the_region(app: TestApp) {
    let adviser = app.token("adviser").await;
    let other = app.token("adviser_b").await;
    let charity = app.token("charity_a").await;
    let (_, created) = app
        .post(
            "/api/v1/households",
            Some(&adviser),
            &household("310118-003-012"),
        )
        .await;
    let h = created["ref"].as_str().unwrap().to_string();

    let need = json!({"household_ref": h, "dimension": "employment",
                      "title": "为残障成员寻找实习岗位", "urgency": "high"});
    let (status, saved) = app.post("/api/v1/needs", Some(&adviser), &need).await;
    assert_eq!(status, 201, "{saved}");
    let n = saved["ref"].as_str().unwrap().to_string();
    assert_eq!(saved["status"], "open");
    assert_eq!(saved["quantity"], 1);

    // Scoped through the household.
    let path = format!("/api/v1/needs/{n}");
    assert_eq!(app.get(&path, Some(&other)).await.0, 404);
    assert_eq!(app.get(&path, Some(&charity)).await.0, 403);
    assert_eq!(app.get("/api/v1/needs", Some(&charity)).await.0, 403);
    let (status, body) = app.post("/api/v1/needs", Some(&other), &need).await;
    assert_eq!(
        status, 422,
        "another district's household is not found: {body}"
    );
    let (_, mine) = app
        .get(&format!("/api/v1/needs?household={h}"), Some(&adviser))
        .await;
    assert_eq!(mine["total"], 1);
    let (_, theirs) = app.get("/api/v1/needs", Some(&other)).await;
    assert_eq!(theirs["total"], 0);

    // The lifecycle, with who and when.
    let status_path = format!("{path}/status");
    let (status, body) = app
        .post(
            &status_path,
            Some(&adviser),
            &json!({"status": "fulfilled"}),
        )
        .await;
    assert_eq!(status, 422, "open cannot jump to fulfilled: {body}");
    let (status, _) = app
        .post(
            &status_path,
            Some(&adviser),
            &json!({"status": "matched", "note": "对接到爱心企业实习岗位"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, done) = app
        .post(
            &status_path,
            Some(&adviser),
            &json!({"status": "fulfilled"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "fulfilled");
    let (_, history) = app.get(&format!("{path}/history"), Some(&adviser)).await;
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["open", "matched", "fulfilled"]);
    assert_eq!(history[1]["actor"], "adviser");
    assert_eq!(history[1]["note"], "对接到爱心企业实习岗位");
    let (status, _) = app
        .post(&status_path, Some(&adviser), &json!({"status": "open"}))
        .await;
    assert_eq!(status, 422, "fulfilled is final");
    let (_, open) = app.get("/api/v1/needs?status=open", Some(&adviser)).await;
    assert_eq!(open["total"], 0);
}

async fn household_and_need_imports_are_all_or_nothing(app: TestApp) {
    let admin = app.token("admin").await;
    let dir = tempfile::tempdir().unwrap();
    let mut good = household("310118-003-012");
    good["ref"] = json!("H-IMP-1");
    good["adviser"] = json!("adviser");
    let mut second = household("310104-005-003");
    second["ref"] = json!("H-IMP-2");
    second["members"][0]["id_number"] = json!(id("31010419600101123"));
    second["members"][0]["birth_date"] = json!("1960-01-01");
    second["members"].as_array_mut().unwrap().truncate(1);
    let mut bad = second.clone();
    bad["ref"] = json!("H-IMP-3");
    bad["members"][0]["birth_date"] = json!("1961-01-01");
    let lines = |records: &[&Value]| {
        records
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };

    // One bad record (the third line): nothing is written, the line is named.
    let file = dir.path().join("households.jsonl");
    std::fs::write(&file, lines(&[&good, &second, &bad])).unwrap();
    let out = app.cli(["import", "households", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("H-IMP-3") && stderr.contains("members[0].birth_date"),
        "{stderr}"
    );
    assert!(stderr.contains('3'), "{stderr}");
    let (_, list) = app.get("/api/v1/households", Some(&admin)).await;
    assert_eq!(list["total"], 0);

    // Fixed: both written, the adviser assigned, personal data encrypted.
    std::fs::write(&file, lines(&[&good, &second])).unwrap();
    let out = app.cli(["import", "households", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, list) = app.get("/api/v1/households", Some(&admin)).await;
    assert_eq!(list["total"], 2);
    let adviser = app.token("adviser").await;
    let (status, one) = app.get("/api/v1/households/H-IMP-1", Some(&adviser)).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["adviser"], "adviser");
    assert!(one["members"][0]["id_number"]
        .as_str()
        .unwrap()
        .contains('*'));

    // Needs: a record naming an unknown household stops the file.
    let needs_file = dir.path().join("needs.json");
    let needs = json!([
        {"household_ref": "H-IMP-1", "dimension": "daily_care", "title": "每日助餐", "urgency": "high"},
        {"household_ref": "H-NOPE", "dimension": "housing", "title": "卫生间适老化改造"}
    ]);
    std::fs::write(&needs_file, needs.to_string()).unwrap();
    let out = app.cli(["import", "needs", needs_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("H-NOPE"));
    let (_, none) = app.get("/api/v1/needs", Some(&admin)).await;
    assert_eq!(none["total"], 0);
    std::fs::write(&needs_file, json!([needs[0]]).to_string()).unwrap();
    let out = app.cli(["import", "needs", needs_file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, one_need) = app
        .get("/api/v1/needs?household=H-IMP-1", Some(&adviser))
        .await;
    assert_eq!(one_need["total"], 1);
}
