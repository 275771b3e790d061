//! Household, need, work-queue and audit pages over HTTP: region and role
//! scoping of every page, masking in HTML, audited reveals, the household
//! form (members added and removed, errors next to fields, personal values
//! kept when left empty), the work queue's deadlines, and logs free of
//! personal data.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use chrono::{Duration, Local};
use reqwest::header::LOCATION;
use serde_json::{json, Value};

use crate::helpers::{TestApp, PASSWORD};
use crate::households::{household, id};

crate::backend_tests!(
    household_pages_are_scoped_by_region_and_role,
    pages_mask_personal_data_and_reveals_are_audited,
    household_form_checks_input_and_changes_members_without_saving,
    work_queue_orders_households_and_flags_deadlines,
    assessment_and_need_pages_follow_the_scale_and_lifecycle,
    a_record_is_closed_reopened_and_consent_withdrawn,
);

/// A signed-in browser: its own cookie jar.
pub(crate) struct Browser {
    pub(crate) client: reqwest::Client,
    base: String,
    csrf: String,
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

impl Browser {
    pub(crate) async fn signed_in(base: &str, user: &str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut b = Browser {
            client,
            base: base.to_string(),
            csrf: String::new(),
        };
        let (_, html) = b.get("/login").await;
        b.csrf = csrf_of(&html);
        let csrf = b.csrf.clone();
        let resp = b
            .post(
                "/login",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("username", user),
                    ("password", PASSWORD),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(resp.status(), 303, "login of {user}");
        b
    }

    async fn anonymous(base: &str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            client,
            base: base.to_string(),
            csrf: String::new(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&all).unwrap())
            .send()
            .await
            .unwrap()
    }

