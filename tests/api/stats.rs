//! The statistics page: households by risk and service type per street,
//! needs by dimension and status and by month, resources by kind and
//! remaining capacity, referrals and their outcomes, event outcomes; each
//! table with an SVG chart and as an `.xlsx` download; admins only.

use std::io::Cursor;

use calamine::{open_workbook_from_rs, Reader, Xlsx};
use serde_json::{json, Value};

use crate::events::{family, signed_event};
use crate::helpers::TestApp;
use crate::households::household;
use crate::pages::{page, sign_in};

crate::backend_tests!(admins_see_figures_charts_and_downloads);

/// The sheets of a workbook download, each as rows of text.
async fn workbook(app: &TestApp, path: &str) -> Vec<(String, Vec<Vec<String>>)> {
    let resp = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    let bytes = resp.bytes().await.unwrap().to_vec();
    crate::exports::assert_laid_out(&bytes);
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).unwrap();
            let rows = range
                .rows()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect();
            (name, rows)
        })
        .collect()
}

async fn table(app: &TestApp, id: &str, extra: &str) -> Vec<Vec<String>> {
    let mut sheets = workbook(app, &format!("/admin/stats.xlsx?table={id}{extra}")).await;
    assert_eq!(sheets.len(), 1);
    sheets.remove(0).1
}

fn row<'a>(rows: &'a [Vec<String>], first: &str, column: usize) -> &'a Vec<String> {
    rows.iter()
        .find(|r| r.get(column).is_some_and(|c| c == first))
        .unwrap_or_else(|| panic!("no row {first} in {rows:?}"))
}

