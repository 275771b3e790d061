//! Files and figures at city scale: the statistics page's tables and charts,
//! the household list and HSDS exports, and a household workbook checked
//! and imported (as a dry run, so the data set is left as it was).

use std::time::Instant;

use aidmatch::catalogue::hsds;
use aidmatch::households::export;
use aidmatch::households::id_number::check_char;
use aidmatch::households::repository::{self, ListQuery, Scope};
use aidmatch::households::workbook::{self, Importer};
use aidmatch::stats::figures::{self, Filter};
use rust_xlsxwriter::Workbook;

use crate::data::Data;
use crate::results::{Goal, Results};

pub fn run(data: &Data, households: usize, results: &mut Results) {
    let mut conn = data.pool.get().expect("connection");
    let today = chrono::Local::now().date_naive();

    let filter = Filter {
        region: String::new(),
        months: 12,
        today,
    };
    let t = Instant::now();
    let tables = figures::all(&mut conn, &filter).expect("figures");
    let secs = t.elapsed().as_secs_f64();
    let rows: usize = tables.iter().map(|t| t.rows.len()).sum();
    results.add(
        "stats.all_s",
        "statistics page: all six tables and SVG charts, whole city",
        secs,
        "s",
        Goal::Lower,
        format!("{rows} table rows"),
    );

    let t = Instant::now();
    let query = ListQuery {
        page: 1,
        per_page: export::MAX_ROWS,
        max_per_page: Some(export::MAX_ROWS),
        ..Default::default()
    };
    let (list, total) = repository::list(&mut conn, &Scope::All, &query).expect("list");
    let listed = export::with_details(&mut conn, list).expect("details");
    let regions = aidmatch::domain::region_names::names(&mut conn).expect("regions");
    let bytes = export::households_xlsx(&listed, &regions).expect("xlsx");
    let secs = t.elapsed().as_secs_f64();
    results.add(
        "export.households_xlsx_s",
        &format!("household list export, {total} households (.xlsx)"),
        secs,
        "s",
        Goal::Lower,
        format!("{:.1} MB", bytes.len() as f64 / 1_048_576.0),
    );

    let t = Instant::now();
    let mut bytes = 0usize;
    let mut largest = 0usize;
    hsds::export_all(&mut conn, |chunk| {
        bytes += chunk.len();
        largest = largest.max(chunk.len());
        true
    })
    .expect("hsds");
    let secs = t.elapsed().as_secs_f64();
    let first = hsds::export_page(&mut conn, 1, 1).expect("hsds page");
    results.add(
        "export.hsds_s",
        &format!(
            "HSDS 3.0 download, {} services, funding and material (streamed)",
            first["total_items"]
        ),
        secs,
        "s",
        Goal::Lower,
        format!(
            "{:.1} MB of JSON, chunks of at most {:.1} MB",
            bytes as f64 / 1_048_576.0,
            largest as f64 / 1_048_576.0
        ),
    );

    let book = household_workbook(households);
    let t = Instant::now();
    let report = workbook::import(
        &mut conn,
        &data.cipher,
        Importer::Command("bench"),
        &book,
        today,
        true,
    )
    .expect("workbook import");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.households_created, households);
    results.add(
        "import.workbook_households_per_s",
        &format!("household workbook: {households} households, 2 members and a need each, checked and written (dry run)"),
        households as f64 / secs,
        "/s",
        Goal::Higher,
        format!("{:.1} MB .xlsx, {secs:.1} s", book.len() as f64 / 1_048_576.0),
    );
}

/// A workbook in the template's layout: `n` households of two members
/// (with ID numbers) and one need each.
fn household_workbook(n: usize) -> Vec<u8> {
    let mut book = Workbook::new();
    let members = book.add_worksheet();
    members.set_name(workbook::MEMBERS_SHEET).expect("name");
    let header = [
        "家庭编号",
        "地区代码",
        "本人同意",
        "家庭住址",
        "本地户籍",
        "月房租（元）",
        "姓名",
        "与户主关系",
        "身份证号",
        "月收入（元）",
    ];
    for (c, h) in header.iter().enumerate() {
        members.write_string(0, c as u16, *h).expect("cell");
    }
    let mut row = 1;
    for i in 0..n {
        let r = format!("H-BENCH-{i:06}");
        for (m, relation) in ["本人", "配偶"].iter().enumerate() {
            // A birth date a day apart for each household keeps ID numbers unique.
            let born = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).expect("date")
                + chrono::Duration::days((i % 25_000) as i64);
            let first17 = format!("310118{}{:03}", born.format("%Y%m%d"), 11 + m);
            let id = format!("{first17}{}", check_char(first17.as_bytes()));
            let cells: [&str; 10] = [
                &r,
                "310118-003-012",
                "是",
                "上海市青浦区香花桥街道新桥路88弄5号301室",
                "是",
                "1200",
                if m == 0 { "张建国" } else { "李秀英" },
                relation,
                &id,
                "2600",
            ];
            for (c, v) in cells.iter().enumerate() {
                members.write_string(row, c as u16, *v).expect("cell");
            }
            row += 1;
        }
    }
    let needs = book.add_worksheet();
    needs.set_name(workbook::NEEDS_SHEET).expect("name");
    for (c, h) in ["家庭编号", "需求维度", "需求标题"].iter().enumerate() {
        needs.write_string(0, c as u16, *h).expect("cell");
    }
    for i in 0..n {
        let r = format!("H-BENCH-{i:06}");
        needs.write_string(i as u32 + 1, 0, &r).expect("cell");
        needs
            .write_string(i as u32 + 1, 1, "生活照料")
            .expect("cell");
        needs
            .write_string(i as u32 + 1, 2, "助餐服务")
            .expect("cell");
    }
    book.save_to_buffer().expect("workbook")
}