    async fn post_text(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let resp = self.post(path, fields).await;
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

fn base(app: &TestApp) -> String {
    app.url("")
}

/// A household of the adviser's street with an assessment and a need;
/// returns its ref and the need's ref.
async fn seeded(app: &TestApp) -> (String, String) {
    let adviser = app.token("adviser").await;
    let (status, created) = app
        .post(
            "/api/v1/households",
            Some(&adviser),
            &household("310118-003-012"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let r = created["ref"].as_str().unwrap().to_string();
    let (status, body) = app
        .post(
            "/api/v1/needs",
            Some(&adviser),
            &json!({"household_ref": r, "dimension": "medical", "title": "慢性病用药补助"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let need = body["ref"].as_str().unwrap().to_string();
    (r, need)
}

async fn household_pages_are_scoped_by_region_and_role(app: TestApp) {
    let (r, n) = seeded(&app).await;
    let adviser = Browser::signed_in(&base(&app), "adviser").await;
    let other = Browser::signed_in(&base(&app), "adviser_b").await;
    let charity = Browser::signed_in(&base(&app), "charity_a").await;
    let admin = Browser::signed_in(&base(&app), "admin").await;
    let anonymous = Browser::anonymous(&base(&app)).await;

    let pages = [
        format!("/households/{r}"),
        format!("/households/{r}/edit"),
        format!("/households/{r}/assess"),
        format!("/households/{r}/needs/new"),
        format!("/needs/{n}"),
        format!("/needs/{n}/edit"),
        format!("/needs/{n}/close"),
    ];
    for p in &pages {
        assert_eq!(adviser.get(p).await.0, 200, "adviser opens {p}");
        assert_eq!(admin.get(p).await.0, 200, "admin opens {p}");
        assert_eq!(other.get(p).await.0, 404, "another street's adviser: {p}");
        assert_eq!(charity.get(p).await.0, 403, "charity: {p}");
        assert_eq!(anonymous.get(p).await.0, 303, "signed out: {p}");
    }
    // Lists: the other adviser's lists do not show the household or need.
    for p in ["/households", "/needs", "/work"] {
        let (status, html) = adviser.get(p).await;
        assert_eq!(status, 200, "{p}");
        assert!(html.contains(&r), "adviser's {p} shows {r}");
        let (status, html) = other.get(p).await;
        assert_eq!(status, 200, "{p}");
        assert!(!html.contains(&r), "adviser_b's {p} must not show {r}");
        assert!(
            !html.contains("张建国"),
            "adviser_b's {p} must not show the name"
        );
        assert_eq!(charity.get(p).await.0, 403, "charity: {p}");
    }
    // The name filter takes `%` and `_` literally.
    let (_, html) = adviser.get("/households?q=%25").await;
    assert!(!html.contains(&r), "% is not a wildcard");
    let (_, html) = adviser.get("/households?q=%E5%BB%BA").await;
    assert!(html.contains(&r), "a part of the name finds it");
    assert_eq!(charity.get("/admin/audit").await.0, 403);
    assert_eq!(adviser.get("/admin/audit").await.0, 403);

    // Every write is refused the same way, and changes nothing.
    let writes: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/households/{r}/reveal"),
            vec![("field", "id_number"), ("member", "0")],
        ),
        (
            format!("/households/{r}/notes"),
            vec![("kind", "phone"), ("text", "越权记录")],
        ),
        (
            format!("/households/{r}/edit"),
            vec![
                ("region", "310118-003-012"),
                ("consent", "yes"),
                ("member", "0"),
                ("m0_name", "改名"),
            ],
        ),
        (
            format!("/households/{r}/assess"),
            vec![("step", "save"), ("score_medical", "4")],
        ),
        (
            format!("/households/{r}/needs/new"),
            vec![("dimension", "housing"), ("title", "越权需求")],
        ),
        (format!("/needs/{n}/status"), vec![("status", "closed")]),
        (
            format!("/needs/{n}/edit"),
            vec![("dimension", "medical"), ("title", "改")],
        ),
    ];
    for (path, fields) in &writes {
        let resp = other.post(path, fields).await;
        assert_eq!(resp.status(), 404, "adviser_b POST {path}");
        let resp = charity.post(path, fields).await;
        assert_eq!(resp.status(), 403, "charity POST {path}");
    }
    let token = app.token("admin").await;
    let (_, h) = app
        .get(&format!("/api/v1/households/{r}"), Some(&token))
        .await;
    assert_eq!(h["members"][0]["name"], "张建国");
    assert_eq!(h["version"], 1);
    let (_, need) = app.get(&format!("/api/v1/needs/{n}"), Some(&token)).await;
    assert_eq!(need["status"], "open");
    assert_eq!(need["title"], "慢性病用药补助");
    let (_, notes) = app
        .get(&format!("/api/v1/households/{r}/notes"), Some(&token))
        .await;
    assert_eq!(notes["total"], 0);
    let (_, audit) = app.get("/api/v1/audit", Some(&token)).await;
    assert!(
        !audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "reveal"),
        "no reveal was made: {audit}"
    );
}

async fn pages_mask_personal_data_and_reveals_are_audited(app: TestApp) {
    let (r, _) = seeded(&app).await;
    let full_id = id("31022919500302123");
    let adviser = Browser::signed_in(&base(&app), "adviser").await;
    let admin = Browser::signed_in(&base(&app), "admin").await;

    for (who, b) in [("adviser", &adviser), ("admin", &admin)] {
        let (status, html) = b.get(&format!("/households/{r}")).await;
        assert_eq!(status, 200);
        assert!(html.contains("张建国"));
        assert!(
            !html.contains(&full_id),
            "{who}: full ID number in the page"
        );
        assert!(html.contains(&format!("310***********{}", &full_id[14..])));
        assert!(
            !html.contains("13812345678"),
            "{who}: full phone in the page"
        );
        assert!(html.contains("138****5678"));
        assert!(
            !html.contains("新桥路88弄"),
            "{who}: full address in the page"
        );
        let (_, form) = b.get(&format!("/households/{r}/edit")).await;
        assert!(!form.contains(&full_id), "{who}: full ID in the edit form");
        assert!(!form.contains("13812345678"));
    }
    // Admins read the audit log rather than reveal.
    let (status, _) = admin
        .post_text(
            &format!("/households/{r}/reveal"),
            &[("field", "id_number"), ("member", "0")],
        )
        .await;
    assert_eq!(status, 403);

    let (status, html) = adviser
        .post_text(
            &format!("/households/{r}/reveal"),
            &[("field", "id_number"), ("member", "0")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(&full_id), "the revealed ID number is shown");
    assert!(!html.contains("13812345678"), "only the one value is shown");
    let (status, html) = adviser
        .post_text(
            &format!("/households/{r}/reveal"),
            &[("field", "address"), ("member", "")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("新桥路88弄5号301室"));
    let (status, _) = adviser
        .post_text(
            &format!("/households/{r}/reveal"),
            &[("field", "password"), ("member", "0")],
        )
        .await;
    assert_eq!(status, 422);

    // A colleague covering the same street sees the record but cannot
    // reveal: only the household's own adviser may.
    let admin_token = app.token("admin").await;
    let (status, body) = app
        .post(
            "/api/v1/users",
            Some(&admin_token),
            &json!({"username": "colleague", "password": PASSWORD, "role": "adviser",
                    "regions": ["310118"], "display_name": "同区顾问"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let colleague = Browser::signed_in(&base(&app), "colleague").await;
    let (status, html) = colleague.get(&format!("/households/{r}")).await;
    assert_eq!(status, 200);
    assert!(
        !html.contains("name=\"field\""),
        "no reveal buttons for a colleague"
    );
    let (status, _) = colleague
        .post_text(
            &format!("/households/{r}/reveal"),
            &[("field", "id_number"), ("member", "0")],
        )
        .await;
    assert_eq!(status, 403);

    // Looking up by ID number goes by POST and is audited too.
    let (status, html) = adviser
        .post_text("/households/lookup", &[("id_number", &full_id)])
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(&r));
    let (status, html) = adviser
        .post_text("/households/lookup", &[("id_number", "310229195003021230")])
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("校验位"), "bad check digit is explained");

    let (status, audit) = admin.get(&format!("/admin/audit?subject={r}")).await;
    assert_eq!(status, 200);
    assert!(audit.contains(&format!("{r}/members[0]")));
    assert!(audit.contains("查看完整信息"));
    assert!(audit.contains("按身份证号查找"));
    assert!(!audit.contains(&full_id));
    let token = app.token("admin").await;
    let (_, entries) = app
        .get(&format!("/api/v1/audit?subject={r}"), Some(&token))
        .await;
    let actions: Vec<(String, String, String)> = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "adviser")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["subject"].as_str().unwrap().to_string(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(actions.contains(&(
        "reveal".into(),
        format!("{r}/members[0]"),
        "id_number".into()
    )));
    assert!(actions.contains(&("reveal".into(), r.clone(), "address".into())));
    assert!(actions.contains(&("lookup".into(), r.clone(), "id_number".into())));
    assert!(actions.contains(&("view".into(), r.clone(), "".into())));

    // Saving the edit form with the personal inputs left empty keeps them.
    let resp = adviser
        .post(
            &format!("/households/{r}/edit"),
            &[
                ("version", "1"),
                ("region", "310118-003-012"),
                ("identified_on", &Local::now().date_naive().to_string()),
                ("consent", "yes"),
                ("hukou_local", "true"),
                ("member", "0"),
                ("m0_orig", "0"),
                ("m0_name", "张建国"),
                ("m0_relation", "self"),
                ("m0_employment", "retired"),
                ("member", "1"),
                ("m1_orig", "1"),
                ("m1_name", "李秀英"),
                ("m1_relation", "spouse"),
                ("m1_disability_grade", "2"),
                ("m1_disability_type", "physical"),
                ("rent", "1500"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, h) = app
        .get(&format!("/api/v1/households/{r}"), Some(&token))
        .await;
    assert_eq!(h["version"], 2);
    assert_eq!(h["monthly"]["rent"], 1500.0);
    assert_eq!(
        h["members"][0]["id_number"],
        format!("310***********{}", &full_id[14..])
    );
    assert_eq!(h["members"][1]["phone"], "139****1111");
    assert_eq!(h["contact_phone"], "138****5678");
    let (status, found) = app
        .post(
            "/api/v1/households/lookup",
            Some(&token),
            &json!({"id_number": full_id}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(found["items"][0]["ref"], r.as_str());
}

async fn household_form_checks_input_and_changes_members_without_saving(app: TestApp) {
    let adviser = Browser::signed_in(&base(&app), "adviser").await;
    let token = app.token("adviser").await;
    let (status, html) = adviser.get("/households/new").await;
    assert_eq!(status, 200);
    assert!(html.contains("m0_name"));
    assert!(
        html.contains("value=\"310118-003\""),
        "the adviser's region"
    );

    let head = [
        ("region", "310118-003-012"),
        ("consent", "yes"),
        ("member", "0"),
        ("m0_name", "王芳"),
        ("m0_relation", "self"),
    ];
    // Adding a member re-renders the form with a second row, keeping input.
    let mut fields = head.to_vec();
    fields.push(("add_member", "1"));
    let (status, html) = adviser.post_text("/households/new", &fields).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"m1_name\""));
    assert!(html.contains("value=\"王芳\""));
    // Removing the first member keeps the second.
    let (status, html) = adviser
        .post_text(
            "/households/new",
            &[
                ("region", "310118-003-012"),
                ("member", "0"),
                ("m0_name", "甲"),
                ("member", "1"),
                ("m1_name", "乙"),
                ("remove_member", "0"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"乙\""));
    assert!(!html.contains("value=\"甲\""));
    assert!(!html.contains("name=\"m1_name\""));
    let (_, list) = app.get("/api/v1/households", Some(&token)).await;
    assert_eq!(list["total"], 0, "adding or removing rows saves nothing");

    // A bad check digit and a birth date that disagrees are named.
    let bad = {
        let good = id("31011819800101002");
        let last = if good.ends_with('0') { '1' } else { '0' };
        format!("{}{last}", &good[..17])
    };
    let mut fields = head.to_vec();
    fields.extend([
        ("m0_id_number", bad.as_str()),
        ("member", "1"),
        ("m1_name", "王小明"),
        ("m1_relation", "child"),
        ("m1_birth_date", "2012-05-05"),
    ]);
    let other = id("31011820120505003");
    let mut mismatch = head.to_vec();
    mismatch.extend([
        ("member", "1"),
        ("m1_name", "王小明"),
        ("m1_relation", "child"),
        ("m1_id_number", other.as_str()),
        ("m1_birth_date", "2012-05-06"),
    ]);
    let (status, html) = adviser.post_text("/households/new", &fields).await;
    assert_eq!(status, 422);
    assert!(html.contains("校验位"), "check digit error shown");
    assert!(
        html.contains("value=\"王小明\""),
        "the form keeps what was typed"
    );
    let (status, html) = adviser.post_text("/households/new", &mismatch).await;
    assert_eq!(status, 422);
    assert!(html.contains("不一致"), "birth date mismatch shown");
    // Without consent only a name and region may be kept.
    let (status, html) = adviser
        .post_text(
            "/households/new",
            &[
                ("region", "310118-003-012"),
                ("address", "青浦区某路1号"),
                ("member", "0"),
                ("m0_name", "赵六"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("未记录本人同意前只能保存姓名和地区"));
    // Another street is refused.
    let (status, html) = adviser
        .post_text(
            "/households/new",
            &[
                ("region", "310104-001"),
                ("consent", "yes"),
                ("member", "0"),
                ("m0_name", "钱七"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("不在您负责的范围内"));
    let (_, list) = app.get("/api/v1/households", Some(&token)).await;
    assert_eq!(list["total"], 0, "nothing was written");

    // A valid household with two members is saved and shown.
    let good = id("31011819800101002");
    let child = id("31011820120505003");
    let resp = adviser
        .post(
            "/households/new",
            &[
                ("region", "310118-003-012"),
                ("consent", "yes"),
                ("contact_phone", "13700001234"),
                ("member", "0"),
                ("m0_name", "王芳"),
                ("m0_relation", "self"),
                ("m0_id_number", good.as_str()),
                ("m0_employment", "unemployed"),
                ("m0_income_monthly", "1200"),
                ("member", "1"),
                ("m1_name", "王小明"),
                ("m1_relation", "child"),
                ("m1_id_number", child.as_str()),
                ("m1_student_stage", "junior"),
                ("m1_health", "chronic"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let location = resp.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(location.starts_with("/households/H-"), "{location}");
    let (_, list) = app.get("/api/v1/households", Some(&token)).await;
    assert_eq!(list["total"], 1);
    let r = list["items"][0]["ref"].as_str().unwrap().to_string();
    let (_, h) = app
        .get(&format!("/api/v1/households/{r}"), Some(&token))
        .await;
    assert_eq!(h["adviser"], "adviser");
    assert_eq!(h["members"].as_array().unwrap().len(), 2);
    assert_eq!(h["members"][1]["birth_date"], "2012-**-**");
    assert_eq!(h["members"][1]["health"], json!(["chronic"]));
    let (status, html) = adviser.get(&location).await;
    assert_eq!(status, 200);
    assert!(html.contains("已创建"));
    assert!(html.contains("王小明"));
    assert!(!html.contains(&good));
}

async fn work_queue_orders_households_and_flags_deadlines(app: TestApp) {
    let token = app.token("adviser").await;
    let today = Local::now().date_naive();
    let ago = |days: i64| (today - Duration::days(days)).to_string();
    let make = |name: &'static str, identified: String| {
        let mut h = household("310118-003-012");
        h["members"] = json!([{ "name": name, "relation": "self" }]);
        h["identified_on"] = json!(identified);
        h
    };
    let plans = [
        ("逾期户", make("逾期户", ago(40))),
        ("新发现户", make("新发现户", ago(5))),
        ("红色户", make("红色户", ago(100))),
        ("优先户", make("优先户", ago(60))),
    ];
    let mut refs = std::collections::HashMap::new();
    for (name, doc) in plans {
        let (status, body) = app.post("/api/v1/households", Some(&token), &doc).await;
        assert_eq!(status, 201, "{body}");
        refs.insert(name, body["ref"].as_str().unwrap().to_string());
    }
    let scores = |v: u8| {
        let mut s = serde_json::Map::new();
        for d in [
            "housing",
            "medical",
            "employment",
            "education",
            "income",
            "daily_care",
            "rehabilitation",
            "mental",
            "family",
            "legal",
            "social",
            "safety",
        ] {
            s.insert(d.into(), json!(v));
        }
        Value::Object(s)
    };
    // 红色户: red risk, visited 35 days ago (follow-up overdue by 5 days).
    let red = &refs["红色户"];
    let (status, body) = app
        .post(
            &format!("/api/v1/households/{red}/assessments"),
            Some(&token),
            &json!({"scores": scores(2), "risk": "red"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = app
        .post(
            &format!("/api/v1/households/{red}/notes"),
            Some(&token),
            &json!({"kind": "home_visit", "text": "首次入户", "noted_on": ago(35)}),
        )
        .await;
    assert_eq!(status, 201);
    // 优先户: all 3s = 75 points (priority), visited.
    let prio = &refs["优先户"];
    let (status, body) = app
        .post(
            &format!("/api/v1/households/{prio}/assessments"),
            Some(&token),
            &json!({"scores": scores(3), "risk": "yellow"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["priority"], true);
    app.post(
        &format!("/api/v1/households/{prio}/notes"),
        Some(&token),
        &json!({"kind": "home_visit", "text": "走访了解困难", "noted_on": ago(2)}),
    )
    .await;

    let adviser = Browser::signed_in(&base(&app), "adviser").await;
    let (status, html) = adviser.get("/").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("工作台"),
        "the adviser's home is the work queue"
    );
    let section = |id: &str| -> String {
        let start = html.find(&format!("id=\"{id}\"")).expect(id);
        let rest = &html[start..];
        rest[..rest.find("</section>").unwrap()].to_string()
    };
    // First visits: overdue first (in red), then the new one; visited ones absent.
    let visits = section("first-visits");
    let late = visits
        .find(&refs["逾期户"])
        .expect("overdue household listed");
    let fresh = visits
        .find(&refs["新发现户"])
        .expect("new household listed");
    assert!(late < fresh, "overdue first");
    assert!(!visits.contains(&refs["红色户"]) && !visits.contains(prio.as_str()));
    let late_item = &visits[..late];
    let late_li = &late_item[late_item.rfind("<li").unwrap()..];
    assert!(
        late_li.contains("overdue"),
        "overdue visit in red: {late_li}"
    );
    assert!(visits.contains("已逾期 10 天"));
    // Follow-ups: the red household only, overdue by 5 days.
    let follow = section("follow-ups");
    assert!(follow.contains(red.as_str()));
    assert!(follow.contains("已逾期 5 天"));
    assert!(!follow.contains(prio.as_str()));
    // The queue: priority first, then red, then unassessed ones.
    let queue = section("queue");
    let pos = |name: &str| queue.find(&refs[name]).unwrap_or(usize::MAX);
    assert!(pos("优先户") < pos("红色户"));
    assert!(pos("红色户") < pos("逾期户"));
    assert!(pos("红色户") < pos("新发现户"));
    // Recent notes, newest first.
    let notes = section("recent-notes");
    assert!(notes.find("走访了解困难").unwrap() < notes.find("首次入户").unwrap());
}

async fn assessment_and_need_pages_follow_the_scale_and_lifecycle(app: TestApp) {
    let (r, n) = seeded(&app).await;
    let adviser = Browser::signed_in(&base(&app), "adviser").await;
    let token = app.token("adviser").await;
    let (status, html) = adviser.get(&format!("/households/{r}/assess")).await;
    assert_eq!(status, 200);
    assert!(html.contains("score_safety"));

    // Every dimension 3, medical 4, and employment mistyped.
    let fields: Vec<(String, String)> = [
        "housing",
        "medical",
        "employment",
        "education",
        "income",
        "daily_care",
        "rehabilitation",
        "mental",
        "family",
        "legal",
        "social",
        "safety",
    ]
    .iter()
    .map(|d| {
        let score = match *d {
            "medical" => "4",
            "employment" => "x",
            _ => "3",
        };
        (format!("score_{d}"), score.to_string())
    })
    .collect();
    let post = |f: Vec<(String, String)>| {
        let adviser = &adviser;
        let r = r.clone();
        async move {
            let pairs: Vec<(&str, &str)> =
                f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            adviser
                .post_text(&format!("/households/{r}/assess"), &pairs)
                .await
        }
    };
    // A score that is not 0–4 is named next to its dimension.
    let mut preview = fields.clone();
    preview.push(("step".into(), "preview".into()));
    let (status, html) = post(preview.clone()).await;
    assert_eq!(status, 422);
    assert!(html.contains("就业的评分须为 0–4 的整数"));
    // Preview: 11×3 + 4 = 37 of 48 → 77, priority, red, crisis.
    for (k, v) in preview.iter_mut() {
        if k == "score_employment" {
            *v = "3".into();
        }
    }
    let (status, html) = post(preview.clone()).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"total\">77<"), "total shown");
    assert!(html.contains("id=\"priority\""));
    assert!(html.contains("红色风险"));
    assert!(html.contains("危机干预型"));
    let (_, list) = app
        .get(&format!("/api/v1/households/{r}/assessments"), Some(&token))
        .await;
    assert_eq!(list["total"], 0, "a preview saves nothing");
    // Save with the adviser overriding the service type.
    let mut save: Vec<(String, String)> =
        preview.into_iter().filter(|(k, _)| k != "step").collect();
    save.push(("step".into(), "save".into()));
    save.push(("service_type".into(), "basic".into()));
    save.push(("note".into(), "入户评估".into()));
    let pairs: Vec<(&str, &str)> = save.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let resp = adviser
        .post(&format!("/households/{r}/assess"), &pairs)
        .await;
    assert_eq!(resp.status(), 303);
    let (_, list) = app
        .get(&format!("/api/v1/households/{r}/assessments"), Some(&token))
        .await;
    assert_eq!(list["items"][0]["total"], 77);
    assert_eq!(list["items"][0]["risk"], "red");
    assert_eq!(list["items"][0]["service_type"], "basic");
    assert_eq!(list["items"][0]["suggested_type"], "crisis");

    // The household page shows the latest and suggests needs for high
    // dimensions without a live need (medical already has one).
    let (_, html) = adviser.get(&format!("/households/{r}")).await;
    assert!(html.contains("id=\"latest-total\">77<"));
    assert!(html.contains("id=\"suggest-housing\""));
    assert!(!html.contains("id=\"suggest-medical\""));
    let (status, html) = adviser
        .get(&format!("/households/{r}/needs/new?dimension=housing"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("from_assessment"));
    let (status, html) = adviser
        .post_text(
            &format!("/households/{r}/needs/new"),
            &[
                ("dimension", "housing"),
                ("title", ""),
                ("from_assessment", "1"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("title"), "{html}");
    let resp = adviser
        .post(
            &format!("/households/{r}/needs/new"),
            &[
                ("dimension", "housing"),
                ("title", "危房修缮"),
                ("urgency", "high"),
                ("quantity", "1"),
                ("from_assessment", "1"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, html) = adviser.get(&format!("/households/{r}")).await;
    assert!(html.contains("危房修缮"));
    assert!(!html.contains("id=\"suggest-housing\""));

    // Lifecycle: open → matched → fulfilled; closing asks first.
    let (_, html) = adviser.get(&format!("/needs/{n}")).await;
    assert!(html.contains("id=\"to-matched\""));
    assert!(!html.contains("id=\"to-fulfilled\""));
    let (status, html) = adviser.get(&format!("/needs/{n}/close")).await;
    assert_eq!(status, 200);
    assert!(html.contains("确认关闭"));
    let resp = adviser
        .post(&format!("/needs/{n}/status"), &[("status", "matched")])
        .await;
    assert_eq!(resp.status(), 303);
    let resp = adviser
        .post(&format!("/needs/{n}/status"), &[("status", "fulfilled")])
        .await;
    assert_eq!(resp.status(), 303);
    let (status, _) = adviser
        .post_text(&format!("/needs/{n}/status"), &[("status", "open")])
        .await;
    assert_eq!(status, 422, "fulfilled is final");
    let (_, history) = app
        .get(&format!("/api/v1/needs/{n}/history"), Some(&token))
        .await;
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["open", "matched", "fulfilled"]);

    // Case notes: errors next to the field, then the timeline.
    let (status, html) = adviser
        .post_text(
            &format!("/households/{r}/notes"),
            &[("kind", "phone"), ("text", ""), ("noted_on", "")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("请填写记录内容"));
    let resp = adviser
        .post(
            &format!("/households/{r}/notes"),
            &[
                ("kind", "phone"),
                ("text", "电话回访，用药正常"),
                ("noted_on", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, html) = adviser.get(&format!("/households/{r}")).await;
    assert!(html.contains("电话回访，用药正常"));
    assert!(html.contains("电话联系"));
}

async fn a_record_is_closed_reopened_and_consent_withdrawn(app: TestApp) {
    let (r, n) = seeded(&app).await;
    let full_id = id("31022919500302123");
    let token = app.token("adviser").await;
    let adviser = Browser::signed_in(&base(&app), "adviser").await;
    let other = Browser::signed_in(&base(&app), "adviser_b").await;
    app.post(
        &format!("/api/v1/households/{r}/assessments"),
        Some(&token),
        &json!({"scores": {"housing": 1, "medical": 3, "employment": 0, "education": 0,
            "income": 2, "daily_care": 1, "rehabilitation": 0, "mental": 0, "family": 0,
            "legal": 0, "social": 1, "safety": 0}}),
    )
    .await;
    app.post(
        &format!("/api/v1/households/{r}/notes"),
        Some(&token),
        &json!({"kind": "home_visit", "text": "入户走访，了解用药情况"}),
    )
    .await;

    // Closing asks first and needs a reason; another street cannot.
    let (status, html) = adviser.get(&format!("/households/{r}/close")).await;
    assert_eq!(status, 200);
    assert!(html.contains("确认结案"));
    assert_eq!(other.get(&format!("/households/{r}/close")).await.0, 404);
    let resp = other
        .post(
            &format!("/households/{r}/status"),
            &[("status", "closed"), ("reason", "x")],
        )
        .await;
    assert_eq!(resp.status(), 404);
    let (status, html) = adviser
        .post_text(
            &format!("/households/{r}/status"),
            &[("status", "closed"), ("reason", "")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("请填写原因"));
    let resp = adviser
        .post(
            &format!("/households/{r}/status"),
            &[("status", "closed"), ("reason", "已纳入低保，情况稳定")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, html) = adviser.get(&format!("/households/{r}")).await;
    assert!(html.contains("id=\"closed-banner\""));
    let (_, work) = adviser.get("/work").await;
    assert!(!work.contains(&r), "a closed record leaves the work queue");
    let (status, _) = app
        .post(
            &format!("/api/v1/households/{r}/status"),
            Some(&token),
            &json!({"status": "closed", "reason": "again"}),
        )
        .await;
    assert_eq!(status, 409, "already closed");
    let (status, h) = app
        .post(
            &format!("/api/v1/households/{r}/status"),
            Some(&token),
            &json!({"status": "active"}),
        )
        .await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["record_status"], "active");
    let (_, work) = adviser.get("/work").await;
    assert!(work.contains(&r));

    // Withdrawing consent erases everything beyond names, relations, region.
    let (status, html) = adviser
        .get(&format!("/households/{r}/withdraw-consent"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("不能撤销"));
    let charity = app.token("charity_a").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/households/{r}/withdraw-consent"),
            Some(&charity),
            &json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let resp = adviser
        .post(
            &format!("/households/{r}/withdraw-consent"),
            &[("reason", "本人要求")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, h) = app
        .get(&format!("/api/v1/households/{r}"), Some(&token))
        .await;
    assert_eq!(h["consent"], false);
    assert_eq!(h["record_status"], "closed");
    assert_eq!(h["address"], Value::Null);
    assert_eq!(h["contact_phone"], Value::Null);
    assert_eq!(h["members"][0]["name"], "张建国");
    assert_eq!(h["members"][0]["relation"], "self");
    assert_eq!(h["members"][0]["id_number"], Value::Null);
    assert_eq!(h["members"][0]["birth_date"], Value::Null);
    assert_eq!(h["members"][1]["phone"], Value::Null);
    assert_eq!(h["members"][1]["disability_grade"], 0);
    assert_eq!(h["hukou_local"], Value::Null);
    let (_, list) = app
        .get(&format!("/api/v1/households/{r}/assessments"), Some(&token))
        .await;
    assert_eq!(list["total"], 0);
    let (_, notes) = app
        .get(&format!("/api/v1/households/{r}/notes"), Some(&token))
        .await;
    assert_eq!(notes["total"], 0);
    let (_, need) = app.get(&format!("/api/v1/needs/{n}"), Some(&token)).await;
    assert_eq!(need["status"], "closed");
    let (_, found) = app
        .post(
            "/api/v1/households/lookup",
            Some(&token),
            &json!({"id_number": full_id}),
        )
        .await;
    assert_eq!(found["total"], 0, "the ID number's lookup hash is gone");
    let (status, _) = app
        .post(
            &format!("/api/v1/households/{r}/withdraw-consent"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(status, 409);
    let admin = app.token("admin").await;
    let (_, audit) = app
        .get(&format!("/api/v1/audit?subject={r}"), Some(&admin))
        .await;
    let actions: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["detail"].as_str().unwrap()))
        .collect();
    assert!(actions.contains(&("close", "已纳入低保，情况稳定")));
    assert!(actions.contains(&("reopen", "")));
    assert!(actions.contains(&("withdraw_consent", "本人要求")));
}

/// Starts the real binary on this test's database (with a data directory
/// of its own), logging at debug level into `log`; returns the child and
/// its address.
fn spawn_binary(app: &TestApp, log: &std::path::Path) -> (Child, String) {
    let data_dir = app.data_dir().join("second-instance");
    std::fs::create_dir_all(&data_dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aidmatch"))
        .arg("serve")
        .env("AIDMATCH_DATA_DIR", &data_dir)
        .env("DATABASE_URL", app.database_url())
        .env("AIDMATCH_BIND", "127.0.0.1:0")
        .env(
            "AIDMATCH_DATA_KEY",
            app.settings
                .data_key
                .as_ref()
                .map(|k| k.expose().to_string())
                .unwrap_or_default(),
        )
        .env("AIDMATCH_CONFIG", app.data_dir().join("none.toml"))
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start aidmatch serve");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!(
                "the server did not print its address:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        if let Some(at) = line.find("http://") {
            let url = line[at..].split_whitespace().next().unwrap();
            break url.trim_end_matches('/').to_string();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, address)
}

#[actix_web::test]
async fn personal_data_never_reaches_the_logs() {
    let app = crate::helpers::try_spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let log = app.data_dir().join("server.log");
    let (mut child, address) = spawn_binary(&app, &log);
    let full_id = id("31022919500302123");
    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{address}/api/v1/auth/token"))
        .json(&json!({"username": "adviser", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let api = |method: reqwest::Method, path: &str, body: Value| {
        client
            .request(method, format!("{address}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let created: Value = api(
        reqwest::Method::POST,
        "/api/v1/households",
        household("310118-003-012"),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let r = created["ref"].as_str().unwrap().to_string();
    // Every way personal data travels: reveal, lookup, a rejected record
    // quoting the typed birth date, a list filtered by name, the pages.
    let resp = api(
        reqwest::Method::POST,
        &format!("/api/v1/households/{r}/reveal"),
        json!({"field": "id_number", "member": 0}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = api(
        reqwest::Method::POST,
        "/api/v1/households/lookup",
        json!({"id_number": full_id}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let mut bad = household("310118-003-012");
    bad["members"][0]["birth_date"] = json!("1950-03-03");
    bad["contact_phone"] = json!("13812345679");
    let resp = api(reqwest::Method::POST, "/api/v1/households", bad)
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = api(
        reqwest::Method::GET,
        "/api/v1/households?q=%E5%BC%A0%E5%BB%BA%E5%9B%BD",
        Value::Null,
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let browser = Browser::signed_in(&address, "adviser").await;
    let (status, _) = browser.get("/households?q=张建国").await;
    assert_eq!(status, 200);
    let (status, html) = browser
        .post_text(
            &format!("/households/{r}/reveal"),
            &[("field", "contact_phone"), ("member", "")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("13812345678"));
    let (status, _) = browser
        .post_text("/households/lookup", &[("id_number", &full_id)])
        .await;
    assert_eq!(status, 200);

    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("handled") && text.contains("/api/v1/households/lookup"),
        "the server logged its requests:\n{text}"
    );
    for secret in [
        full_id.as_str(),
        "13812345678",
        "13812345679",
        "13900001111",
        "张建国",
        "李秀英",
        "新桥路88弄",
        "1950-03-03",
    ] {
        assert!(
            !text.contains(secret),
            "the log holds personal data {secret}:\n{text}"
        );
    }
}