async fn admins_see_figures_charts_and_downloads(app: TestApp) {
    let admin = app.token("admin").await;
    let adviser = app.token("adviser").await;
    let charity = app.token("charity_a").await;
    let job = ("employment", "为残障成员寻找实习岗位", "high");
    let f1 = family(
        &app,
        0,
        &[job, ("daily_care", "独居老人每日助餐", "medium")],
    )
    .await;
    let f2 = family(&app, 1, &[job]).await;
    let (status, _) = app
        .post(
            "/api/v1/households",
            Some(&admin),
            &household("310104-001-001"),
        )
        .await;
    assert_eq!(status, 201);

    // Assessments: the first family red, the second green.
    let scores = |v: i64| {
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
    for (f, risk, v) in [(&f1, "red", 3), (&f2, "green", 1)] {
        let (_, need) = app
            .get(&format!("/api/v1/needs/{}", f.need_refs[0]), Some(&adviser))
            .await;
        let h = need["household_ref"].as_str().unwrap().to_string();
        let (status, body) = app
            .post(
                &format!("/api/v1/households/{h}/assessments"),
                Some(&adviser),
                &json!({"scores": scores(v), "risk": risk}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    // An event: the internship item pledged and signed for both needs.
    let needs = vec![f1.need_refs[0].clone(), f2.need_refs[0].clone()];
    let (r, _) = signed_event(&app, &needs).await;
    // One of the two referrals is carried through to fulfilled.
    let (_, referrals) = app.get("/api/v1/referrals", Some(&charity)).await;
    let number = referrals["items"][0]["number"]
        .as_str()
        .unwrap()
        .to_string();
    for step in ["accepted", "fulfilled"] {
        let (status, body) = app
            .post(
                &format!("/api/v1/referrals/{number}/status"),
                Some(&charity),
                &json!({"status": step}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    // Admins only.
    let other = crate::helpers::detached(&app);
    sign_in(&other, "adviser").await;
    let (status, _) = page(&other, "/admin/stats").await;
    assert_eq!(status, 403);
    let resp = other
        .client
        .get(other.url("/admin/stats.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    sign_in(&app, "admin").await;

    // The page: every table, a chart each, a download each.
    let (status, html) = page(&app, "/admin/stats").await;
    assert_eq!(status, 200);
    for title in [
        "在册家庭：按街道的风险等级与服务类型",
        "需求：按维度与状态",
        "需求：逐月新登记（按维度）与状态变化",
        "资源：按类型与剩余名额",
        "转介及其结果（按转介月份）",
        "资源对接会成果",
    ] {
        assert!(html.contains(title), "{title}");
    }
    assert_eq!(html.matches("<svg").count(), 6, "one chart per table");
    assert!(
        html.contains("红色风险") && html.contains("<rect"),
        "drawn bars and legend"
    );
    assert_eq!(html.matches("下载此表（Excel）").count(), 6);
    assert!(
        html.contains("href=\"/admin/stats.xlsx?months=12&#38;table=households\""),
        "{html}"
    );

    // Households per street, by latest risk and service type.
    let rows = table(&app, "households", "").await;
    assert_eq!(rows[0][..4], ["地区", "地区代码", "家庭数", "绿色"]);
    let street = row(&rows, "310118-003", 1);
    assert_eq!(street[2..7], ["2", "1", "0", "1", "0"], "{street:?}");
    let other = row(&rows, "310104-001", 1);
    assert_eq!(
        other[2..7],
        ["1", "0", "0", "0", "1"],
        "unassessed: {other:?}"
    );
    assert_eq!(row(&rows, "合计", 0)[2], "3");
    // Filtered by region.
    let rows = table(&app, "households", "&region=310104").await;
    assert_eq!(rows.len(), 3, "header, one street, total: {rows:?}");

    // Needs by dimension and status.
    let rows = table(&app, "needs", "").await;
    let employment = row(&rows, "就业", 0);
    assert_eq!(
        employment[1..6],
        ["2", "0", "1", "1", "0"],
        "{employment:?}"
    );
    assert_eq!(employment[6], "50.0%");
    assert_eq!(row(&rows, "生活照料", 0)[1..3], ["1", "1"]);
    // By month: this month's new needs and changes.
    let rows = table(&app, "needs_monthly", "").await;
    assert_eq!(rows.len(), 13, "12 months and the header");
    let this_month = chrono::Local::now().format("%Y-%m").to_string();
    let now = row(&rows, &this_month, 0);
    assert_eq!(now[1], "3", "{now:?}");
    let fulfilled_col = rows[0].iter().position(|h| h == "转为已满足").unwrap();
    assert_eq!(now[fulfilled_col], "1");

    // Resources by kind and remaining capacity.
    let rows = table(&app, "resources", "").await;
    let services = rows
        .iter()
        .find(|r| r[0] == "服务" && r[1] == "人")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(services[2], "1", "published: {services:?}");
    assert_eq!(services[5..8], ["10", "9", "10.0%"], "{services:?}");

    // Referrals and outcomes this month.
    let rows = table(&app, "referrals", "").await;
    let now = row(&rows, &this_month, 0);
    assert_eq!(now[1..7], ["2", "1", "0", "1", "0", "50.0%"], "{now:?}");

    // Event outcomes.
    let rows = table(&app, "events", "").await;
    let e = row(&rows, &r, 0);
    assert_eq!(e[7..13], ["1", "2", "1", "2", "1", "50.0%"], "{e:?}");

    // Everything in one workbook, a sheet a table.
    let sheets = workbook(&app, "/admin/stats.xlsx?months=6").await;
    assert_eq!(sheets.len(), 6);
    assert_eq!(sheets[2].1.len(), 7, "6 months and the header");

    // Bad filters are explained, not failed.
    let (status, html) = page(&app, "/admin/stats?region=abc").await;
    assert_eq!(status, 422);
    assert!(html.contains("地区代码有误"), "{html}");
    let (status, html) = page(&app, "/admin/stats?months=5").await;
    assert_eq!(status, 422);
    assert!(html.contains("统计期间"), "{html}");
    let resp = app
        .client
        .get(app.url("/admin/stats.xlsx?table=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}
