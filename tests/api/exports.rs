//! Excel exports: the catalogue as shown (filters kept, every page), with
//! Chinese headers; the management list with what the account may manage.

use std::io::Cursor;

use calamine::{open_workbook_from_rs, Reader, Xlsx};
use serde_json::json;

use crate::helpers::{policy, TestApp};
use crate::pages::{page, sign_in};

crate::backend_tests!(the_catalogue_exports_as_a_workbook);

/// The rows of the workbook at `path` (header first), fetched with the
/// app's client (and its session cookie, if signed in).
async fn rows_of(app: &TestApp, path: &str) -> Vec<Vec<String>> {
    let resp = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.contains("UTF-8''"), "{disposition}");
    let bytes = resp.bytes().await.unwrap();
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("xlsx");
    assert_eq!(book.sheet_names(), vec!["资源目录".to_string()]);
    let range = book.worksheet_range("资源目录").expect("sheet");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

async fn the_catalogue_exports_as_a_workbook(app: TestApp) {
    let admin = app.token("admin").await;
    for (r, title, status) in [
        ("P-XL-1", "导出测试低保政策", "published"),
        ("P-XL-2", "导出测试临时救助", "published"),
        ("P-XL-3", "导出测试草稿", "draft"),
    ] {
        let mut p = policy(r);
        p["title"] = json!(title);
        p["status"] = json!(status);
        let (code, body) = app.post("/api/v1/resources", Some(&admin), &p).await;
        assert_eq!(code, 201, "{body}");
    }

    // The public list links to its export, filters kept.
    let (status, html) = page(&app, "/resources?q=导出测试").await;
    assert_eq!(status, 200);
    assert!(html.contains("/resources.xlsx?q="), "{html}");

    // Everyone: published resources only, every column headed in Chinese.
    let rows = rows_of(
        &app,
        "/resources.xlsx?q=%E5%AF%BC%E5%87%BA%E6%B5%8B%E8%AF%95",
    )
    .await;
    assert_eq!(rows[0][0], "编号");
    assert_eq!(rows[0][2], "标题");
    assert!(
        rows[0].contains(&"名额（剩余/总数）".to_string()),
        "{:?}",
        rows[0]
    );
    let refs: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(refs, vec!["P-XL-1", "P-XL-2"], "published, by ref");
    let first = &rows[1];
    assert_eq!(first[1], "政策");
    assert_eq!(first[2], "导出测试低保政策");
    assert_eq!(first[15], "已发布");
    assert!(first[12].contains("身份证"), "materials: {first:?}");

    // Unfiltered: every published resource, not just one page.
    let (code, listed) = app.get("/api/v1/resources?per_page=200", None).await;
    assert_eq!(code, 200, "{listed}");
    let all = rows_of(&app, "/resources.xlsx").await;
    assert_eq!(all.len() as i64 - 1, listed["total"].as_i64().unwrap());

    // The management list needs a sign-in, and then includes drafts.
    let resp = app
        .client
        .get(app.url("/manage/resources.xlsx"))
        .send()
        .await
        .unwrap();
    assert_ne!(resp.status(), 200, "anonymous management export");
    sign_in(&app, "admin").await;
    let managed = rows_of(
        &app,
        "/manage/resources.xlsx?q=%E5%AF%BC%E5%87%BA%E6%B5%8B%E8%AF%95&status=draft",
    )
    .await;
    let refs: Vec<&str> = managed[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(refs, vec!["P-XL-3"]);
    assert_eq!(managed[1][15], "草稿");
}
