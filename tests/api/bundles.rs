//! The three-list bundle: policies with reasons and near misses, the need
//! list, resources matched per need (with why, and only those the
//! household can use), saved snapshots that never change, the printable
//! page and the `.xlsx` workbook.

use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use serde_json::{json, Value};

use crate::helpers::{policy, service, TestApp, ORG_A};
use crate::household_pages::Browser;
use crate::households::household;

crate::backend_tests!(
    the_bundle_lists_policies_needs_and_matched_resources,
    saved_bundles_never_change,
);

fn resource(ref_code: &str, title: &str, region: &str, dims: &[&str]) -> Value {
    let mut r = service(ref_code, ORG_A);
    r["title"] = json!(title);
    r["summary"] = json!(format!("{title}，为困难家庭提供帮助"));
    r["region"] = json!(region);
    r["dimensions"] = json!(dims);
    r["target_groups"] = json!(["elderly"]);
    r["status"] = json!("published");
    r
}

/// A household of the adviser's street with a medical need, and a
/// catalogue around it; returns the household and need refs.
async fn setting(app: &TestApp) -> (String, String) {
    let adviser = app.token("adviser").await;
    let admin = app.token("admin").await;
    let (status, created) = app
        .post(
            "/api/v1/households",
            Some(&adviser),
            &household("310118-003-012"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let r = created["ref"].as_str().unwrap().to_string();
    let (status, need) = app
        .post(
            "/api/v1/needs",
            Some(&adviser),
            &json!({"household_ref": r, "dimension": "medical", "title": "慢性病用药和送药上门",
                    "detail": "老人行动不便，需要送药上门", "urgency": "high"}),
        )
        .await;
    assert_eq!(status, 201, "{need}");
    let n = need["ref"].as_str().unwrap().to_string();
    let mut full = resource(
        "S-T-FULL",
        "送药上门服务（名额已满）",
        "310118",
        &["medical"],
    );
    full["capacity"] = json!({"total": 10, "remaining": 0, "unit": "人"});
    let mut strict = resource(
        "S-T-RULE",
        "送药上门服务（限百岁老人）",
        "310118",
        &["medical"],
    );
    strict["eligibility"] = json!({"some": [{"var": "members"}, {">=": [{"var": "age"}, 100]}]});
    for doc in [
        policy("P-T-DIBAO"),
        resource(
            "S-T-SONGYAO",
            "社区送药上门服务",
            "310118-003",
            &["medical"],
        ),
        resource("S-T-YILIAO", "家庭医生签约服务", "310000", &["medical"]),
        resource("S-T-XUHUI", "徐汇送药上门服务", "310104", &["medical"]),
        resource("S-T-CAN", "社区长者助餐服务", "310118-003", &["daily_care"]),
        full,
        strict,
    ] {
        let (status, body) = app.post("/api/v1/resources", Some(&admin), &doc).await;
        assert_eq!(status, 201, "{body}");
    }
    // The search index follows the database within a moment.
    for _ in 0..100 {
        let (_, found) = app.get("/api/v1/resources/search?q=送药上门", None).await;
        if found["total"].as_u64().unwrap_or(0) >= 4 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (r, n)
}

async fn the_bundle_lists_policies_needs_and_matched_resources(app: TestApp) {
    let (r, n) = setting(&app).await;
    let adviser = app.token("adviser").await;
    let (status, b) = app
        .get(&format!("/api/v1/households/{r}/bundle"), Some(&adviser))
        .await;
    assert_eq!(status, 200, "{b}");
    // The policy list, with reasons.
    assert_eq!(b["policies"][0]["ref"], "P-T-DIBAO");
    assert_eq!(
        b["policies"][0]["reasons"][1],
        "家庭月人均收入 1300 元，低于 1510 元"
    );
    // The need list.
    assert_eq!(b["needs"][0]["ref"], n.as_str());
    // The resource list: only what the household can use, best first.
    assert_eq!(b["resources"][0]["need_ref"], n.as_str());
    let matches = b["resources"][0]["matches"].as_array().unwrap();
    let refs: Vec<&str> = matches.iter().map(|m| m["ref"].as_str().unwrap()).collect();
    assert_eq!(refs[0], "S-T-SONGYAO", "{matches:?}");
    assert!(refs.contains(&"S-T-YILIAO"));
    for absent in ["S-T-XUHUI", "S-T-FULL", "S-T-RULE"] {
        assert!(
            !refs.contains(&absent),
            "{absent} must not be matched: {refs:?}"
        );
    }
    let why = matches[0]["why"].as_array().unwrap();
    assert!(why.contains(&json!("对应需求维度：医疗")), "{why:?}");
    assert!(why.contains(&json!("服务对象相符：老年人")), "{why:?}");
    assert!(why.contains(&json!("本街道/社区的资源")), "{why:?}");
    assert!(
        why.iter()
            .any(|w| w.as_str().unwrap().starts_with("与需求描述相关")),
        "{why:?}"
    );
    // Personal data is masked.
    assert_eq!(b["household"]["head_name"], "张**");
    assert_eq!(b["household"]["contact_phone"], "138****5678");
    assert!(!b.to_string().contains("13812345678"));
    // Scoping and input.
    let other = app.token("adviser_b").await;
    assert_eq!(
        app.get(&format!("/api/v1/households/{r}/bundle"), Some(&other))
            .await
            .0,
        404
    );
    let charity = app.token("charity_a").await;
    assert_eq!(
        app.get(&format!("/api/v1/households/{r}/bundle"), Some(&charity))
            .await
            .0,
        403
    );
    let (status, _) = app
        .get(
            &format!("/api/v1/households/{r}/bundle?as_of=tomorrow"),
            Some(&adviser),
        )
        .await;
    assert_eq!(status, 422);

    // The printable page and the workbook.
    let browser = Browser::signed_in(&app.url(""), "adviser").await;
    let (status, html) = browser.get(&format!("/households/{r}/bundle")).await;
    assert_eq!(status, 200);
    for text in [
        "一、政策清单",
        "二、需求清单",
        "三、资源清单",
        "社区送药上门服务",
        "救助顾问签字",
    ] {
        assert!(html.contains(text), "page lacks {text}");
    }
    let resp = browser
        .client
        .get(app.url(&format!("/households/{r}/bundle.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    let bytes = resp.bytes().await.unwrap();
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("xlsx opens");
    assert_eq!(
        book.sheet_names(),
        ["家庭概况", "政策清单", "需求清单", "资源清单"]
    );
    let cells = |book: &mut Xlsx<Cursor<Vec<u8>>>, sheet: &str| -> Vec<String> {
        book.worksheet_range(sheet)
            .unwrap()
            .rows()
            .flat_map(|r| {
                r.iter()
                    .map(|c| match c {
                        Data::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert!(cells(&mut book, "政策清单").contains(&"上海市最低生活保障".to_string()));
    assert!(cells(&mut book, "需求清单").contains(&"慢性病用药和送药上门".to_string()));
    assert!(cells(&mut book, "资源清单").contains(&"社区送药上门服务".to_string()));
    assert!(cells(&mut book, "家庭概况").contains(&"张**".to_string()));
}

async fn saved_bundles_never_change(app: TestApp) {
    let (r, _) = setting(&app).await;
    let adviser = app.token("adviser").await;
    let admin = app.token("admin").await;
    let (status, saved) = app
        .post(
            &format!("/api/v1/households/{r}/bundles"),
            Some(&adviser),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{saved}");
    let number = saved["number"].as_str().unwrap().to_string();
    assert_eq!(number, "B-000001");
    // The catalogue changes: the policy is withdrawn, a service renamed.
    let (status, _) = app
        .post(
            "/api/v1/resources/P-T-DIBAO/withdraw",
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let mut renamed = resource(
        "S-T-SONGYAO",
        "送药服务（新名称）",
        "310118-003",
        &["medical"],
    );
    renamed["version"] = json!(1);
    let (status, body) = app
        .put("/api/v1/resources/S-T-SONGYAO", Some(&admin), &renamed)
        .await;
    assert_eq!(status, 200, "{body}");
    // The live bundle follows the catalogue; the saved one does not.
    let (_, live) = app
        .get(&format!("/api/v1/households/{r}/bundle"), Some(&adviser))
        .await;
    assert_eq!(live["policies"], json!([]));
    let (status, again) = app
        .get(&format!("/api/v1/bundles/{number}"), Some(&adviser))
        .await;
    assert_eq!(status, 200);
    assert_eq!(again, saved, "a saved bundle is shown exactly as it was");
    let (_, list) = app
        .get(&format!("/api/v1/households/{r}/bundles"), Some(&adviser))
        .await;
    assert_eq!(list[0]["number"], number.as_str());
    let browser = Browser::signed_in(&app.url(""), "adviser").await;
    let (status, html) = browser.get(&format!("/bundles/{number}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("上海市最低生活保障") && html.contains("社区送药上门服务"));
    assert!(!html.contains("送药服务（新名称）"));
    let other = app.token("adviser_b").await;
    assert_eq!(
        app.get(&format!("/api/v1/bundles/{number}"), Some(&other))
            .await
            .0,
        404
    );
    assert_eq!(
        app.get("/api/v1/bundles/B-999999", Some(&adviser)).await.0,
        404
    );
}
