//! Open Referral HSDS 3.0: the export is valid against the HSDS schemas
//! (tests/hsds/schema) and reads back without loss; Open Referral's own
//! example records import as drafts with their organization, location,
//! schedules, documents and age limits.

use std::path::Path;

use serde_json::{json, Value};

use crate::helpers::{policy, TestApp};

crate::backend_tests!(
    the_export_is_valid_hsds_and_reads_back_unchanged,
    open_referral_samples_import,
    admins_import_hsds_through_the_page,
);

fn hsds_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hsds"))
}

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(hsds_dir().join(path)).expect(path);
    serde_json::from_str(&text).expect(path)
}

/// Checks `value` against the HSDS schema `file`: required fields, types,
/// enums, uuid formats, and nested objects through their `$ref`s.
fn check(file: &str, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = load(&format!("schema/{file}"));
    let Some(obj) = value.as_object() else {
        errors.push(format!("{at}: not an object"));
        return;
    };
    for r in schema["required"].as_array().into_iter().flatten() {
        let r = r.as_str().unwrap();
        if !obj.contains_key(r) {
            errors.push(format!("{at}.{r}: required by {file}"));
        }
    }
    let props = schema["properties"].as_object().unwrap();
    for (k, v) in obj {
        let here = format!("{at}.{k}");
        let Some(p) = props.get(k) else {
            errors.push(format!("{here}: not a property of {file}"));
            continue;
        };
        if v.is_null() {
            continue;
        }
        match p["type"].as_str() {
            Some("string") if !v.is_string() => errors.push(format!("{here}: not a string")),
            Some("number") if !v.is_number() => errors.push(format!("{here}: not a number")),
            Some("array") if !v.is_array() => errors.push(format!("{here}: not an array")),
            _ => {}
        }
        if let Some(choices) = p["enum"].as_array() {
            if !choices.contains(v) {
                errors.push(format!("{here}: {v} not in {choices:?}"));
            }
        }
        if p["format"] == "uuid" && uuid::Uuid::parse_str(v.as_str().unwrap_or("")).is_err() {
            errors.push(format!("{here}: {v} is not a uuid"));
        }
        if p["format"] == "date-time"
            && chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or("")).is_err()
        {
            errors.push(format!("{here}: {v} is not a date-time"));
        }
        if let Some(r) = p["$ref"].as_str() {
            check(r, v, &here, errors);
        }
        if let (Some(r), Some(items)) = (p["items"]["$ref"].as_str(), v.as_array()) {
            for (i, item) in items.iter().enumerate() {
                check(r, item, &format!("{here}[{i}]"), errors);
            }
        }
    }
}

