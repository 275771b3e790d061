//! Health, login, tokens, throttling and account management.

use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};

async fn health_reports_the_database(app: TestApp) {
    let (status, body) = app.get("/healthz", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    let expected = if app.database_url().starts_with("postgres") {
        "postgresql"
    } else {
        "sqlite"
    };
    assert_eq!(body["database"], expected);
    let (status, doc) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/api/v1/resources"].is_object(), "{doc}");
    assert!(doc["paths"]["/api/v1/auth/token"].is_object());
    openapi_is_complete(&doc);
}

/// What clients and scripts/fuzz-api.sh rely on: every path parameter
/// declared (and nothing else `in: path`), unique operation ids, the bearer
/// scheme, and error responses with the error body.
fn openapi_is_complete(doc: &serde_json::Value) {
    let mut ids = std::collections::HashSet::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let template: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|p| p.split('}').next())
            .collect();
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let id = op["operationId"].as_str().unwrap().to_string();
            assert!(ids.insert(id.clone()), "operationId {id} twice");
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for name in &template {
                assert!(
                    params
                        .iter()
                        .any(|p| p["in"] == "path" && p["name"] == *name),
                    "{method} {path}: {{{name}}} not declared"
                );
            }
            for p in params.iter().filter(|p| p["in"] == "path") {
                assert!(
                    template.contains(&p["name"].as_str().unwrap()),
                    "{method} {path}: {} declared in: path",
                    p["name"]
                );
            }
            let responses = op["responses"].as_object().unwrap();
            for code in ["401", "403", "503"] {
                let r = &responses[code];
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{method} {path} {code}"
                );
            }
        }
    }
    assert!(operations >= 70, "{operations}");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Error"]["properties"]["error"].is_object());
    // A query string is a query parameter.
    let list = &doc["paths"]["/api/v1/needs"]["get"]["parameters"];
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "status" && p["in"] == "query"),
        "{list}"
    );
}

async fn login_issues_a_working_token(app: TestApp) {
    let (status, body) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "adviser", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 200);
    let token = body["token"].as_str().unwrap().to_string();
    assert!(body["expires_at"].as_str().unwrap().starts_with("20"));
    let (status, me) = app.get("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "adviser");
    assert_eq!(me["role"], "adviser");
    assert_eq!(me["regions"], json!(["310118-003"]));

    let (status, err) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "adviser", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["code"], "unauthorized");
    let (status, _) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "nobody", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, err) = app.get("/api/v1/auth/me", Some("not.a.token")).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["code"], "unauthorized");
    let (status, _) = app.get("/api/v1/auth/me", None).await;
    assert_eq!(status, 401);
    // Malformed body: a 400 in the standard error shape, never a 5xx.
    let resp = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "bad_request");

    // Changing one's own password.
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, err) = app
        .post(
            "/api/v1/auth/password",
            Some(&token),
            &change("wrong", "New-password-1"),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "current_password");
    let (status, err) = app
        .post(
            "/api/v1/auth/password",
            Some(&token),
            &change(PASSWORD, "short"),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "new_password");
    let (status, _) = app
        .post(
            "/api/v1/auth/password",
            None,
            &change(PASSWORD, "New-password-1"),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .post(
            "/api/v1/auth/password",
            Some(&token),
            &change(PASSWORD, "New-password-1"),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "adviser", "password": "New-password-1"}),
        )
        .await;
    assert_eq!(status, 200);
    // The change ended the old session; the new token works until logout,
    // which ends every session of the account.
    assert_eq!(app.get("/api/v1/auth/me", Some(&token)).await.0, 401);
    let fresh = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "adviser", "password": "New-password-1"}),
        )
        .await
        .1["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.get("/api/v1/auth/me", Some(&fresh)).await.0, 200);
    assert_eq!(
        app.post("/api/v1/auth/logout", Some(&fresh), &json!({}))
            .await
            .0,
        204
    );
    assert_eq!(app.get("/api/v1/auth/me", Some(&fresh)).await.0, 401);
}

async fn failed_logins_are_throttled(app: TestApp) {
    let attempt = |user: &'static str, pw: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/auth/token",
                None,
                &json!({"username": user, "password": pw}),
            )
            .await
            .0
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("charity_a", "bad-password").await, 401);
    }
    // The account is locked, even with the right password.
    let (status, err) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "charity_a", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 429);
    assert_eq!(err["error"]["code"], "rate_limited");
    // Another account from the same address still works...
    assert_eq!(attempt("charity_b", PASSWORD).await, 200);
    // ...until the address itself has failed too often (limit 12 in tests).
    for i in 0..7 {
        let name = ["x1", "x2", "x3", "x4", "x5", "x6", "x7"][i];
        assert_eq!(attempt(name, "bad-password").await, 401);
    }
    assert_eq!(attempt("charity_b", PASSWORD).await, 429);
}

