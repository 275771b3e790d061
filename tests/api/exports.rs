//! Excel exports: the catalogue as shown (filters kept, every page), with
//! Chinese headers; the management list with what the account may manage.

use std::io::{Cursor, Read};

use calamine::{open_workbook_from_rs, Reader, Xlsx};
use serde_json::json;

use crate::helpers::{policy, TestApp};
use crate::pages::{page, sign_in};

crate::backend_tests!(
    the_catalogue_exports_as_a_workbook,
    event_need_lists_and_reports_export_as_workbooks,
);

/// The rows of the workbook at `path` (header first), fetched with the
/// app's client (and its session cookie, if signed in).
pub(crate) async fn rows_of(app: &TestApp, path: &str, sheet: &str) -> Vec<Vec<String>> {
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
    assert_laid_out(&bytes);
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("xlsx");
    assert_eq!(book.sheet_names(), vec![sheet.to_string()]);
    let range = book.worksheet_range(sheet).expect("sheet");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// Every sheet of the workbook has a frozen header row, set column widths
/// and a bold header.
pub(crate) fn assert_laid_out(bytes: &[u8]) {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).expect("xlsx is a zip");
    let sheets: Vec<String> = zip
        .file_names()
        .filter(|n| n.starts_with("xl/worksheets/sheet"))
        .map(str::to_string)
        .collect();
    assert!(!sheets.is_empty());
    for name in sheets {
        let mut xml = String::new();
        zip.by_name(&name)
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        assert!(
            xml.contains("state=\"frozen\""),
            "{name}: header row frozen"
        );
        assert!(
            xml.contains("<col ") && xml.contains("customWidth=\"1\""),
            "{name}: widths"
        );
    }
    let mut styles = String::new();
    zip.by_name("xl/styles.xml")
        .unwrap()
        .read_to_string(&mut styles)
        .unwrap();
    assert!(styles.contains("<b/>"), "a bold header style");
}

async fn event_need_lists_and_reports_export_as_workbooks(app: TestApp) {
    let job = ("employment", "为残障成员寻找实习岗位", "high");
    let f1 = crate::events::family(&app, 0, &[job]).await;
    let f2 = crate::events::family(&app, 1, &[job]).await;
    let needs = vec![f1.need_refs[0].clone(), f2.need_refs[0].clone()];
    let (r, _) = crate::events::signed_event(&app, &needs).await;

    // The published need list, for anyone, anonymised.
    let rows = rows_of(&app, &format!("/events/{r}/need-list.xlsx"), "需求清单").await;
    assert_eq!(
        rows[0][..5],
        ["序号", "服务对象", "需求维度", "需求", "人数"]
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][3], "实习岗位");
    assert_eq!(rows[1][4], "2");
    assert_eq!(rows[1][7], "2", "pledged");
    let all = rows.concat().join(" ");
    for secret in f1.secrets.iter().chain(&f2.secrets) {
        assert!(!all.contains(secret.as_str()), "leaks {secret}");
    }
    let (status, _) = page(&app, "/events/E-NOPE/need-list.xlsx").await;
    assert_eq!(status, 404);

    // The report: overview, by dimension, by organisation.
    sign_in(&app, "admin").await;
    let resp = app
        .client
        .get(app.url(&format!("/events/{r}/report.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains(&r) && disposition.contains("UTF-8''"),
        "{disposition}"
    );
    let bytes = resp.bytes().await.unwrap();
    assert_laid_out(&bytes);
    let book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(book.sheet_names(), vec!["概览", "按需求维度", "按机构"]);
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
        "资源目录",
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
    let all = rows_of(&app, "/resources.xlsx", "资源目录").await;
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
        "资源目录",
    )
    .await;
    let refs: Vec<&str> = managed[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(refs, vec!["P-XL-3"]);
    assert_eq!(managed[1][15], "草稿");
}