async fn the_export_is_valid_hsds_and_reads_back_unchanged(app: TestApp) {
    let admin = app.token("admin").await;
    let full = json!({
        "ref": "S-HSDS-1", "kind": "service", "title": "独居老人助餐服务",
        "summary": "为辖区独居、高龄老人提供午餐配送",
        "body": "每日中午送餐上门。\n\n行动不便者可申请代取。",
        "provider": "青浦区乐龄公益服务社", "region": "310118-003",
        "dimensions": ["daily_care", "income"], "target_groups": ["elderly_alone", "elderly"],
        "eligibility": {"some": [{"var": "members"}, {">=": [{"var": "age"}, 70]}]},
        "benefit": "每餐补贴 10 元",
        "capacity": {"total": 40, "remaining": 12, "unit": "人"},
        "valid_from": "2026-01-01", "valid_until": "2026-12-31",
        "apply": {"materials": ["身份证", "居住证明"], "process": "向居委会报名",
                  "contact": "021-59700000", "url": "https://example.org/meals",
                  "address": "青浦区香花桥街道新桥路 1 号", "hours": "周一至周五 11:00–12:30"},
        "status": "published"
    });
    let funding = json!({
        "ref": "F-HSDS-2", "kind": "funding", "title": "大病医疗临时救助金",
        "summary": "", "body": "", "provider": "青浦区慈善基金会", "region": "310118",
        "dimensions": ["medical"], "target_groups": [], "benefit": "",
        "apply": {"materials": [], "process": "", "contact": "", "url": null},
        "status": "published"
    });
    let mut draft = funding.clone();
    draft["ref"] = json!("F-HSDS-DRAFT");
    draft["status"] = json!("draft");
    let mut p = policy("P-HSDS-3");
    p["status"] = json!("published");
    for doc in [&full, &funding, &draft, &p] {
        let (status, body) = app.post("/api/v1/resources", Some(&admin), doc).await;
        assert_eq!(status, 201, "{body}");
    }

    // Published services, funding and material only; valid HSDS.
    let (status, page) = app.get("/api/v1/hsds/services", None).await;
    assert_eq!(status, 200, "{page}");
    let contents = page["contents"].as_array().unwrap();
    assert_eq!(page["total_items"], contents.len());
    let refs: Vec<String> = contents
        .iter()
        .map(|s| {
            s["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["taxonomy_term"]["taxonomy"] == "aidmatch_ref")
                .map(|a| a["value"].as_str().unwrap().to_string())
                .unwrap()
        })
        .collect();
    assert!(
        refs.contains(&"S-HSDS-1".to_string()) && refs.contains(&"F-HSDS-2".to_string()),
        "{refs:?}"
    );
    assert!(
        !refs.contains(&"P-HSDS-3".to_string()),
        "policies are not services"
    );
    assert!(
        !refs.contains(&"F-HSDS-DRAFT".to_string()),
        "drafts are not published"
    );
    let mut errors = Vec::new();
    for (i, s) in contents.iter().enumerate() {
        check("service.json", s, &format!("contents[{i}]"), &mut errors);
    }
    assert!(errors.is_empty(), "HSDS schema violations: {errors:#?}");

    // The service's HSDS fields.
    let (status, s) = app.get("/api/v1/hsds/services/S-HSDS-1", None).await;
    assert_eq!(status, 200);
    assert_eq!(s["name"], "独居老人助餐服务");
    assert_eq!(s["status"], "active");
    assert_eq!(s["organization"]["name"], "青浦区乐龄公益服务社");
    assert_eq!(s["url"], "https://example.org/meals");
    assert_eq!(s["application_process"], "向居委会报名");
    assert_eq!(s["phones"][0]["number"], "021-59700000");
    assert_eq!(s["schedules"][0]["description"], "周一至周五 11:00–12:30");
    assert_eq!(s["required_documents"][1]["document"], "居住证明");
    assert_eq!(
        s["service_at_locations"][0]["location"]["addresses"][0]["address_1"],
        "青浦区香花桥街道新桥路 1 号"
    );
    assert_eq!(s["service_areas"][0]["extent"], "310118-003");
    assert!(
        s["eligibility_description"]
            .as_str()
            .unwrap()
            .contains("独居/空巢老人"),
        "{s}"
    );
    let id = s["id"].as_str().unwrap().to_string();
    let (status, by_id) = app.get(&format!("/api/v1/hsds/services/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(by_id, s);
    let (status, _) = app.get("/api/v1/hsds/services/F-HSDS-DRAFT", None).await;
    assert_eq!(status, 404);

    // The download the catalogue page links to is the same page.
    let resp = app
        .client
        .get(app.url("/resources.hsds.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    let downloaded: Value = resp.json().await.unwrap();
    assert_eq!(downloaded["contents"], page["contents"]);
    assert_eq!(downloaded["total_items"], page["total_items"]);

    // The API pages as HSDS does.
    let (status, second) = app
        .get("/api/v1/hsds/services?per_page=1&page=2", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(second["page_number"], 2);
    assert_eq!(second["total_pages"], page["total_items"]);
    assert_eq!(second["first_page"], false);
    assert_eq!(second["contents"].as_array().unwrap().len(), 1);
    assert_eq!(second["contents"][0], page["contents"][1]);

    // Read back: the resources come back as they were, even after edits.
    let (_, before) = app.get("/api/v1/resources/S-HSDS-1", Some(&admin)).await;
    let (_, funding_before) = app.get("/api/v1/resources/F-HSDS-2", Some(&admin)).await;
    let mut edited = before.clone();
    edited["title"] = json!("改过的标题");
    edited["apply"]["hours"] = json!("");
    edited["capacity"]["remaining"] = json!(3);
    let (status, body) = app
        .put("/api/v1/resources/S-HSDS-1", Some(&admin), &edited)
        .await;
    assert_eq!(status, 200, "{body}");
    let resp = app
        .client
        .post(app.url("/api/v1/hsds/import"))
        .bearer_auth(&admin)
        .json(&page)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["created"], 0, "{report}");
    assert_eq!(report["updated"], contents.len(), "{report}");
    let (_, after) = app.get("/api/v1/resources/S-HSDS-1", Some(&admin)).await;
    let (_, funding_after) = app.get("/api/v1/resources/F-HSDS-2", Some(&admin)).await;
    for field in [
        "kind",
        "title",
        "summary",
        "body",
        "provider",
        "region",
        "dimensions",
        "target_groups",
        "eligibility",
        "benefit",
        "capacity",
        "valid_from",
        "valid_until",
        "apply",
        "status",
    ] {
        assert_eq!(after[field], before[field], "S-HSDS-1 {field}");
        assert_eq!(
            funding_after[field], funding_before[field],
            "F-HSDS-2 {field}"
        );
    }
}

async fn import(app: &TestApp, token: &str, query: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/hsds/import{query}")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn open_referral_samples_import(app: TestApp) {
    let admin = app.token("admin").await;
    let service = load("examples/service_full.json");
    const REF: &str = "HSDS-ac148810-d857-441c-9679-408f346de14b";

    // Data from elsewhere has no aidmatch region: one must be given.
    let (status, body) = import(&app, &admin, "", &service).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("service_areas"), "{body}");
    let (status, _) = app
        .get(&format!("/api/v1/resources/{REF}"), Some(&admin))
        .await;
    assert_eq!(status, 404, "nothing written");

    let (status, body) = import(&app, &admin, "?region=310118", &service).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 1);
    let (status, r) = app
        .get(&format!("/api/v1/resources/{REF}"), Some(&admin))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["title"], "Community Counselling");
    assert_eq!(r["kind"], "service");
    assert_eq!(r["status"], "draft", "from elsewhere: a draft to review");
    assert_eq!(r["provider"], "Example Organization Inc.");
    assert_eq!(r["region"], "310118");
    assert_eq!(r["dimensions"], json!(["mental"]));
    assert_eq!(
        r["eligibility"],
        json!({"some": [{"var": "members"}, {"and": [
            {">=": [{"var": "age"}, 12.0]}, {"<=": [{"var": "age"}, 100.0]}]}]})
    );
    assert!(r["summary"]
        .as_str()
        .unwrap()
        .starts_with("Counselling Services provided"));
    assert!(
        r["body"]
            .as_str()
            .unwrap()
            .contains("适用对象：This service is intended"),
        "{r}"
    );
    assert!(r["apply"]["process"]
        .as_str()
        .unwrap()
        .starts_with("If you are an NHS patient"));
    assert!(
        r["apply"]["contact"]
            .as_str()
            .unwrap()
            .contains("+44 1234 234567"),
        "{r}"
    );
    assert!(r["apply"]["materials"][0]
        .as_str()
        .unwrap()
        .starts_with("Any official identification"));
    assert!(
        r["apply"]["address"]
            .as_str()
            .unwrap()
            .contains("1-30 Main Street"),
        "{r}"
    );
    assert!(
        r["apply"]["hours"]
            .as_str()
            .unwrap()
            .contains("周四、周五 10:00–18:00"),
        "{r}"
    );
    assert_eq!(r["apply"]["url"], "http://example.com/counselling");
    let (status, _) = app.get(&format!("/api/v1/resources/{REF}"), None).await;
    assert_eq!(status, 404, "drafts are not public");

    // An organization with its services, and a page of services.
    let (status, body) = import(
        &app,
        &admin,
        "?region=310118",
        &load("examples/organization_full.json"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = import(
        &app,
        &admin,
        "?region=310118",
        &load("examples/service_list.json"),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Problems name the service and its HSDS field; nothing is written.
    let bad = json!({"contents": [
        {"id": "11111111-1111-4111-8111-111111111111", "name": "Food bank", "status": "active",
         "organization": {"id": "o", "name": "Pantry", "description": "d"}},
        {"id": "22222222-2222-4222-8222-222222222222", "name": "", "status": "gone"}
    ]});
    let (status, body) = import(&app, &admin, "?region=310118", &bad).await;
    assert_eq!(status, 422, "{body}");
    let text = body.to_string();
    assert!(text.contains("contents[1].name"), "{text}");
    assert!(text.contains("contents[1].status"), "{text}");
    assert!(text.contains("contents[1].organization.name"), "{text}");
    let (status, _) = app
        .get(
            "/api/v1/resources/HSDS-11111111-1111-4111-8111-111111111111",
            Some(&admin),
        )
        .await;
    assert_eq!(status, 404, "the good service was not written either");
    let (status, body) = import(&app, &admin, "", &json!({"hello": "world"})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("HSDS 3.0"), "{body}");

    // Only admins import.
    let adviser = app.token("adviser").await;
    let (status, _) = import(&app, &adviser, "?region=310118", &service).await;
    assert_eq!(status, 403);

    // The CLI takes the same files; --publish publishes at once.
    let path = hsds_dir().join("examples/service_full.json");
    let out = app.cli([
        "import",
        "hsds",
        path.to_str().unwrap(),
        "--region",
        "310118-003",
        "--publish",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, r) = app.get(&format!("/api/v1/resources/{REF}"), None).await;
    assert_eq!(status, 200, "published: {r}");
    assert_eq!(r["region"], "310118-003");
}

async fn upload(
    app: &TestApp,
    csrf: &str,
    region: &str,
    publish: bool,
    file: Vec<u8>,
) -> (u16, String) {
    let mut form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.to_string())
        .text("region", region.to_string())
        .text("dimension", "")
        .part(
            "file",
            reqwest::multipart::Part::bytes(file)
                .file_name("services.json")
                .mime_str("application/json")
                .unwrap(),
        );
    if publish {
        form = form.text("publish", "1");
    }
    let resp = app
        .client
        .post(app.url("/manage/resources/hsds"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn admins_import_hsds_through_the_page(app: TestApp) {
    let file = std::fs::read(hsds_dir().join("examples/service_full.json")).unwrap();
    let adviser = crate::helpers::detached(&app);
    crate::pages::sign_in(&adviser, "adviser").await;
    let (status, _) = crate::pages::page(&adviser, "/manage/resources/hsds").await;
    assert_eq!(status, 403, "admins only");

    crate::pages::sign_in(&app, "admin").await;
    let (status, html) = crate::pages::page(&app, "/manage/resources").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("href=\"/manage/resources/hsds\""),
        "linked from the management list"
    );
    let (status, html) = crate::pages::page(&app, "/manage/resources/hsds").await;
    assert_eq!(status, 200);
    let csrf = crate::pages::csrf_of(&html);

    // No region for data from elsewhere: the problem is named, nothing written.
    let (status, html) = upload(&app, &csrf, "", false, file.clone()).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("导入失败，未写入任何数据") && html.contains("service_areas"),
        "{html}"
    );
    // A forged form is refused.
    let (status, _) = upload(&app, "forged", "310118", false, file.clone()).await;
    assert_eq!(status, 403);
    let admin = app.token("admin").await;
    let (status, _) = app
        .get(
            "/api/v1/resources/HSDS-ac148810-d857-441c-9679-408f346de14b",
            Some(&admin),
        )
        .await;
    assert_eq!(status, 404);

    let (status, html) = upload(&app, &csrf, "310118", true, file).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("导入完成") && html.contains("新建 1 项"),
        "{html}"
    );
    let (status, r) = app
        .get(
            "/api/v1/resources/HSDS-ac148810-d857-441c-9679-408f346de14b",
            None,
        )
        .await;
    assert_eq!(status, 200, "published at once: {r}");
    let (status, html) = upload(&app, &csrf, "310118", false, b"{not json".to_vec()).await;
    assert_eq!(status, 422);
    assert!(html.contains("不是合法的 JSON"), "{html}");
}
