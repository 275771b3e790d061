//! The catalogue API: every role against every endpoint, validation, the
//! status workflow and who/when bookkeeping.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{policy, service, TestApp, ORG_A, ORG_B};

struct Tokens {
    adviser: String,
    charity_a: String,
    charity_b: String,
    admin: String,
}

async fn tokens(app: &TestApp) -> Tokens {
    Tokens {
        adviser: app.token("adviser").await,
        charity_a: app.token("charity_a").await,
        charity_b: app.token("charity_b").await,
        admin: app.token("admin").await,
    }
}

async fn each_role_against_each_endpoint(app: TestApp) {
    let t = tokens(&app).await;
    // Fixtures: a published policy, a draft of A's, a published offer of B's.
    assert_eq!(
        app.post("/api/v1/resources", Some(&t.admin), &policy("P-1"))
            .await
            .0,
        201
    );
    assert_eq!(
        app.post(
            "/api/v1/resources",
            Some(&t.charity_a),
            &service("S-A", ORG_A)
        )
        .await
        .0,
        201
    );
    let mut b = service("S-B", ORG_B);
    b["status"] = json!("published");
    assert_eq!(
        app.post("/api/v1/resources", Some(&t.charity_b), &b)
            .await
            .0,
        201
    );

    let anon: Option<&str> = None;
    let adviser = Some(t.adviser.as_str());
    let ca = Some(t.charity_a.as_str());
    let cb = Some(t.charity_b.as_str());
    let admin = Some(t.admin.as_str());
    let who = [
        ("anonymous", anon),
        ("adviser", adviser),
        ("charity_a", ca),
        ("charity_b", cb),
        ("admin", admin),
    ];

    // (method, path, body, expected status for anon, adviser, charity_a, charity_b, admin)
    let policy_update = {
        let mut p = policy("P-1");
        p["title"] = json!("上海市最低生活保障（修订）");
        p
    };
    let mut cases: Vec<(Method, String, Option<Value>, [u16; 5])> = vec![
        (
            Method::GET,
            "/api/v1/resources".into(),
            None,
            [200, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/resources/P-1".into(),
            None,
            [200, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/resources/S-A".into(),
            None,
            [404, 200, 200, 404, 200],
        ),
        (
            Method::GET,
            "/api/v1/resources/S-A/history".into(),
            None,
            [401, 200, 200, 404, 200],
        ),
        (
            Method::POST,
            "/api/v1/resources".into(),
            Some(policy("P-NEW")),
            [401, 403, 403, 403, 201],
        ),
        (
            Method::PUT,
            "/api/v1/resources/P-1".into(),
            Some(policy_update),
            [401, 403, 403, 403, 200],
        ),
        (
            Method::PUT,
            "/api/v1/resources/S-B".into(),
            Some(service("S-B", ORG_B)),
            [401, 403, 403, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/resources/S-A/publish".into(),
            None,
            [401, 403, 200, 403, 200],
        ),
        (
            Method::POST,
            "/api/v1/resources/S-B/withdraw".into(),
            None,
            [401, 403, 403, 200, 200],
        ),
    ];
    // Creating an offer: each role with its own ref.
    for (i, (name, _)) in who.iter().enumerate() {
        let provider = match *name {
            "charity_b" => ORG_B,
            _ => ORG_A,
        };
        let mut expected = [0u16; 5];
        expected[i] = match *name {
            "anonymous" => 401,
            "adviser" => 403,
            _ => 201,
        };
        cases.push((
            Method::POST,
            "/api/v1/resources".into(),
            Some(service(&format!("S-NEW-{name}"), provider)),
            expected,
        ));
    }

    for (method, path, body, expected) in cases {
        for (i, (name, token)) in who.iter().enumerate() {
            // Only the creating role's slot is meaningful for the per-role create cases.
            if expected[i] == 0 {
                continue;
            }
            let (status, resp) = app.call(method.clone(), &path, *token, body.as_ref()).await;
            let want = expected[i];
            // Roles run in order, so once charity_a has published S-A, charity_b
            // can see it (and is refused with 403); a repeated transition is a no-op 200.
            assert!(
                status == want,
                "{name} {method} {path}: expected {want}, got {status}: {resp}"
            );
            if status >= 400 {
                assert!(
                    resp["error"]["code"].is_string(),
                    "{name} {method} {path}: {resp}"
                );
            }
        }
    }
}

async fn a_charity_cannot_touch_another_organisations_resource(app: TestApp) {
    let t = tokens(&app).await;
    let mut b = service("S-B", ORG_B);
    b["status"] = json!("published");
    assert_eq!(
        app.post("/api/v1/resources", Some(&t.charity_b), &b)
            .await
            .0,
        201
    );
    let mut edit = service("S-B", ORG_B);
    edit["title"] = json!("被篡改的标题");
    let (status, err) = app
        .put("/api/v1/resources/S-B", Some(&t.charity_a), &edit)
        .await;
    assert_eq!(status, 403, "{err}");
    assert_eq!(err["error"]["code"], "forbidden");
    let (status, _) = app
        .post(
            "/api/v1/resources/S-B/withdraw",
            Some(&t.charity_a),
            &json!({}),
        )
        .await;
    assert_eq!(status, 403);
    // Nothing changed.
    let (_, doc) = app.get("/api/v1/resources/S-B", None).await;
    assert_eq!(doc["title"], "社区长者助餐服务");
    assert_eq!(doc["status"], "published");
    // A charity cannot post under another organisation's name, nor post a policy.
    let (status, err) = app
        .post(
            "/api/v1/resources",
            Some(&t.charity_a),
            &service("S-FAKE", ORG_B),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "provider");
    let mut sneaky = policy("P-SNEAKY");
    sneaky["provider"] = json!(ORG_A);
    assert_eq!(
        app.post("/api/v1/resources", Some(&t.charity_a), &sneaky)
            .await
            .0,
        403
    );
    // Nor turn its own offer into a policy.
    assert_eq!(
        app.post(
            "/api/v1/resources",
            Some(&t.charity_a),
            &service("S-A", ORG_A)
        )
        .await
        .0,
        201
    );
    let mut to_policy = service("S-A", ORG_A);
    to_policy["kind"] = json!("policy");
    to_policy["capacity"] = Value::Null;
    assert_eq!(
        app.put("/api/v1/resources/S-A", Some(&t.charity_a), &to_policy)
            .await
            .0,
        403
    );
}

async fn validation_names_every_bad_field_and_writes_nothing(app: TestApp) {
    let t = tokens(&app).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("kind", json!("gift"), "kind"),
        ("dimensions", json!(["income", "wealth"]), "dimensions[1]"),
        ("dimensions", json!([]), "dimensions"),
        ("target_groups", json!(["Not A Code!"]), "target_groups[0]"),
        ("ref", json!("search"), "ref"),
        ("region", json!("3101-18"), "region"),
        ("valid_from", json!("2026/01/01"), "valid_from"),
        ("valid_until", json!("2020-01-01"), "valid_until"),
        (
            "eligibility",
            json!({"and": [{"frobnicate": [1, 2]}]}),
            "eligibility",
        ),
        ("eligibility", json!({"==": [1]}), "eligibility"),
        (
            "capacity",
            json!({"total": 10, "remaining": 11, "unit": "份"}),
            "capacity.remaining",
        ),
        (
            "capacity",
            json!({"total": -3, "unit": "份"}),
            "capacity.total",
        ),
        ("title", json!(""), "title"),
        ("ref", json!("bad ref!"), "ref"),
        ("apply", json!({"url": "javascript:alert(1)"}), "apply.url"),
        ("colour", json!("red"), "colour"),
    ];
    for (field, value, named) in cases {
        let mut doc = service("S-V", ORG_A);
        doc[field] = value.clone();
        let (status, err) = app.post("/api/v1/resources", Some(&t.admin), &doc).await;
        assert_eq!(status, 422, "{field}={value}: {err}");
        assert_eq!(err["error"]["code"], "validation_failed");
        let fields: Vec<&str> = err["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&named),
            "{field}={value}: expected {named} in {fields:?}"
        );
        assert!(err["error"]["message"]
            .as_str()
            .unwrap()
            .contains(named.split('[').next().unwrap()));
    }
    // A policy has no capacity.
    let mut p = policy("P-CAP");
    p["capacity"] = json!({"total": 1, "remaining": 1, "unit": "份"});
    let (status, err) = app.post("/api/v1/resources", Some(&t.admin), &p).await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "capacity");
    // Not an object at all; not JSON at all.
    assert_eq!(
        app.post("/api/v1/resources", Some(&t.admin), &json!([1, 2]))
            .await
            .0,
        422
    );
    let resp = app
        .client
        .post(app.url("/api/v1/resources"))
        .bearer_auth(&t.admin)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Nothing was written.
    let (_, list) = app.get("/api/v1/resources", Some(&t.admin)).await;
    assert_eq!(list["total"], 0, "{list}");
    // Unknown resource, unknown endpoint: 404 in the error shape.
    let (status, err) = app.get("/api/v1/resources/NOPE", None).await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "not_found");
    assert_eq!(app.get("/api/v1/nothing-here", None).await.0, 404);
    // Bad list filters are 4xx, not 5xx.
    assert_eq!(app.get("/api/v1/resources?kind=gift", None).await.0, 422);
    assert_eq!(app.get("/api/v1/resources?page=abc", None).await.0, 400);
}

