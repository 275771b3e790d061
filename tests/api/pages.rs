//! The server-rendered pages over HTTP: login with CSRF protection, security
//! headers, role checks, and the resource form with errors next to fields.

use reqwest::header::{LOCATION, SET_COOKIE};

use crate::helpers::{TestApp, PASSWORD};

/// The CSRF token embedded in a page's forms.
pub(crate) fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

pub(crate) async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let resp = app.client.get(app.url(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

pub(crate) async fn post_form(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let body = serde_urlencoded::to_string(fields).unwrap();
    app.client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Signs in through the login form; returns the page's CSRF token.
pub(crate) async fn sign_in(app: &TestApp, user: &str) -> String {
    let (_, html) = page(app, "/login").await;
    let csrf = csrf_of(&html);
    let resp = post_form(
        app,
        "/login",
        &[
            ("csrf_token", &csrf),
            ("username", user),
            ("password", PASSWORD),
            ("next", "/"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303, "login of {user}");
    csrf
}

async fn login_form_sets_a_protected_session_and_checks_csrf(app: TestApp) {
    let resp = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(headers.get(name).unwrap(), value);
    }
    assert!(headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let html = resp.text().await.unwrap();
    assert!(html.contains("工作人员登录"));
    let csrf = csrf_of(&html);

    // Without the token (or with a wrong one) the form is refused.
    let resp = post_form(
        &app,
        "/login",
        &[("username", "charity_a"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(resp.status(), 403);
    let resp = post_form(
        &app,
        "/login",
        &[
            ("csrf_token", "forged"),
            ("username", "charity_a"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);

    // A wrong password shows the form again with a message.
    let resp = post_form(
        &app,
        "/login",
        &[
            ("csrf_token", &csrf),
            ("username", "charity_a"),
            ("password", "nope-nope"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert!(resp.text().await.unwrap().contains("用户名或密码错误"));

    let resp = post_form(
        &app,
        "/login",
        &[
            ("csrf_token", &csrf),
            ("username", "charity_a"),
            ("password", PASSWORD),
            ("next", "/manage/resources"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers().get(LOCATION).unwrap(), "/manage/resources");
    let cookie = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("aidmatch_session="))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let (status, html) = page(&app, "/manage/resources").await;
    assert_eq!(status, 200);
    assert!(html.contains(crate::helpers::ORG_A));

    // Off-site or malformed `next` values are not followed, and never cause a 5xx.
    for evil in [
        "/\t/evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "/\n",
    ] {
        let resp = post_form(
            &app,
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", "charity_a"),
                ("password", PASSWORD),
                ("next", evil),
            ],
        )
        .await;
        assert_eq!(resp.status(), 303, "{evil:?}");
        assert_eq!(resp.headers().get(LOCATION).unwrap(), "/", "{evil:?}");
    }
    let (status, _) = page(&app, "/login?next=%2F%0A").await;
    assert!(status < 500);
    let resp = post_form(
        &app,
        "/login",
        &[
            ("csrf_token", &csrf),
            ("username", "charity_a"),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
        ],
    )
    .await;
    assert_eq!(resp.headers().get(LOCATION).unwrap(), "/");

    // Logout needs the token too, then the session is gone.
    let resp = post_form(&app, "/logout", &[]).await;
    assert_eq!(resp.status(), 403);
    let resp = post_form(&app, "/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(resp.status(), 303);
    let resp = app
        .client
        .get(app.url("/resources/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(resp
        .headers()
        .get(LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("/login?next=%2Fresources%2Fnew"));
}

async fn resource_form_shows_errors_next_to_fields(app: TestApp) {
    let csrf = sign_in(&app, "charity_a").await;
    let (status, html) = page(&app, "/resources/new").await;
    assert_eq!(status, 200);
    assert!(
        !html.contains("value=\"policy\""),
        "charities are not offered the policy kind"
    );
    let bad = [
        ("csrf_token", csrf.as_str()),
        ("ref", "S-FORM-1"),
        ("kind", "service"),
        ("title", ""),
        ("region", "31-0118"),
        ("capacity_total", "abc"),
        ("capacity_unit", "人"),
        ("eligibility", "{not json"),
        ("status", "draft"),
    ];
    let resp = post_form(&app, "/resources/new", &bad).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    for field in ["title", "region", "dimensions", "capacity", "eligibility"] {
        assert!(
            html.contains(&format!("id=\"error-{field}\"")),
            "no error shown for {field}"
        );
    }
    assert!(html.contains("value=\"S-FORM-1\""), "typed values are kept");

    let good = [
        ("csrf_token", csrf.as_str()),
        ("ref", "S-FORM-1"),
        ("kind", "material"),
        ("title", "冬季爱心棉被"),
        ("summary", "为困难老人送棉被"),
        ("region", "310118-003"),
        ("dimensions", "income"),
        ("dimensions", "safety"),
        ("target_groups", "elderly"),
        ("capacity_total", "100"),
        ("capacity_remaining", "80"),
        ("capacity_unit", "床"),
        ("materials", "身份证\n低保证"),
        ("status", "published"),
    ];
    let resp = post_form(&app, "/resources/new", &good).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers().get(LOCATION).unwrap(),
        "/resources/S-FORM-1?done=created"
    );
    let (status, html) = page(&app, "/resources/S-FORM-1").await;
    assert_eq!(status, 200);
    assert!(html.contains("冬季爱心棉被") && html.contains("剩余 80 / 共 100 床"));
    let (_, doc) = app.get("/api/v1/resources/S-FORM-1", None).await;
    assert_eq!(doc["dimensions"], serde_json::json!(["income", "safety"]));
    assert_eq!(doc["provider"], crate::helpers::ORG_A);
    assert_eq!(
        doc["apply"]["materials"],
        serde_json::json!(["身份证", "低保证"])
    );

    // Withdrawing asks for confirmation first.
    let (status, html) = page(&app, "/resources/S-FORM-1/withdraw").await;
    assert_eq!(status, 200);
    assert!(html.contains("确认撤回"));
    let resp = post_form(
        &app,
        "/resources/S-FORM-1/status",
        &[("csrf_token", &csrf), ("status", "withdrawn")],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let (_, doc) = app
        .get(
            "/api/v1/resources/S-FORM-1",
            Some(&app.token("admin").await),
        )
        .await;
    assert_eq!(doc["status"], "withdrawn");
}

async fn pages_check_roles(app: TestApp) {
    // Anonymous visitors see the public catalogue but not drafts or admin pages.
    let (status, html) = page(&app, "/resources").await;
    assert_eq!(status, 200);
    assert!(html.contains("没有找到符合条件的资源"), "empty state");
    assert_eq!(page(&app, "/admin/users").await.0, 303);

    // An adviser reads the catalogue but may not create resources or manage accounts.
    let csrf = sign_in(&app, "adviser").await;
    let (status, html) = page(&app, "/resources/new").await;
    assert_eq!(status, 403);
    assert!(
        html.contains("无权访问") && html.contains("社区救助顾问") && html.contains("退出"),
        "the error page keeps the signed-in menu"
    );
    assert_eq!(page(&app, "/admin/users").await.0, 403);
    let (status, html) = page(&app, "/no/such/page").await;
    assert_eq!(status, 404);
    assert!(html.contains("没有这个页面"));
    let (status, html) = page(&app, "/resources/NO-SUCH-REF").await;
    assert_eq!(status, 404);
    assert!(html.contains("页面不存在") && html.contains("退出"));
    assert_eq!(page(&app, "/manage/resources").await.0, 200);
    let resp = post_form(
        &app,
        "/admin/users",
        &[
            ("csrf_token", &csrf),
            ("username", "sneaky"),
            ("password", "Password-123"),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);
    post_form(&app, "/logout", &[("csrf_token", &csrf)]).await;

    // An admin manages accounts through the form, with errors next to fields.
    let csrf = sign_in(&app, "admin").await;
    let (status, html) = page(&app, "/admin/users").await;
    assert_eq!(status, 200);
    assert!(html.contains("charity_a"));
    let resp = post_form(
        &app,
        "/admin/users",
        &[
            ("csrf_token", &csrf),
            ("username", "new-adviser"),
            ("password", "short"),
            ("role", "adviser"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("密码至少") && html.contains("负责地区"),
        "field errors shown"
    );
    let resp = post_form(
        &app,
        "/admin/users",
        &[
            ("csrf_token", &csrf),
            ("username", "new-adviser"),
            ("password", "Long-enough-1"),
            ("role", "adviser"),
            ("regions", "310118-003 310118-004"),
            ("active", "on"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let token = app.token("admin").await;
    let (_, user) = app.get("/api/v1/users/new-adviser", Some(&token)).await;
    assert_eq!(
        user["regions"],
        serde_json::json!(["310118-003", "310118-004"])
    );
    let resp = post_form(
        &app,
        "/admin/organisations",
        &[
            ("csrf_token", &csrf),
            ("name", "新社区中心"),
            ("kind", "community"),
            ("region", "310118-003"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let (_, html) = page(&app, "/admin/organisations").await;
    assert!(html.contains("新社区中心"));
}

crate::backend_tests!(
    login_form_sets_a_protected_session_and_checks_csrf,
    resource_form_shows_errors_next_to_fields,
    pages_check_roles,
);