async fn admins_manage_accounts_and_others_cannot(app: TestApp) {
    let admin = app.token("admin").await;
    let adviser = app.token("adviser").await;
    let new_user = json!({"username": "adviser9", "password": "Another-pass-9", "role": "adviser",
                          "regions": ["310118-001"], "display_name": "新顾问"});
    let (status, _) = app.post("/api/v1/users", Some(&adviser), &new_user).await;
    assert_eq!(status, 403);
    let (status, _) = app.get("/api/v1/users", Some(&adviser)).await;
    assert_eq!(status, 403);
    let (status, created) = app.post("/api/v1/users", Some(&admin), &new_user).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["regions"], json!(["310118-001"]));
    assert!(created.get("password_hash").is_none());
    // Validation names the field.
    let bad = json!({"username": "x", "password": "short", "role": "boss"});
    let (status, err) = app.post("/api/v1/users", Some(&admin), &bad).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = err["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"username") && fields.contains(&"password") && fields.contains(&"role"),
        "{err}"
    );
    // A charity account needs an existing organisation.
    let (status, err) = app.post("/api/v1/users", Some(&admin),
        &json!({"username": "c99", "password": "Another-pass-9", "role": "charity", "organisation": "不存在的机构"})).await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "organisation");
    // Disabling an account ends its sessions at once.
    let nine = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "adviser9", "password": "Another-pass-9"}),
        )
        .await
        .1;
    let nine_token = nine["token"].as_str().unwrap().to_string();
    let mut disabled = new_user.clone();
    disabled["active"] = json!(false);
    disabled.as_object_mut().unwrap().remove("password");
    let (status, _) = app
        .put("/api/v1/users/adviser9", Some(&admin), &disabled)
        .await;
    assert_eq!(status, 200);
    let (status, _) = app.get("/api/v1/auth/me", Some(&nine_token)).await;
    assert_eq!(status, 401);
    // Organisations: admins create, others may list.
    let (status, _) = app
        .post(
            "/api/v1/organisations",
            Some(&adviser),
            &json!({"name": "新机构", "kind": "charity"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, org) = app
        .post(
            "/api/v1/organisations",
            Some(&admin),
            &json!({"name": "新机构", "kind": "charity", "region": "310118"}),
        )
        .await;
    assert_eq!(status, 200, "{org}");
    let (status, err) = app
        .post(
            "/api/v1/organisations",
            Some(&admin),
            &json!({"name": "坏机构", "kind": "club"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "kind");
    let (status, list) = app.get("/api/v1/organisations", Some(&adviser)).await;
    assert_eq!(status, 200);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["name"] == "新机构"));
}

async fn first_start_creates_an_admin_and_user_add_sets_passwords(_seeded: TestApp) {
    let backend = if _seeded.database_url().starts_with("postgres") {
        crate::helpers::Backend::Postgres
    } else {
        crate::helpers::Backend::Sqlite
    };
    let app = crate::helpers::spawn_with(backend, false).await.unwrap();
    let password = app
        .initial_admin_password
        .clone()
        .expect("first admin password");
    assert!(password.len() >= 12);
    let (status, _) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "admin", "password": password}),
        )
        .await;
    assert_eq!(status, 200);
    // `aidmatch user add` creates an account, and resets the password of an existing one.
    let run = |args: &[&str]| app.cli(args);
    let out = run(&[
        "user",
        "add",
        "admin",
        "--role",
        "admin",
        "--password",
        "Chosen-pass-1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "user",
        "add",
        "guwen",
        "--role",
        "adviser",
        "--password",
        "Adviser-pass-1",
        "--region",
        "310118-003",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "user",
        "add",
        "bad",
        "--role",
        "adviser",
        "--password",
        "Adviser-pass-1",
    ]);
    assert!(!out.status.success(), "an adviser needs a region");
    assert!(String::from_utf8_lossy(&out.stderr).contains("regions"));
    for (user, pw) in [("admin", "Chosen-pass-1"), ("guwen", "Adviser-pass-1")] {
        let (status, _) = app
            .post(
                "/api/v1/auth/token",
                None,
                &json!({"username": user, "password": pw}),
            )
            .await;
        assert_eq!(status, 200, "{user}");
    }
    let (status, _) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "admin", "password": password}),
        )
        .await;
    assert_eq!(status, 401, "the old password no longer works");
}

crate::backend_tests!(
    first_start_creates_an_admin_and_user_add_sets_passwords,
    health_reports_the_database,
    login_issues_a_working_token,
    failed_logins_are_throttled,
    admins_manage_accounts_and_others_cannot,
);