async fn status_workflow_records_who_and_when(app: TestApp) {
    let t = tokens(&app).await;
    let (status, doc) = app
        .post(
            "/api/v1/resources",
            Some(&t.charity_a),
            &service("S-W", ORG_A),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(doc["status"], "draft");
    assert_eq!(doc["created_by"], "charity_a");
    assert_eq!(doc["organisation"], ORG_A);
    assert_eq!(doc["provider"], ORG_A);
    // Drafts are not public.
    assert_eq!(app.get("/api/v1/resources/S-W", None).await.0, 404);
    let (_, public) = app.get("/api/v1/resources", None).await;
    assert_eq!(public["total"], 0);

    let (status, doc) = app
        .post(
            "/api/v1/resources/S-W/publish",
            Some(&t.charity_a),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(doc["status"], "published");
    assert_eq!(doc["published_by"], "charity_a");
    // RFC 3339 in UTC, as OpenAPI's date-time means.
    let at = doc["published_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'),
        "{at}"
    );
    assert_eq!(doc["version"], 2);
    let (status, public_doc) = app.get("/api/v1/resources/S-W", None).await;
    assert_eq!(status, 200);
    // The contract's fields are all there, under their names.
    for field in [
        "ref",
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
        assert!(public_doc.get(field).is_some(), "missing {field}");
    }
    assert_eq!(
        public_doc["capacity"],
        json!({"total": 40, "remaining": 40, "unit": "人"})
    );

    // An edit keeps it published and bumps the version.
    let mut edit = service("S-W", ORG_A);
    edit["capacity"] = json!({"total": 40, "remaining": 12, "unit": "人"});
    let (status, doc) = app
        .put("/api/v1/resources/S-W", Some(&t.charity_a), &edit)
        .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["status"], "published");
    assert_eq!(doc["capacity"]["remaining"], 12);
    assert_eq!(doc["updated_by"], "charity_a");

    let (status, doc) = app
        .post("/api/v1/resources/S-W/withdraw", Some(&t.admin), &json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(doc["status"], "withdrawn");
    assert_eq!(doc["withdrawn_by"], "admin");
    // Withdrawn is not public, and cannot jump back to published.
    assert_eq!(app.get("/api/v1/resources/S-W", None).await.0, 404);
    let (status, err) = app
        .post("/api/v1/resources/S-W/publish", Some(&t.admin), &json!({}))
        .await;
    assert_eq!(status, 409);
    assert_eq!(err["error"]["code"], "conflict");
    // Creating with an existing ref is a conflict.
    let (status, _) = app
        .post(
            "/api/v1/resources",
            Some(&t.charity_a),
            &service("S-W", ORG_A),
        )
        .await;
    assert_eq!(status, 409);

    let (status, history) = app
        .get("/api/v1/resources/S-W/history", Some(&t.adviser))
        .await;
    assert_eq!(status, 200);
    let actions: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["action"].as_str().unwrap(), h["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("created", "charity_a"),
            ("published", "charity_a"),
            ("updated", "charity_a"),
            ("withdrawn", "admin")
        ]
    );
    // Advisers see the whole catalogue, including withdrawn entries.
    let (_, all) = app
        .get("/api/v1/resources?status=withdrawn", Some(&t.adviser))
        .await;
    assert_eq!(all["total"], 1);
}

async fn listing_pages_and_filters(app: TestApp) {
    let t = tokens(&app).await;
    for i in 0..25 {
        let mut s = service(&format!("S-{i:02}"), ORG_A);
        s["status"] = json!("published");
        if i % 5 == 0 {
            s["kind"] = json!("material");
        }
        assert_eq!(
            app.post("/api/v1/resources", Some(&t.charity_a), &s)
                .await
                .0,
            201
        );
    }
    let (_, page1) = app.get("/api/v1/resources?per_page=10", None).await;
    assert_eq!(page1["total"], 25);
    assert_eq!(page1["items"].as_array().unwrap().len(), 10);
    let (_, page3) = app.get("/api/v1/resources?per_page=10&page=3", None).await;
    assert_eq!(page3["items"].as_array().unwrap().len(), 5);
    let (_, materials) = app.get("/api/v1/resources?kind=material", None).await;
    assert_eq!(materials["total"], 5);
    let (_, by_org) = app
        .get(
            &format!("/api/v1/resources?organisation={}", urlencode(ORG_A)),
            None,
        )
        .await;
    assert_eq!(by_org["total"], 25);
    // Absurd pages are clamped, not a 5xx.
    let (status, far) = app
        .get("/api/v1/resources?page=9223372036854775807", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(far["items"].as_array().unwrap().len(), 0);
    let resp = app
        .client
        .get(app.url("/resources?page=9223372036854775807"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, text) = app
        .get(&format!("/api/v1/resources?q={}", urlencode("助餐")), None)
        .await;
    assert_eq!(text["total"], 25);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

crate::backend_tests!(
    each_role_against_each_endpoint,
    a_charity_cannot_touch_another_organisations_resource,
    validation_names_every_bad_field_and_writes_nothing,
    status_workflow_records_who_and_when,
    listing_pages_and_filters,
);
