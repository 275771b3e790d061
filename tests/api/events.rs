//! Quarterly matchmaking events: the need list aggregated from open needs
//! and anonymised (never a name, address, ID, phone or household/need
//! reference on the API, the public page or in mail), pledges, agreements
//! that bind needs and refer them, and the report's figures.

use serde_json::{json, Value};

use crate::helpers::{service, TestApp, ORG_A};
use crate::households::{household, id};

crate::backend_tests!(
    an_event_runs_from_need_list_to_report,
    event_rules_are_enforced,
);

/// Personal data of the test households, none of which may be published.
pub struct Family {
    pub need_refs: Vec<String>,
    pub secrets: Vec<String>,
}

/// A household of street 310118-003 with distinct people, and its needs.
pub async fn family(app: &TestApp, n: usize, needs: &[(&str, &str, &str)]) -> Family {
    let adviser = app.token("adviser").await;
    let mut h = household("310118-003-012");
    let names = [
        ("陈志强", "周美玲"),
        ("王建华", "刘桂英"),
        ("赵德明", "孙丽华"),
    ];
    let (a, b) = names[n % names.len()];
    let id_a = id(&format!("31022919500302{:03}", 101 + 2 * n));
    let id_b = id(&format!("31022919520815{:03}", 200 + 2 * n));
    let phone = format!("1391234{:04}", 5000 + n);
    h["members"][0]["name"] = json!(a);
    h["members"][0]["id_number"] = json!(id_a);
    h["members"][1]["name"] = json!(b);
    h["members"][1]["id_number"] = json!(id_b);
    h["contact_phone"] = json!(phone);
    let (status, created) = app.post("/api/v1/households", Some(&adviser), &h).await;
    assert_eq!(status, 201, "{created}");
    let household_ref = created["ref"].as_str().unwrap().to_string();
    let mut need_refs = Vec::new();
    for (dimension, title, urgency) in needs {
        let (status, need) = app
            .post(
                "/api/v1/needs",
                Some(&adviser),
                &json!({"household_ref": household_ref, "dimension": dimension, "title": title,
                        "detail": format!("{a}家住新桥路88弄5号，电话{phone}"), "urgency": urgency}),
            )
            .await;
        assert_eq!(status, 201, "{need}");
        need_refs.push(need["ref"].as_str().unwrap().to_string());
    }
    let mut secrets = vec![
        a.to_string(),
        b.to_string(),
        id_a,
        id_b,
        phone,
        "13900001111".into(),
        "新桥路".into(),
        household_ref.clone(),
    ];
    secrets.extend(need_refs.iter().cloned());
    Family { need_refs, secrets }
}

pub fn assert_no_secrets(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} leaks {s}: {text}");
    }
}

pub fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// An event of this quarter on street 310118-003, held today.
pub fn event_input() -> Value {
    json!({"region": "310118-003", "held_on": today().to_string(), "starts_at": "14:00",
           "ends_at": "16:30", "venue": "香花桥街道社区事务受理服务中心三楼",
           "description": "现场签约，请携带机构公章。"})
}

