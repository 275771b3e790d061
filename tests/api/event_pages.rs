//! An admin runs a matchmaking event through the pages (no JavaScript):
//! the list with proposals, the form with its errors, compiling, an item
//! edit refused for personal data, publishing, the outbox page, recording an
//! agreement, the printable agreement and need list, the report and its
//! workbook, and the confirmation a draft's deletion needs.

use reqwest::header::LOCATION;
use serde_json::json;

use crate::events::{event_input, family, today};
use crate::helpers::{service, TestApp, ORG_A};
use crate::pages::{page, post_form, sign_in};

crate::backend_tests!(an_admin_runs_an_event_through_the_pages);

async fn an_admin_runs_an_event_through_the_pages(app: TestApp) {
    let f = family(&app, 0, &[("employment", "为残障成员寻找实习岗位", "high")]).await;
    let csrf = sign_in(&app, "admin").await;

    let (status, html) = page(&app, "/events").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("下季度建议") && html.contains("310118-003"),
        "{html}"
    );
    let (status, html) = page(&app, "/events/new?region=310118-003").await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"310118-003\""), "prefilled: {html}");

    // Errors next to the fields, nothing created.
    let day = today().to_string();
    let resp = post_form(
        &app,
        "/events",
        &[
            ("csrf_token", &csrf),
            ("region", "310118-003"),
            ("held_on", &day),
            ("starts_at", "14:00"),
            ("ends_at", "16:30"),
            ("venue", ""),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("请填写活动地点"), "{html}");
    let resp = post_form(
        &app,
        "/events",
        &[
            ("csrf_token", &csrf),
            ("region", "310118-003"),
            ("held_on", &day),
            ("starts_at", "14:00"),
            ("ends_at", "16:30"),
            ("venue", event_input()["venue"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let to = resp.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with("/events/E-"), "{to}");
    let r = to
        .trim_start_matches("/events/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let event_path = format!("/events/{r}");

    // Publishing an empty list is refused, with the reason on the page.
    let resp = post_form(
        &app,
        &format!("{event_path}/status"),
        &[("csrf_token", &csrf), ("status", "published")],
    )
    .await;
    assert_eq!(resp.status(), 409);
    assert!(resp.text().await.unwrap().contains("需求清单为空"));
    let resp = post_form(
        &app,
        &format!("{event_path}/need-list"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let (_, html) = page(&app, &event_path).await;
    assert!(html.contains("实习岗位"), "{html}");
    let item = html
        .split(&format!("action=\"{event_path}/items/"))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("an item form")
        .to_string();
    // An item title naming a person is refused next to the field.
    let resp = post_form(
        &app,
        &format!("{event_path}/items/{item}"),
        &[
            ("csrf_token", &csrf),
            ("title", "陈志强的实习岗位"),
            ("target_group", "disabled"),
            ("note", ""),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("个人信息"));
    // A draft is deleted only with the confirmation ticked.
    let resp = post_form(
        &app,
        &format!("{event_path}/delete"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("确认删除"));

    let resp = post_form(
        &app,
        &format!("{event_path}/status"),
        &[("csrf_token", &csrf), ("status", "published")],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let (status, html) = page(&app, "/admin/outbox").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("对接会邀请") && html.contains("org-a@charity.test"),
        "{html}"
    );
    let (status, html) = page(&app, &format!("{event_path}/print")).await;
    assert_eq!(status, 200);
    crate::events::assert_no_secrets("printed list", &html, &f.secrets);

    // A charity pledges (API); the admin records the agreement on its page.
    let charity = app.token("charity_a").await;
    let mut s = service("S-T-JOB", ORG_A);
    s["status"] = json!("published");
    let (status, body) = app.post("/api/v1/resources", Some(&charity), &s).await;
    assert_eq!(status, 201, "{body}");
    let (status, pledge) = app
        .post(
            &format!("/api/v1/events/{r}/pledges"),
            Some(&charity),
            &json!({"item_id": item.parse::<i64>().unwrap(), "quantity": 1, "resource_ref": "S-T-JOB"}),
        )
        .await;
    assert_eq!(status, 201, "{pledge}");
    let number = pledge["number"].as_str().unwrap();
    let (status, html) = page(
        &app,
        &format!("{event_path}/agreements/new?pledge={number}"),
    )
    .await;
    assert_eq!(status, 200);
    let need = &f.need_refs[0];
    assert!(
        html.contains(need.as_str()),
        "the admin sees the need: {html}"
    );
    let resp = post_form(
        &app,
        &format!("{event_path}/agreements"),
        &[
            ("csrf_token", &csrf),
            ("pledge", number),
            ("charity_signatory", ""),
            ("needs", need),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422, "a signatory is required");
    assert!(resp.text().await.unwrap().contains("签约代表"));
    let resp = post_form(
        &app,
        &format!("{event_path}/agreements"),
        &[
            ("csrf_token", &csrf),
            ("pledge", number),
            ("charity_signatory", "钱主任"),
            ("needs", need),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let (status, html) = page(&app, &format!("{event_path}/agreements/AG-000001/print")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("社会救助资源对接协议") && html.contains("钱主任"),
        "{html}"
    );
    crate::events::assert_no_secrets("printed agreement", &html, &f.secrets);

    let resp = post_form(
        &app,
        &format!("{event_path}/status"),
        &[("csrf_token", &csrf), ("status", "held")],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let (status, html) = page(&app, &format!("{event_path}/report")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<svg") && html.contains("就业"), "{html}");
    let resp = app
        .client
        .get(app.url(&format!("{event_path}/report.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    let resp = post_form(
        &app,
        &format!("{event_path}/follow-ups"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), 303);
}
