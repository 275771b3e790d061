//! Referrals: a need referred to a resource, accepted by the charity that
//! owns it (seeing only the anonymised need), fulfilled or declined, with
//! the need's status following; acceptance takes one unit of capacity and
//! concurrent acceptances of the last unit let exactly one through.

use serde_json::{json, Value};

use crate::helpers::{service, TestApp, ORG_A};
use crate::households::household;

crate::backend_tests!(
    referrals_follow_their_lifecycle,
    concurrent_acceptances_never_take_capacity_below_zero,
);

/// A household of the adviser's street, `needs` needs on it, and charity
/// A's published service with `capacity` units.
async fn setting(app: &TestApp, needs: usize, capacity: i64) -> (String, Vec<String>) {
    let adviser = app.token("adviser").await;
    let charity = app.token("charity_a").await;
    let (status, created) = app
        .post(
            "/api/v1/households",
            Some(&adviser),
            &household("310118-003-012"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let r = created["ref"].as_str().unwrap().to_string();
    let mut refs = Vec::new();
    for i in 0..needs {
        let (status, need) = app
            .post(
                "/api/v1/needs",
                Some(&adviser),
                &json!({"household_ref": r, "dimension": "daily_care",
                        "title": format!("助餐送餐 {i}"), "detail": "张建国老人独自在家，住新桥路88弄"}),
            )
            .await;
        assert_eq!(status, 201, "{need}");
        refs.push(need["ref"].as_str().unwrap().to_string());
    }
    let mut s = service("S-T-MEAL", ORG_A);
    s["capacity"] = json!({"total": capacity, "remaining": capacity, "unit": "人"});
    s["status"] = json!("published");
    let (status, body) = app.post("/api/v1/resources", Some(&charity), &s).await;
    assert_eq!(status, 201, "{body}");
    if body["status"] != "published" {
        let (status, body) = app
            .post(
                "/api/v1/resources/S-T-MEAL/publish",
                Some(&charity),
                &json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    (r, refs)
}

async fn remaining(app: &TestApp) -> i64 {
    let (_, doc) = app.get("/api/v1/resources/S-T-MEAL", None).await;
    doc["capacity"]["remaining"].as_i64().unwrap()
}

async fn need_status(app: &TestApp, token: &str, n: &str) -> String {
    let (_, need) = app.get(&format!("/api/v1/needs/{n}"), Some(token)).await;
    need["status"].as_str().unwrap().to_string()
}

async fn referrals_follow_their_lifecycle(app: TestApp) {
    let (r, needs) = setting(&app, 2, 2).await;
    let adviser = app.token("adviser").await;
    let charity = app.token("charity_a").await;
    let other_charity = app.token("charity_b").await;
    let other_adviser = app.token("adviser_b").await;
    let refer =
        |n: &str| json!({"need_ref": n, "resource_ref": "S-T-MEAL", "note": "老人行动不便"});

    // Only the household's adviser refers.
    assert_eq!(
        app.post("/api/v1/referrals", Some(&charity), &refer(&needs[0]))
            .await
            .0,
        403
    );
    assert_eq!(
        app.post("/api/v1/referrals", Some(&other_adviser), &refer(&needs[0]))
            .await
            .0,
        404
    );
    let (status, first) = app
        .post("/api/v1/referrals", Some(&adviser), &refer(&needs[0]))
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "referred");
    assert_eq!(first["household_ref"], r.as_str());
    assert_eq!(need_status(&app, &adviser, &needs[0]).await, "matched");
    let (status, _) = app
        .post("/api/v1/referrals", Some(&adviser), &refer(&needs[0]))
        .await;
    assert_eq!(status, 409, "the same pair twice");
    let number = first["number"].as_str().unwrap().to_string();

    // The charity sees the need anonymised.
    let (status, theirs) = app.get("/api/v1/referrals", Some(&charity)).await;
    assert_eq!(status, 200);
    let seen: &Value = &theirs["items"][0];
    assert_eq!(seen["need"]["title"], "助餐送餐 0");
    assert_eq!(seen["need"]["region"], "310118-003", "the street only");
    let text = theirs.to_string();
    for secret in [
        r.as_str(),
        needs[0].as_str(),
        "张建国",
        "新桥路",
        "老人行动不便",
    ] {
        assert!(!text.contains(secret), "charity sees {secret}: {text}");
    }
    let (_, none) = app.get("/api/v1/referrals", Some(&other_charity)).await;
    assert_eq!(none["total"], 0);
    assert_eq!(
        app.get(&format!("/api/v1/referrals/{number}"), Some(&other_charity))
            .await
            .0,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/referrals/{number}"), Some(&other_adviser))
            .await
            .0,
        404
    );

    // Accepted takes one unit; fulfilled fulfils the need.
    let step = |to: &str| json!({"status": to});
    let path = format!("/api/v1/referrals/{number}/status");
    assert_eq!(
        app.post(&path, Some(&other_charity), &step("accepted"))
            .await
            .0,
        404
    );
    assert_eq!(
        app.post(&path, Some(&charity), &step("fulfilled")).await.0,
        409,
        "not yet accepted"
    );
    assert_eq!(
        app.post(&path, Some(&charity), &step("referred")).await.0,
        422
    );
    let (status, body) = app.post(&path, Some(&charity), &step("accepted")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(remaining(&app).await, 1);
    let (status, body) = app.post(&path, Some(&adviser), &step("fulfilled")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(need_status(&app, &adviser, &needs[0]).await, "fulfilled");
    assert_eq!(
        app.post(&path, Some(&charity), &step("declined")).await.0,
        409
    );

    // Declined after accepting: the unit comes back, the need reopens.
    let (_, second) = app
        .post("/api/v1/referrals", Some(&adviser), &refer(&needs[1]))
        .await;
    let path = format!(
        "/api/v1/referrals/{}/status",
        second["number"].as_str().unwrap()
    );
    app.post(&path, Some(&charity), &step("accepted")).await;
    assert_eq!(remaining(&app).await, 0);
    let (status, _) = app
        .post(
            &path,
            Some(&charity),
            &json!({"status": "declined", "note": "人手不足"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(remaining(&app).await, 1);
    assert_eq!(need_status(&app, &adviser, &needs[1]).await, "open");
    let (_, mine) = app
        .get(
            &format!("/api/v1/referrals?need={}", needs[1]),
            Some(&adviser),
        )
        .await;
    assert_eq!(mine["items"][0]["status"], "declined");
}

async fn concurrent_acceptances_never_take_capacity_below_zero(app: TestApp) {
    let (_, needs) = setting(&app, 8, 1).await;
    let adviser = app.token("adviser").await;
    let charity = app.token("charity_a").await;
    let mut numbers = Vec::new();
    for n in &needs {
        let (status, body) = app
            .post(
                "/api/v1/referrals",
                Some(&adviser),
                &json!({"need_ref": n, "resource_ref": "S-T-MEAL"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        numbers.push(body["number"].as_str().unwrap().to_string());
    }
    // Every referral accepted at once, for the last unit.
    let tasks: Vec<_> = numbers
        .iter()
        .map(|number| {
            let url = app.url(&format!("/api/v1/referrals/{number}/status"));
            let client = app.client.clone();
            let token = charity.clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"status": "accepted"}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap().unwrap());
    }
    codes.sort();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 7, "{codes:?}");
    assert_eq!(remaining(&app).await, 0);
    let (_, accepted) = app
        .get("/api/v1/referrals?status=accepted", Some(&charity))
        .await;
    assert_eq!(accepted["total"], 1);
}