async fn an_event_runs_from_need_list_to_report(app: TestApp) {
    let admin = app.token("admin").await;
    let charity = app.token("charity_a").await;
    let other_charity = app.token("charity_b").await;
    let adviser = app.token("adviser").await;
    let job = ("employment", "为残障成员寻找实习岗位", "high");
    let f1 = family(
        &app,
        0,
        &[job, ("daily_care", "独居老人每日助餐", "medium")],
    )
    .await;
    let f2 = family(&app, 1, &[job]).await;
    // A title naming a person is listed under its dimension instead.
    let f3 = family(&app, 2, &[("education", "赵德明孙子的助学金", "low")]).await;
    let secrets: Vec<String> = [&f1, &f2, &f3]
        .iter()
        .flat_map(|f| f.secrets.clone())
        .collect();

    // Admins only create events.
    let (status, _) = app
        .post("/api/v1/events", Some(&adviser), &event_input())
        .await;
    assert_eq!(status, 403);
    let (status, event) = app
        .post("/api/v1/events", Some(&admin), &event_input())
        .await;
    assert_eq!(status, 201, "{event}");
    let r = event["ref"].as_str().unwrap().to_string();
    assert_eq!(event["status"], "draft");
    assert!(event["title"].as_str().unwrap().contains("资源对接会"));
    // A draft is not public.
    let (status, _) = app.get(&format!("/api/v1/events/{r}"), None).await;
    assert_eq!(status, 404);
    // Publishing needs a list.
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/status"),
            Some(&admin),
            &json!({"status": "published"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    let (status, compiled) = app
        .post(
            &format!("/api/v1/events/{r}/need-list"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{compiled}");
    let items = compiled["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "{compiled}");
    // The two internship needs are one item of 2 people, first (urgent).
    let first = &items[0];
    assert_eq!(first["title"], "实习岗位");
    assert_eq!(first["dimension"], "employment");
    assert_eq!(first["target_group"], "disabled");
    assert_eq!(first["people"], 2);
    assert_eq!(first["households"], 2);
    assert_eq!(first["urgency"], "high");
    let education = items
        .iter()
        .find(|i| i["dimension"] == "education")
        .unwrap();
    assert_eq!(education["title"], "教育需求");
    assert_no_secrets("compiled list", &compiled.to_string(), &secrets);

    // Edits are checked for personal data.
    let item = first["id"].as_i64().unwrap();
    for bad in [
        "陈志强的实习岗位",
        "实习岗位，联系13912345000",
        "H-000001 实习",
    ] {
        let (status, body) = app
            .put(
                &format!("/api/v1/events/{r}/items/{item}"),
                Some(&admin),
                &json!({"title": bad, "note": "", "target_group": "disabled"}),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    let (status, body) = app
        .put(
            &format!("/api/v1/events/{r}/items/{item}"),
            Some(&admin),
            &json!({"title": "实习岗位", "note": "可接受轮椅使用者", "target_group": "disabled"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, published) = app
        .post(
            &format!("/api/v1/events/{r}/status"),
            Some(&admin),
            &json!({"status": "published"}),
        )
        .await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["version"], 1);
    // Once published, an edit naming someone is refused.
    let mut edit = event_input();
    edit["description"] = json!("请周美玲家属到场");
    let (status, body) = app
        .put(&format!("/api/v1/events/{r}"), Some(&admin), &edit)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"][0]["field"], "description");
    // Public now, anonymised, on the API and the page.
    let (status, public) = app.get(&format!("/api/v1/events/{r}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(public["items"][0]["note"], "可接受轮椅使用者");
    assert_no_secrets("public API", &public.to_string(), &secrets);
    let (status, list) = app.get("/api/v1/events", None).await;
    assert_eq!(status, 200);
    assert_no_secrets("public list", &list.to_string(), &secrets);
    let page = app
        .client
        .get(app.url(&format!("/events/{r}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("实习岗位") && html.contains("×2"), "{html}");
    assert_no_secrets("public page", &html, &secrets);

    // Invitations went to the charity and the company, not the government.
    let (status, outbox) = app.get("/api/v1/outbox?status=", Some(&admin)).await;
    assert_eq!(status, 200, "{outbox}");
    let invitations: Vec<&Value> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "invitation")
        .collect();
    let mut to: Vec<&str> = invitations
        .iter()
        .map(|m| m["recipient"].as_str().unwrap())
        .collect();
    to.sort();
    assert_eq!(to, ["org-a@charity.test", "org-b@company.test"]);
    for m in &invitations {
        assert_no_secrets("invitation", &m.to_string(), &secrets);
    }
    let (status, _) = app.get("/api/v1/outbox", Some(&adviser)).await;
    assert_eq!(status, 403);

    // Charity A pledges its published service against the first item.
    let mut s = service("S-T-JOB", ORG_A);
    s["status"] = json!("published");
    s["dimensions"] = json!(["employment"]);
    let (status, body) = app.post("/api/v1/resources", Some(&charity), &s).await;
    assert_eq!(status, 201, "{body}");
    let pledge_body = json!({"item_id": item, "quantity": 2, "resource_ref": "S-T-JOB",
                             "conditions": "每周三天，提供午餐", "deadline": ""});
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/pledges"),
            Some(&other_charity),
            &pledge_body,
        )
        .await;
    assert_eq!(status, 422, "another organisation's resource: {body}");
    let (status, _) = app
        .post(
            &format!("/api/v1/events/{r}/pledges"),
            Some(&adviser),
            &pledge_body,
        )
        .await;
    assert_eq!(status, 403);
    let (status, pledge) = app
        .post(
            &format!("/api/v1/events/{r}/pledges"),
            Some(&charity),
            &pledge_body,
        )
        .await;
    assert_eq!(status, 201, "{pledge}");
    let pledge_no = pledge["number"].as_str().unwrap().to_string();
    assert_no_secrets("pledge", &pledge.to_string(), &secrets);
    let (_, theirs) = app
        .get(&format!("/api/v1/events/{r}/pledges"), Some(&other_charity))
        .await;
    assert_eq!(theirs.as_array().unwrap().len(), 0, "{theirs}");
    let (_, public) = app.get(&format!("/api/v1/events/{r}"), None).await;
    assert_eq!(public["items"][0]["pledged"], 2);

    // On site: the admin binds the pledge to the two internship needs.
    let (status, behind) = app
        .get(
            &format!("/api/v1/events/{r}/items/{item}/needs"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 200, "{behind}");
    let needs: Vec<String> = behind
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["need_ref"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(needs.len(), 2);
    let (status, _) = app
        .get(
            &format!("/api/v1/events/{r}/items/{item}/needs"),
            Some(&charity),
        )
        .await;
    assert_eq!(status, 403, "charities never see the needs behind an item");
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/agreements"),
            Some(&admin),
            &json!({"pledge": pledge_no, "needs": [f1.need_refs[1]], "charity_signatory": "钱主任"}),
        )
        .await;
    assert_eq!(status, 422, "a need of another item: {body}");
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/agreements"),
            Some(&admin),
            &json!({"pledge": pledge_no, "needs": needs, "charity_signatory": "钱主任",
                    "note": "陈志强先上岗"}),
        )
        .await;
    assert_eq!(status, 422, "the charity reads the note: {body}");
    let (status, agreement) = app
        .post(
            &format!("/api/v1/events/{r}/agreements"),
            Some(&admin),
            &json!({"pledge": pledge_no, "needs": needs, "charity_signatory": "钱主任",
                    "note": "首批两人"}),
        )
        .await;
    assert_eq!(status, 201, "{agreement}");
    let number = agreement["number"].as_str().unwrap().to_string();
    assert_eq!(agreement["needs"].as_array().unwrap().len(), 2);
    for n in &needs {
        let (_, need) = app.get(&format!("/api/v1/needs/{n}"), Some(&adviser)).await;
        assert_eq!(need["status"], "matched", "{need}");
    }
    let (_, pledges) = app
        .get(&format!("/api/v1/events/{r}/pledges"), Some(&admin))
        .await;
    assert_eq!(pledges[0]["status"], "signed");
    // The charity reads its agreement, anonymised.
    let (status, theirs) = app
        .get(&format!("/api/v1/agreements/{number}"), Some(&charity))
        .await;
    assert_eq!(status, 200);
    assert!(theirs["needs"][0].get("need_ref").is_none());
    assert_no_secrets("agreement for the charity", &theirs.to_string(), &secrets);
    let (status, _) = app
        .get(
            &format!("/api/v1/agreements/{number}"),
            Some(&other_charity),
        )
        .await;
    assert_eq!(status, 404);
    // The printable agreement.
    let html = app
        .client
        .get(app.url(&format!("/events/{r}/agreements/{number}/print")))
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 303, "signed in only");

    // Held today; the charity accepts and fulfils one referral.
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/status"),
            Some(&admin),
            &json!({"status": "held"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let referral = agreement["needs"][0]["referral"].as_str().unwrap();
    for to in ["accepted", "fulfilled"] {
        let (status, body) = app
            .post(
                &format!("/api/v1/referrals/{referral}/status"),
                Some(&charity),
                &json!({"status": to}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, report) = app
        .get(&format!("/api/v1/events/{r}/report"), Some(&admin))
        .await;
    assert_eq!(status, 200, "{report}");
    let t = &report["totals"];
    assert_eq!(
        (
            t["items"].as_i64(),
            t["people"].as_i64(),
            t["pledged_items"].as_i64(),
            t["pledged"].as_i64()
        ),
        (Some(3), Some(4), Some(1), Some(2)),
        "{report}"
    );
    assert_eq!(
        (
            t["agreements"].as_i64(),
            t["signed"].as_i64(),
            t["fulfilled"].as_i64(),
            t["pending"].as_i64()
        ),
        (Some(1), Some(2), Some(1), Some(1)),
        "{report}"
    );
    let employment = report["by_dimension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == "employment")
        .unwrap();
    assert_eq!(employment["figures"]["signed"], 2);
    assert_eq!(report["by_charity"][0]["organisation"], ORG_A);
    assert_eq!(report["by_charity"][0]["figures"]["fulfilled"], 1);
    let (status, _) = app
        .get(&format!("/api/v1/events/{r}/report"), Some(&charity))
        .await;
    assert_eq!(status, 403);

    // The workbook holds the same figures.
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/events/{r}/report.xlsx")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap();
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    assert_eq!(book.sheet_names(), ["概览", "按需求维度", "按机构"]);
    let overview = book.worksheet_range("概览").expect("sheet");
    let row: Vec<String> = overview
        .rows()
        .nth(1)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(&row[2..], ["3", "4", "1", "2", "1", "2", "1", "1"]);

    // Follow-ups go to charity A, whose agreement is not yet fulfilled;
    // asking twice the same day queues nothing more.
    let (status, queued) = app
        .post(
            &format!("/api/v1/events/{r}/follow-ups"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{queued}");
    assert_eq!(queued["queued"], 1);
    let (_, again) = app
        .post(
            &format!("/api/v1/events/{r}/follow-ups"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(again["queued"], 0);
    let (_, outbox) = app.get("/api/v1/outbox", Some(&admin)).await;
    let follow = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "follow_up")
        .expect("a follow-up");
    assert_eq!(follow["recipient"], "org-a@charity.test");
    assert_no_secrets("follow-up", &follow.to_string(), &secrets);

    let (status, closed) = app
        .post(
            &format!("/api/v1/events/{r}/status"),
            Some(&admin),
            &json!({"status": "closed"}),
        )
        .await;
    assert_eq!(status, 200, "{closed}");
    let (status, _) = app
        .post(
            &format!("/api/v1/events/{r}/pledges"),
            Some(&charity),
            &pledge_body,
        )
        .await;
    assert_eq!(status, 409, "a closed event takes no pledges");
}

async fn event_rules_are_enforced(app: TestApp) {
    let admin = app.token("admin").await;
    let mut bad = event_input();
    bad["ends_at"] = json!("13:00");
    bad["venue"] = json!("");
    bad["region"] = json!("上海");
    let (status, body) = app.post("/api/v1/events", Some(&admin), &bad).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["region", "ends_at", "venue"], "{body}");
    // A year typed wrong, a day gone by: clear errors, no 500.
    for (held_on, field) in [("0202-02-15", "held_on"), ("2020-01-15", "held_on")] {
        let mut bad = event_input();
        bad["held_on"] = json!(held_on);
        let (status, body) = app.post("/api/v1/events", Some(&admin), &bad).await;
        assert_eq!(status, 422, "{held_on}: {body}");
        assert_eq!(body["error"]["details"][0]["field"], field, "{body}");
    }
    let (status, event) = app
        .post("/api/v1/events", Some(&admin), &event_input())
        .await;
    assert_eq!(status, 201);
    let r = event["ref"].as_str().unwrap();
    // One event per region and quarter.
    let (status, _) = app
        .post("/api/v1/events", Some(&admin), &event_input())
        .await;
    assert_eq!(status, 409);
    // An unknown status is a field error.
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/status"),
            Some(&admin),
            &json!({"status": "done"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // Draft → held is not a move.
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/status"),
            Some(&admin),
            &json!({"status": "held"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    // Proposals: a street with open needs, for next quarter.
    family(&app, 0, &[("housing", "卫生间适老化改造", "medium")]).await;
    let (status, proposals) = app.get("/api/v1/events/proposals", Some(&admin)).await;
    assert_eq!(status, 200, "{proposals}");
    assert_eq!(proposals[0]["region"], "310118-003", "{proposals}");
    assert_eq!(proposals[0]["open_needs"], 1);
    assert_ne!(proposals[0]["quarter"], event["quarter"]);
    // A draft can be deleted, once.
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/events/{r}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (status, _) = app.get(&format!("/api/v1/events/{r}"), Some(&admin)).await;
    assert_eq!(status, 404);
}

/// An event of street 310118-003 whose first need-list item charity A has
/// pledged against and signed for `needs`: (event ref, agreement number).
pub async fn signed_event(app: &TestApp, needs: &[String]) -> (String, String) {
    let admin = app.token("admin").await;
    let charity = app.token("charity_a").await;
    let (status, event) = app
        .post("/api/v1/events", Some(&admin), &event_input())
        .await;
    assert_eq!(status, 201, "{event}");
    let r = event["ref"].as_str().unwrap().to_string();
    let (status, compiled) = app
        .post(
            &format!("/api/v1/events/{r}/need-list"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{compiled}");
    let item = compiled["items"][0]["id"].as_i64().unwrap();
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/status"),
            Some(&admin),
            &json!({"status": "published"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut s = service("S-T-JOB", ORG_A);
    s["status"] = json!("published");
    s["dimensions"] = json!(["employment"]);
    s["capacity"] = json!({"total": 10, "remaining": 10, "unit": "人"});
    let (status, body) = app.post("/api/v1/resources", Some(&charity), &s).await;
    assert_eq!(status, 201, "{body}");
    let (status, pledge) = app
        .post(
            &format!("/api/v1/events/{r}/pledges"),
            Some(&charity),
            &json!({"item_id": item, "quantity": 2, "resource_ref": "S-T-JOB",
                    "conditions": "每周三天，提供午餐", "deadline": ""}),
        )
        .await;
    assert_eq!(status, 201, "{pledge}");
    let (status, agreement) = app
        .post(
            &format!("/api/v1/events/{r}/agreements"),
            Some(&admin),
            &json!({"pledge": pledge["number"], "needs": needs, "charity_signatory": "钱主任",
                    "note": "首批两人"}),
        )
        .await;
    assert_eq!(status, 201, "{agreement}");
    (r, agreement["number"].as_str().unwrap().to_string())
}
