//! Households, members and needs imported from an Excel workbook: the
//! template (examples, instructions, data validation) imports as it is;
//! every problem is named by sheet, row and column and nothing is written;
//! advisers import through the page, inside their regions only; the CLI
//! takes the same workbook.

use std::io::{Cursor, Read};

use calamine::{open_workbook_from_rs, Reader, Xlsx};
use reqwest::multipart::{Form, Part};
use rust_xlsxwriter::Workbook;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::households::id;
use crate::pages::{csrf_of, page, sign_in};

crate::backend_tests!(
    the_template_imports_and_importing_again_adds_nothing,
    a_bad_workbook_names_each_cell_and_writes_nothing,
    advisers_import_through_the_page_within_their_regions,
);

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A workbook with a 「家庭成员」 sheet and, if given, a 「需求」 sheet;
/// each is a header row and data rows of text.
fn workbook(members: &[&[&str]], needs: Option<&[&[&str]]>) -> Vec<u8> {
    let mut book = Workbook::new();
    let mut sheets = vec![("家庭成员", members)];
    if let Some(n) = needs {
        sheets.push(("需求", n));
    }
    for (name, rows) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if !cell.is_empty() {
                    ws.write_string(r as u32, c as u16, *cell).unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

async fn template(app: &TestApp, token: &str) -> Vec<u8> {
    let resp = app
        .client
        .get(app.url("/api/v1/households/import/template.xlsx"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], XLSX);
    resp.bytes().await.unwrap().to_vec()
}

async fn import(app: &TestApp, token: &str, bytes: Vec<u8>, dry_run: bool) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/households/import?dry_run={dry_run}")))
        .bearer_auth(token)
        .header("content-type", XLSX)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The `field` of every detail of an error body (the cells).
fn cells(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|d| d["field"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn message_at<'a>(body: &'a Value, cell: &str) -> &'a str {
    body["error"]["details"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["field"] == cell))
        .and_then(|d| d["message"].as_str())
        .unwrap_or_else(|| panic!("no problem at {cell}: {body}"))
}

async fn the_template_imports_and_importing_again_adds_nothing(app: TestApp) {
    let admin = app.token("admin").await;
    let bytes = template(&app, &admin).await;

    // The template: the two data sheets first, instructions and codes after.
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec!["家庭成员", "需求", "填写说明", "代码表"]
    );
    let members = book.worksheet_range("家庭成员").unwrap();
    let header: Vec<String> = members
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    for h in [
        "家庭编号*",
        "地区代码*",
        "本人同意*",
        "姓名*",
        "与户主关系*",
        "身份证号",
        "出生日期",
    ] {
        assert!(header.contains(&h.to_string()), "{h} in {header:?}");
    }
    assert_eq!(members.height(), 4, "a header and three example members");
    let codes = book.worksheet_range("代码表").unwrap();
    let code_cells: Vec<String> = codes.cells().map(|(_, _, c)| c.to_string()).collect();
    for label in ["本人", "配偶", "肢体残疾", "低保对象", "医疗"] {
        assert!(code_cells.contains(&label.to_string()), "{label}");
    }
    // Data validation: drop-down lists of the code table, 是/否, the ID
    // number's length, dates.
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.clone())).unwrap();
    let mut sheet1 = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet1)
        .unwrap();
    assert!(sheet1.contains("<dataValidations"), "validations present");
    assert!(
        sheet1.contains("'代码表'!$A$2:$A$9"),
        "relation list from the code table"
    );
    assert!(sheet1.contains("是,否"), "yes/no list");
    assert!(sheet1.contains("type=\"textLength\""), "ID number length");
    assert!(sheet1.contains("type=\"date\""), "dates");

    // Checked only: the report, nothing written.
    let (status, body) = import(&app, &admin, bytes.clone(), true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["households_created"], 2);
    assert_eq!(body["needs_created"], 2);
    let (status, _) = app.get("/api/v1/households/H-EX-0001", Some(&admin)).await;
    assert_eq!(status, 404, "a dry run writes nothing");

    // Imported: two households, three members, two needs.
    let (status, body) = import(&app, &admin, bytes.clone(), false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["households_created"], 2);
    assert_eq!(body["households_updated"], 0);
    assert_eq!(body["members"], 3);
    assert_eq!(body["needs_created"], 2);
    let (status, h) = app.get("/api/v1/households/H-EX-0001", Some(&admin)).await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["members"].as_array().unwrap().len(), 2);
    assert_eq!(h["members"][1]["disability_type"], "physical");
    assert_eq!(
        h["members"][1]["health"],
        serde_json::json!(["chronic", "bedridden"])
    );
    assert_eq!(h["status"], serde_json::json!(["dibao"]));
    assert_eq!(h["housing"]["area_m2"], 32.5);
    assert_eq!(h["identified_on"], "2026-10-08");
    let masked = h["members"][0]["id_number"].as_str().unwrap();
    assert!(masked.contains('*'), "ID numbers masked: {masked}");
    let (_, needs) = app
        .get("/api/v1/needs?household=H-EX-0001", Some(&admin))
        .await;
    assert_eq!(needs["total"], 1, "{needs}");
    assert_eq!(needs["items"][0]["dimension"], "medical");
    assert_eq!(needs["items"][0]["urgency"], "high");

    // Again: the households are updated, the needs already on record skipped.
    let (status, body) = import(&app, &admin, bytes.clone(), false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["households_created"], 0);
    assert_eq!(body["households_updated"], 2);
    assert_eq!(body["needs_created"], 0);
    assert_eq!(body["needs_skipped"], 2);

    // The CLI takes the same workbook.
    let path = app.data_dir().join("households.xlsx");
    let mut edited = workbook(
        &[
            &[
                "家庭编号",
                "地区代码",
                "本人同意",
                "姓名",
                "与户主关系",
                "出生日期",
            ],
            &["H-CLI-1", "310118-003-012", "否", "周八", "本人", ""],
        ],
        None,
    );
    std::fs::write(&path, &edited).unwrap();
    let out = app.cli(["import", "households", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("新建家庭 1 户"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A birth date given without consent is refused by the CLI too.
    edited = workbook(
        &[
            &[
                "家庭编号",
                "地区代码",
                "本人同意",
                "姓名",
                "与户主关系",
                "出生日期",
            ],
            &[
                "H-CLI-2",
                "310118-003-012",
                "否",
                "吴九",
                "本人",
                "1960-01-01",
            ],
        ],
        None,
    );
    std::fs::write(&path, &edited).unwrap();
    let out = app.cli(["import", "households", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("工作表「家庭成员」第 2 行 F 列「出生日期」"),
        "{err}"
    );
    let (status, _) = app.get("/api/v1/households/H-CLI-2", Some(&admin)).await;
    assert_eq!(status, 404);
}

async fn a_bad_workbook_names_each_cell_and_writes_nothing(app: TestApp) {
    let admin = app.token("admin").await;
    let good_id = id("31011819800101001");
    let bad_checksum = {
        let mut s = id("31011819850505002");
        let last = if s.ends_with('0') { '1' } else { '0' };
        s.pop();
        s.push(last);
        s
    };
    let header: &[&str] = &[
        "家庭编号",
        "地区代码",
        "本人同意",
        "姓名",
        "与户主关系",
        "身份证号",
        "性别",
        "月收入（元）",
    ];
    let bytes = workbook(
        &[
            header,
            &[
                "H-BAD-1",
                "310118-003-012",
                "是",
                "赵一",
                "本人",
                &good_id,
                "男",
                "3000",
            ],
            // B3 contradicts B2; F3's check digit is wrong.
            &[
                "H-BAD-1",
                "310104-001-001",
                "",
                "赵二",
                "配偶",
                &bad_checksum,
                "",
                "",
            ],
            // E4: no such relation; H4: not a number.
            &[
                "H-BAD-2",
                "310118-003-012",
                "是",
                "钱三",
                "表哥",
                "",
                "",
                "很多",
            ],
            // A5: a member without a household.
            &["", "", "", "李四", "本人", "", "", ""],
            &[
                "H-GOOD-3",
                "310118-003-012",
                "是",
                "孙五",
                "本人",
                "",
                "女",
                "",
            ],
        ],
        Some(&[
            &["家庭编号", "需求维度", "需求标题"],
            &["H-GOOD-3", "天气", "看病"],
        ]),
    );
    let (status, body) = import(&app, &admin, bytes, false).await;
    assert_eq!(status, 422, "{body}");
    let found = cells(&body);
    for cell in [
        "家庭成员!B3",
        "家庭成员!F3",
        "家庭成员!E4",
        "家庭成员!H4",
        "家庭成员!A5",
        "需求!B2",
    ] {
        assert!(found.contains(&cell.to_string()), "{cell} in {found:?}");
    }
    assert!(
        message_at(&body, "家庭成员!B3").contains("第 2 行"),
        "{body}"
    );
    assert!(
        message_at(&body, "家庭成员!E4").contains("本人"),
        "lists the choices: {body}"
    );
    assert!(message_at(&body, "需求!B2").contains("天气"), "{body}");
    for r in ["H-BAD-1", "H-BAD-2", "H-GOOD-3"] {
        let (status, _) = app
            .get(&format!("/api/v1/households/{r}"), Some(&admin))
            .await;
        assert_eq!(status, 404, "{r} not written");
    }

    // Valid cells, but a need for a household nowhere to be found: found
    // while writing, and the households written before it are rolled back.
    let bytes = workbook(
        &[
            header,
            &[
                "H-GOOD-3",
                "310118-003-012",
                "是",
                "孙五",
                "本人",
                "",
                "女",
                "",
            ],
        ],
        Some(&[
            &["家庭编号", "需求维度", "需求标题"],
            &["H-GOOD-3", "医疗", "看病"],
            &["H-NOWHERE", "医疗", "看病"],
        ]),
    );
    let (status, body) = import(&app, &admin, bytes, false).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(cells(&body), vec!["需求!A3".to_string()], "{body}");
    let (status, _) = app.get("/api/v1/households/H-GOOD-3", Some(&admin)).await;
    assert_eq!(status, 404, "rolled back");

    // Not a workbook, an unknown column, a missing sheet.
    let (status, body) = import(&app, &admin, b"not a workbook".to_vec(), false).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(".xlsx"),
        "{body}"
    );
    let bytes = workbook(
        &[&[
            "家庭编号",
            "地区代码",
            "本人同意",
            "姓名",
            "与户主关系",
            "血型",
        ]],
        None,
    );
    let (status, body) = import(&app, &admin, bytes, false).await;
    assert_eq!(status, 422);
    assert!(cells(&body).contains(&"家庭成员!F1".to_string()), "{body}");
    let mut book = Workbook::new();
    book.add_worksheet().set_name("Sheet1").unwrap();
    let (status, body) = import(&app, &admin, book.save_to_buffer().unwrap(), false).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("家庭成员"), "{body}");

    // Charities may not import households.
    let charity = app.token("charity_a").await;
    let (status, _) = import(&app, &charity, b"x".to_vec(), false).await;
    assert_eq!(status, 403);
}

async fn post_upload(app: &TestApp, csrf: &str, mode: &str, bytes: Vec<u8>) -> (u16, String) {
    let form = Form::new()
        .text("csrf_token", csrf.to_string())
        .text("mode", mode.to_string())
        .part(
            "file",
            Part::bytes(bytes)
                .file_name("社区家庭.xlsx")
                .mime_str(XLSX)
                .unwrap(),
        );
    let resp = app
        .client
        .post(app.url("/households/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn advisers_import_through_the_page_within_their_regions(app: TestApp) {
    sign_in(&app, "adviser").await;
    let (status, html) = page(&app, "/households").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("href=\"/households/import\""),
        "linked from the list"
    );
    let (status, html) = page(&app, "/households/import").await;
    assert_eq!(status, 200);
    assert!(html.contains("/households/import/template.xlsx"));
    let csrf = csrf_of(&html);
    let resp = app
        .client
        .get(app.url("/households/import/template.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.contains("UTF-8''"), "{disposition}");
    let bytes = resp.bytes().await.unwrap().to_vec();

    // Check first: the summary, nothing written.
    let (status, html) = post_upload(&app, &csrf, "check", bytes.clone()).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("检查通过"), "{html}");
    assert!(html.contains("将新建 2 户"), "{html}");
    let (status, _) = page(&app, "/households/H-EX-0001").await;
    assert_eq!(status, 404);

    // Without the CSRF token: refused, nothing written.
    let (status, _) = post_upload(&app, "forged", "import", bytes.clone()).await;
    assert_eq!(status, 403);
    let (status, _) = page(&app, "/households/H-EX-0001").await;
    assert_eq!(status, 404);

    // Imported: the adviser's own households now.
    let (status, html) = post_upload(&app, &csrf, "import", bytes.clone()).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("导入完成"), "{html}");
    let (status, html) = page(&app, "/households/H-EX-0001").await;
    assert_eq!(status, 200);
    assert!(html.contains("张建国") || html.contains("张**"), "{html}");
    let token = app.token("adviser").await;
    let (_, h) = app.get("/api/v1/households/H-EX-0002", Some(&token)).await;
    assert_eq!(h["adviser"], "adviser", "{h}");

    // Outside the adviser's regions: the region cell is named.
    let outside = workbook(
        &[
            &["家庭编号", "地区代码", "本人同意", "姓名", "与户主关系"],
            &["H-OUT-1", "310104-001-001", "是", "郑十", "本人"],
        ],
        None,
    );
    let (status, html) = post_upload(&app, &csrf, "import", outside).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("导入失败，未写入任何数据"), "{html}");
    assert!(html.contains("B2") && html.contains("地区代码"), "{html}");
    assert!(html.contains("不在您负责的范围内"), "{html}");

    // No file chosen.
    let form = Form::new()
        .text("csrf_token", csrf.clone())
        .text("mode", "import");
    let resp = app
        .client
        .post(app.url("/households/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("请选择要上传的 .xlsx 文件"));

    // The household and need lists export what the adviser sees.
    let rows = crate::exports::rows_of(&app, "/households.xlsx?q=H-EX", "家庭档案").await;
    assert_eq!(rows[0][0], "编号");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows.iter().any(|r| r[0] == "H-EX-0001" && r[1] == "张建国"),
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| !r.join("").contains("3101181950")),
        "no ID numbers"
    );
    let rows = crate::exports::rows_of(&app, "/needs.xlsx?dimension=medical", "需求清单").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][1], "H-EX-0001");
    assert_eq!(rows[1][4], "医疗");
    assert_eq!(rows[1][7], "紧急");

    // Both downloads are in the audit log.
    let admin = app.token("admin").await;
    for subject in ["households", "needs"] {
        let (_, audit) = app
            .get(&format!("/api/v1/audit?subject={subject}"), Some(&admin))
            .await;
        let text = audit.to_string();
        assert!(
            text.contains("\"export\"") && text.contains("\"adviser\""),
            "{subject}: {text}"
        );
    }

    // Another adviser's export holds none of them.
    let other = crate::helpers::detached(&app);
    sign_in(&other, "adviser_b").await;
    let rows = crate::exports::rows_of(&other, "/households.xlsx", "家庭档案").await;
    assert!(rows.iter().all(|r| !r[0].starts_with("H-EX")), "{rows:?}");
}
