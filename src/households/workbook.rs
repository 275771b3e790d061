//! Households, members and needs from an Excel workbook laid out the way a
//! community office keeps them: sheet 「家庭成员」 has one row per member with
//! the household's columns repeated (or left blank after the first row),
//! sheet 「需求」 one row per need. Headers are Chinese; codes may be written
//! as their Chinese labels. Every problem is reported with its sheet, row
//! and column, and nothing is written unless the whole workbook is valid.
//!
//! [`template`] writes the blank workbook offered for download: examples,
//! instructions, a code table and data validation on every coded column.

use std::collections::HashMap;
use std::fmt;
use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, DataType, Reader, Xlsx};
use chrono::NaiveDate;
use diesel::Connection;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::needs::{self, NeedInput};
use super::validation::{validate_household, HouseholdInput};
use super::{access, import::check_adviser, repository};
use crate::auth::{Identity, Role};
use crate::db::DbConnection;
use crate::domain::vocabulary::{
    DIMENSIONS, DISABILITY_TYPES, EMPLOYMENT, HEALTH_TAGS, RELATIONS, SEXES, STUDENT_STAGES,
    TARGET_GROUPS, URGENCIES,
};
use crate::error::{AppError, FieldError};
use crate::privacy::DataCipher;

pub const MEMBERS_SHEET: &str = "家庭成员";
pub const NEEDS_SHEET: &str = "需求";
const GUIDE_SHEET: &str = "填写说明";
const CODES_SHEET: &str = "代码表";

/// Upload size and row limits (a whole street's households fit).
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
const MAX_ROWS: usize = 50_000;

type Table = &'static [(&'static str, &'static str)];

/// What a column holds, and so how its cells are read.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    /// Digits kept as text (ID numbers, phones): a number cell is accepted
    /// only while it is a whole number Excel kept exactly.
    Digits,
    YesNo,
    Number,
    Integer,
    Date,
    Code(Table),
    Codes(Table),
}

struct Column {
    header: &'static str,
    /// Where the value goes in the household (or need) document.
    path: &'static str,
    kind: Kind,
    required: bool,
    width: f64,
    note: &'static str,
}

const fn col(
    header: &'static str,
    path: &'static str,
    kind: Kind,
    required: bool,
    width: f64,
    note: &'static str,
) -> Column {
    Column {
        header,
        path,
        kind,
        required,
        width,
        note,
    }
}

/// Household columns of 「家庭成员」: read from a household's first row;
/// later rows may repeat them or leave them blank, but not contradict them.
const HOUSEHOLD_COLUMNS: &[Column] = &[
    col(
        "家庭编号",
        "ref",
        Kind::Text,
        true,
        14.0,
        "同一家庭的每位成员填写相同编号；已有编号的家庭将被整体更新",
    ),
    col(
        "地区代码",
        "region",
        Kind::Text,
        true,
        16.0,
        "区县代码-街道-社区，如 310118-003-012",
    ),
    col(
        "本人同意",
        "consent",
        Kind::YesNo,
        true,
        10.0,
        "是/否；未记录同意时只能填写姓名、关系和地区",
    ),
    col("家庭住址", "address", Kind::Text, false, 30.0, ""),
    col(
        "联系电话",
        "contact_phone",
        Kind::Digits,
        false,
        14.0,
        "手机或固定电话",
    ),
    col("本地户籍", "hukou_local", Kind::YesNo, false, 10.0, "是/否"),
    col(
        "自有住房",
        "housing.owned",
        Kind::YesNo,
        false,
        10.0,
        "是/否",
    ),
    col(
        "住房面积（平方米）",
        "housing.area_m2",
        Kind::Number,
        false,
        12.0,
        "",
    ),
    col(
        "家庭金融资产（元）",
        "assets.financial",
        Kind::Number,
        false,
        14.0,
        "存款、理财等合计",
    ),
    col(
        "月医疗支出（元）",
        "monthly.medical_expense",
        Kind::Number,
        false,
        12.0,
        "",
    ),
    col(
        "月教育支出（元）",
        "monthly.education_expense",
        Kind::Number,
        false,
        12.0,
        "",
    ),
    col(
        "月房租（元）",
        "monthly.rent",
        Kind::Number,
        false,
        12.0,
        "",
    ),
    col(
        "救助身份",
        "status",
        Kind::Codes(TARGET_GROUPS),
        false,
        16.0,
        "可填多个，用顿号分隔，如 低保对象、残疾人",
    ),
    col(
        "救助顾问账号",
        "adviser",
        Kind::Text,
        false,
        12.0,
        "留空：顾问导入时为本人",
    ),
    col(
        "发现日期",
        "identified_on",
        Kind::Date,
        false,
        12.0,
        "留空为今天",
    ),
];

/// Member columns of 「家庭成员」: one member per row.
const MEMBER_COLUMNS: &[Column] = &[
    col("姓名", "name", Kind::Text, true, 10.0, ""),
    col(
        "与户主关系",
        "relation",
        Kind::Code(RELATIONS),
        true,
        10.0,
        "每户须有一位「本人」（户主）",
    ),
    col(
        "身份证号",
        "id_number",
        Kind::Digits,
        false,
        21.0,
        "18 位，请保持文本格式",
    ),
    col("手机号", "phone", Kind::Digits, false, 14.0, ""),
    col(
        "性别",
        "sex",
        Kind::Code(SEXES),
        false,
        6.0,
        "男/女；有身份证号时可留空",
    ),
    col(
        "出生日期",
        "birth_date",
        Kind::Date,
        false,
        12.0,
        "有身份证号时可留空",
    ),
    col(
        "残疾等级",
        "disability_grade",
        Kind::Integer,
        false,
        8.0,
        "0 无，1–4 级（1 级最重）",
    ),
    col(
        "残疾类别",
        "disability_type",
        Kind::Code(DISABILITY_TYPES),
        false,
        10.0,
        "",
    ),
    col(
        "健康状况",
        "health",
        Kind::Codes(HEALTH_TAGS),
        false,
        12.0,
        "可填多个，用顿号分隔",
    ),
    col(
        "就业状况",
        "employment",
        Kind::Code(EMPLOYMENT),
        false,
        10.0,
        "",
    ),
    col(
        "就学阶段",
        "student_stage",
        Kind::Code(STUDENT_STAGES),
        false,
        10.0,
        "",
    ),
    col(
        "月收入（元）",
        "income_monthly",
        Kind::Number,
        false,
        12.0,
        "",
    ),
];

const NEED_COLUMNS: &[Column] = &[
    col(
        "家庭编号",
        "household_ref",
        Kind::Text,
        true,
        14.0,
        "本工作簿中或系统中已有的家庭",
    ),
    col(
        "需求维度",
        "dimension",
        Kind::Code(DIMENSIONS),
        true,
        12.0,
        "",
    ),
    col(
        "需求标题",
        "title",
        Kind::Text,
        true,
        30.0,
        "同一家庭已有同维度、同标题且未关闭的需求时跳过",
    ),
    col("需求说明", "detail", Kind::Text, false, 40.0, ""),
    col(
        "紧急程度",
        "urgency",
        Kind::Code(URGENCIES),
        false,
        10.0,
        "留空为一般",
    ),
    col("数量", "quantity", Kind::Integer, false, 8.0, "留空为 1"),
];

/// One problem, at a sheet, row and column when it has them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellError {
    pub sheet: String,
    /// 1-based, as Excel numbers rows.
    pub row: Option<u32>,
    /// Column letter and header.
    pub column: Option<String>,
    pub header: Option<String>,
    pub message: String,
}

impl CellError {
    fn at(
        sheet: &str,
        row: Option<u32>,
        column: Option<(u16, &str)>,
        message: impl Into<String>,
    ) -> Self {
        CellError {
            sheet: sheet.into(),
            row,
            column: column.map(|(c, _)| column_letter(c)),
            header: column.map(|(_, h)| h.to_string()),
            message: message.into(),
        }
    }

    /// `家庭成员!F3` (or the row or sheet alone).
    pub fn reference(&self) -> String {
        match (&self.column, self.row) {
            (Some(c), Some(r)) => format!("{}!{c}{r}", self.sheet),
            (None, Some(r)) => format!("{}!{r}:{r}", self.sheet),
            (Some(c), None) => format!("{}!{c}:{c}", self.sheet),
            (None, None) => self.sheet.clone(),
        }
    }
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "工作表「{}」", self.sheet)?;
        if let Some(r) = self.row {
            write!(f, "第 {r} 行")?;
        }
        if let (Some(c), Some(h)) = (&self.column, &self.header) {
            write!(f, " {c} 列「{h}」")?;
        }
        write!(f, "：{}", self.message)
    }
}

/// Why a workbook was not imported. Nothing was written.
#[derive(Debug)]
pub enum WorkbookError {
    Invalid(Vec<CellError>),
    App(AppError),
}

impl From<AppError> for WorkbookError {
    fn from(e: AppError) -> Self {
        WorkbookError::App(e)
    }
}

impl From<diesel::result::Error> for WorkbookError {
    fn from(e: diesel::result::Error) -> Self {
        WorkbookError::App(AppError::Database(e))
    }
}

impl fmt::Display for WorkbookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkbookError::Invalid(list) => {
                writeln!(
                    f,
                    "导入失败，未写入任何数据，共 {} 处问题 (import rejected, nothing written):",
                    list.len()
                )?;
                for e in list {
                    writeln!(f, "  {e}")?;
                }
                Ok(())
            }
            WorkbookError::App(e) => write!(f, "{e}"),
        }
    }
}

impl From<WorkbookError> for AppError {
    /// For the API: 422 with one detail per problem, `field` the cell.
    fn from(e: WorkbookError) -> AppError {
        match e {
            WorkbookError::App(e) => e,
            WorkbookError::Invalid(list) => AppError::Validation(
                list.iter()
                    .map(|e| FieldError::new(e.reference(), e.to_string()))
                    .collect(),
            ),
        }
    }
}

/// What an import did (or, checked only, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkbookReport {
    pub households_created: usize,
    pub households_updated: usize,
    pub members: usize,
    pub needs_created: usize,
    /// Needs already on record (same household, dimension and title, not closed).
    pub needs_skipped: usize,
    /// Checked only: nothing was written.
    pub dry_run: bool,
}

/// `0` → `A`, `27` → `AB`.
fn column_letter(mut c: u16) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// A header as typed, without the required mark, spaces and the
/// half-/full-width bracket difference.
fn normalise_header(h: &str) -> String {
    h.trim()
        .trim_end_matches(['*', '＊'])
        .trim()
        .replace('(', "（")
        .replace(')', "）")
        .replace(' ', "")
}

/// A sheet's rows with the column (index, definition) of each header.
struct SheetData {
    /// (absolute 0-based row, cells by absolute column).
    rows: Vec<(u32, Vec<Data>)>,
    columns: Columns,
}

/// Where each known column sits in the sheet.
type Columns = Vec<(u16, &'static Column)>;

/// The (index, header) of the column for `path`.
fn column_of(columns: &Columns, path: &str) -> Option<(u16, &'static str)> {
    columns
        .iter()
        .find(|(_, c)| c.path == path)
        .map(|(i, c)| (*i, c.header))
}

impl SheetData {
    fn cell(&self, row: &[Data], path: &str) -> Option<(u16, &Column, Data)> {
        self.columns
            .iter()
            .find(|(_, c)| c.path == path)
            .map(|(i, c)| (*i, *c, row.get(*i as usize).cloned().unwrap_or(Data::Empty)))
    }
}

fn read_sheet(
    book: &mut Xlsx<Cursor<Vec<u8>>>,
    name: &'static str,
    columns: &[&'static Column],
    required: bool,
    errors: &mut Vec<CellError>,
) -> Option<SheetData> {
    if !book.sheet_names().iter().any(|s| s == name) {
        if required {
            errors.push(CellError::at(
                name,
                None,
                None,
                format!("工作簿中没有名为「{name}」的工作表，请使用下载的模板 (sheet missing; use the template)"),
            ));
        }
        return None;
    }
    let range = match book.worksheet_range(name) {
        Ok(r) => r,
        Err(e) => {
            errors.push(CellError::at(
                name,
                None,
                None,
                format!("无法读取工作表 (unreadable sheet): {e}"),
            ));
            return None;
        }
    };
    let Some((r0, c0)) = range.start() else {
        if required {
            errors.push(CellError::at(
                name,
                None,
                None,
                "工作表是空的 (the sheet is empty)",
            ));
        }
        return None;
    };
    let mut rows = range.rows().enumerate().map(|(i, cells)| {
        // Cells by absolute column, so column letters are right even when
        // the used range does not start at column A.
        let mut abs = vec![Data::Empty; c0 as usize];
        abs.extend(cells.iter().cloned());
        (r0 + i as u32, abs)
    });
    let (header_row, headers) = rows.next()?;
    let mut found: Columns = Vec::new();
    for (i, cell) in headers.iter().enumerate() {
        let text = normalise_header(&cell_text(cell));
        if text.is_empty() {
            continue;
        }
        match columns.iter().find(|c| normalise_header(c.header) == text) {
            Some(c) if found.iter().any(|(_, f)| f.path == c.path) => errors.push(CellError::at(
                name,
                Some(header_row + 1),
                Some((i as u16, c.header)),
                "该列重复出现 (duplicate column)",
            )),
            Some(c) => found.push((i as u16, c)),
            None => errors.push(CellError::at(
                name,
                Some(header_row + 1),
                Some((i as u16, text.as_str())),
                "无法识别的列标题，请使用模板中的列名 (unknown column header)",
            )),
        }
    }
    for c in columns.iter().filter(|c| c.required) {
        if !found.iter().any(|(_, f)| f.path == c.path) {
            errors.push(CellError::at(
                name,
                Some(header_row + 1),
                None,
                format!("缺少必填列「{}」 (required column missing)", c.header),
            ));
        }
    }
    let rows: Vec<(u32, Vec<Data>)> = rows
        .filter(|(_, cells)| cells.iter().any(|c| !cell_text(c).is_empty()))
        .collect();
    if rows.len() > MAX_ROWS {
        errors.push(CellError::at(
            name,
            None,
            None,
            format!("一次最多导入 {MAX_ROWS} 行，请分批导入 (too many rows)"),
        ));
        return None;
    }
    Some(SheetData {
        rows,
        columns: found,
    })
}

/// A cell as text (numbers without a trailing `.0`).
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string().trim().to_string(),
    }
}

fn find_code(table: Table, text: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(code, label)| code.eq_ignore_ascii_case(text) || *label == text)
        .map(|(code, _)| *code)
}

fn labels(table: Table) -> String {
    table.iter().map(|(_, l)| *l).collect::<Vec<_>>().join("、")
}

/// Reads one cell as the JSON value its column holds; `Ok(None)` when blank.
fn read_cell(cell: &Data, kind: Kind) -> Result<Option<Value>, String> {
    let text = cell_text(cell);
    if text.is_empty() {
        return Ok(None);
    }
    let value = match kind {
        Kind::Text => json!(text),
        Kind::Digits => match cell {
            Data::Float(f) if f.fract() != 0.0 || f.abs() >= 1e15 => {
                return Err(format!(
                    "数字过长已被 Excel 改写为 {text}，请把该列设为文本格式后重新填写 (long number mangled by Excel; format the column as text)"
                ))
            }
            _ => json!(text),
        },
        Kind::YesNo => match cell {
            Data::Bool(b) => json!(b),
            _ => match text.to_lowercase().as_str() {
                "是" | "有" | "y" | "yes" | "true" | "1" | "√" => json!(true),
                "否" | "无" | "n" | "no" | "false" | "0" | "×" => json!(false),
                _ => return Err(format!("应填写「是」或「否」，而不是「{text}」 (expected 是 or 否)")),
            },
        },
        Kind::Number => match cell {
            Data::Float(f) => json!(f),
            Data::Int(i) => json!(i),
            _ => match text.replace([',', '，'], "").parse::<f64>() {
                Ok(f) if f.is_finite() => json!(f),
                _ => return Err(format!("应填写数字，而不是「{text}」 (expected a number)")),
            },
        },
        Kind::Integer => match text.parse::<i64>() {
            Ok(i) => json!(i),
            Err(_) => return Err(format!("应填写整数，而不是「{text}」 (expected a whole number)")),
        },
        Kind::Date => match cell.as_date() {
            Some(d) if matches!(cell, Data::DateTime(_) | Data::DateTimeIso(_)) => {
                json!(d.format("%Y-%m-%d").to_string())
            }
            _ => match parse_date(&text) {
                Some(d) => json!(d.format("%Y-%m-%d").to_string()),
                None => {
                    return Err(format!(
                        "应填写日期，如 1950-03-02，而不是「{text}」 (expected a date)"
                    ))
                }
            },
        },
        Kind::Code(table) => match find_code(table, &text) {
            Some(code) => json!(code),
            None => {
                return Err(format!(
                    "「{text}」不是可选的值，可填：{} (unknown value)",
                    labels(table)
                ))
            }
        },
        Kind::Codes(table) => {
            let mut codes = Vec::new();
            for part in text
                .split(['、', ',', '，', ';', '；', '/', ' '])
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                match find_code(table, part) {
                    Some(code) if !codes.contains(&code) => codes.push(code),
                    Some(_) => {}
                    None => {
                        return Err(format!(
                            "「{part}」不是可选的值，可填：{} (unknown value)",
                            labels(table)
                        ))
                    }
                }
            }
            json!(codes)
        }
    };
    Ok(Some(value))
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
}

/// Puts `value` at a dotted `path` in `doc`.
fn set_path(doc: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            doc.insert(path.into(), value);
        }
        Some((head, rest)) => {
            let inner = doc
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = inner {
                set_path(m, rest, value);
            }
        }
    }
}

/// A household gathered from its member rows.
struct Gathered {
    ref_code: String,
    doc: Map<String, Value>,
    /// Row of the first member.
    first_row: u32,
    /// Row each household field was read from.
    field_rows: HashMap<&'static str, u32>,
    /// Excel row of each member, in order.
    member_rows: Vec<u32>,
    members: Vec<Value>,
}

/// A need read from its row.
struct NeedRow {
    row: u32,
    input: NeedInput,
}

/// A checked workbook: households (in sheet order) and needs, and where
/// their columns are.
struct Checked {
    households: Vec<(Gathered, HouseholdInput)>,
    needs: Vec<NeedRow>,
    member_columns: Columns,
    need_columns: Columns,
}

/// Reads and checks the workbook; no database needed.
fn check(bytes: &[u8], today: NaiveDate) -> Result<Checked, Vec<CellError>> {
    let mut errors = Vec::new();
    let mut book: Xlsx<_> = match open_workbook_from_rs(Cursor::new(bytes.to_vec())) {
        Ok(b) => b,
        Err(e) => {
            return Err(vec![CellError::at(
                "（工作簿）",
                None,
                None,
                format!("不是有效的 .xlsx 文件，请用 Excel 或 WPS 另存为 .xlsx 后上传 (not a valid .xlsx workbook): {e}"),
            )])
        }
    };
    let member_defs: Vec<&'static Column> =
        HOUSEHOLD_COLUMNS.iter().chain(MEMBER_COLUMNS).collect();
    let need_defs: Vec<&'static Column> = NEED_COLUMNS.iter().collect();
    let members = read_sheet(&mut book, MEMBERS_SHEET, &member_defs, true, &mut errors);
    let needs_sheet = read_sheet(&mut book, NEEDS_SHEET, &need_defs, false, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let Some(members) = members else {
        return Err(errors);
    };

    // Gather households from member rows, in order of first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut gathered: HashMap<String, Gathered> = HashMap::new();
    for (r, cells) in &members.rows {
        let row = r + 1;
        let read = |path: &str, errors: &mut Vec<CellError>| -> Option<Value> {
            let (i, c, cell) = members.cell(cells, path)?;
            match read_cell(&cell, c.kind) {
                Ok(v) => v,
                Err(m) => {
                    errors.push(CellError::at(
                        MEMBERS_SHEET,
                        Some(row),
                        Some((i, c.header)),
                        m,
                    ));
                    None
                }
            }
        };
        let Some(ref_code) = read("ref", &mut errors).and_then(|v| v.as_str().map(str::to_string))
        else {
            if members.cell(cells, "ref").is_some() {
                errors.push(CellError::at(
                    MEMBERS_SHEET,
                    Some(row),
                    column_of(&members.columns, "ref"),
                    "请填写家庭编号：同一家庭的成员填写相同编号 (household ref required)",
                ));
            }
            continue;
        };
        let h = gathered.entry(ref_code.clone()).or_insert_with(|| {
            order.push(ref_code.clone());
            let mut doc = Map::new();
            doc.insert("ref".into(), json!(ref_code));
            Gathered {
                ref_code: ref_code.clone(),
                doc,
                first_row: row,
                field_rows: HashMap::new(),
                member_rows: Vec::new(),
                members: Vec::new(),
            }
        });
        for c in HOUSEHOLD_COLUMNS.iter().filter(|c| c.path != "ref") {
            let Some(value) = read(c.path, &mut errors) else {
                continue;
            };
            match h.field_rows.get(c.path) {
                None => {
                    set_path(&mut h.doc, c.path, value);
                    h.field_rows.insert(c.path, row);
                }
                Some(first) => {
                    let mut probe = Map::new();
                    set_path(&mut probe, c.path, value.clone());
                    if pointer(&h.doc, c.path) != pointer(&probe, c.path) {
                        errors.push(CellError::at(
                            MEMBERS_SHEET,
                            Some(row),
                            column_of(&members.columns, c.path),
                            format!(
                                "与本家庭第 {first} 行填写的值不一致；同一家庭的家庭信息只需在第一行填写 (differs from row {first} of the same household)"
                            ),
                        ));
                    }
                }
            }
        }
        let mut member = Map::new();
        for c in MEMBER_COLUMNS {
            if let Some(value) = read(c.path, &mut errors) {
                member.insert(c.path.into(), value);
            }
        }
        h.member_rows.push(row);
        h.members.push(Value::Object(member));
    }
    if members.rows.is_empty() {
        errors.push(CellError::at(
            MEMBERS_SHEET,
            None,
            None,
            "没有任何成员行 (no member rows)",
        ));
    }

    // Check each household as a document, mapping field paths to cells.
    let mut households = Vec::new();
    for ref_code in order {
        let Some(mut h) = gathered.remove(&ref_code) else {
            continue;
        };
        h.doc
            .insert("members".into(), Value::Array(h.members.clone()));
        match validate_household(&Value::Object(h.doc.clone()), today) {
            Ok(input) => households.push((h, input)),
            Err(list) => {
                for fe in list {
                    errors.push(locate(&members, &h, &fe));
                }
            }
        }
    }

    // Needs.
    let mut needs_out = Vec::new();
    if let Some(sheet) = &needs_sheet {
        for (r, cells) in &sheet.rows {
            let row = r + 1;
            let mut doc = Map::new();
            let mut bad = false;
            for (i, c) in &sheet.columns {
                let cell = cells.get(*i as usize).cloned().unwrap_or(Data::Empty);
                match read_cell(&cell, c.kind) {
                    Ok(Some(v)) => {
                        doc.insert(c.path.into(), v);
                    }
                    Ok(None) => {}
                    Err(m) => {
                        bad = true;
                        errors.push(CellError::at(
                            NEEDS_SHEET,
                            Some(row),
                            Some((*i, c.header)),
                            m,
                        ));
                    }
                }
            }
            if bad {
                continue;
            }
            match needs::parse_need(&Value::Object(doc)) {
                Ok(input) => needs_out.push(NeedRow { row, input }),
                Err(list) => {
                    for fe in list {
                        errors.push(CellError::at(
                            NEEDS_SHEET,
                            Some(row),
                            column_of(&sheet.columns, &fe.field),
                            fe.message,
                        ));
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(Checked {
            households,
            needs: needs_out,
            member_columns: members.columns,
            need_columns: needs_sheet.map(|s| s.columns).unwrap_or_default(),
        })
    } else {
        errors.sort_by(|a, b| {
            (
                a.sheet != MEMBERS_SHEET,
                a.row,
                a.column.as_ref().map(|c| (c.len(), c.clone())),
            )
                .cmp(&(
                    b.sheet != MEMBERS_SHEET,
                    b.row,
                    b.column.as_ref().map(|c| (c.len(), c.clone())),
                ))
        });
        Err(errors)
    }
}

fn pointer<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = doc.get(parts.next()?)?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

/// The cell a household's field error points at.
fn locate(sheet: &SheetData, h: &Gathered, fe: &FieldError) -> CellError {
    if let Some(rest) = fe.field.strip_prefix("members[") {
        if let Some((index, field)) = rest.split_once(']') {
            let field = field.trim_start_matches('.');
            let row = index
                .parse::<usize>()
                .ok()
                .and_then(|i| h.member_rows.get(i).copied())
                .unwrap_or(h.first_row);
            return CellError::at(
                MEMBERS_SHEET,
                Some(row),
                column_of(&sheet.columns, field),
                fe.message.clone(),
            );
        }
    }
    let row = h
        .field_rows
        .get(fe.field.as_str())
        .copied()
        .unwrap_or(h.first_row);
    let column = column_of(&sheet.columns, &fe.field).or_else(|| {
        // `members` itself (none marked 本人, too many) points at the relation column.
        (fe.field == "members")
            .then(|| column_of(&sheet.columns, "relation"))
            .flatten()
    });
    CellError::at(
        MEMBERS_SHEET,
        Some(row),
        column,
        format!("家庭 {}：{}", h.ref_code, fe.message),
    )
}

/// Who is importing: an account (scoped like the pages) or the CLI.
#[derive(Clone, Copy)]
pub enum Importer<'a> {
    User(&'a Identity),
    Command(&'a str),
}

impl Importer<'_> {
    fn actor(&self) -> &str {
        match self {
            Importer::User(who) => &who.username,
            Importer::Command(name) => name,
        }
    }
}

/// Ends a dry run's transaction (rolling it back) or a failed one.
enum Stop {
    Failed(WorkbookError),
    Checked(WorkbookReport),
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Failed(e.into())
    }
}

impl From<WorkbookError> for Stop {
    fn from(e: WorkbookError) -> Self {
        Stop::Failed(e)
    }
}

/// Imports the workbook: all of it or, on any problem, nothing. With
/// `dry_run` every check runs (database ones too) and nothing is kept.
pub fn import(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    importer: Importer<'_>,
    bytes: &[u8],
    today: NaiveDate,
    dry_run: bool,
) -> Result<WorkbookReport, WorkbookError> {
    if bytes.len() > MAX_BYTES {
        return Err(WorkbookError::Invalid(vec![CellError::at(
            "（工作簿）",
            None,
            None,
            format!("文件超过 {} MB (file too large)", MAX_BYTES / 1024 / 1024),
        )]));
    }
    let checked = check(bytes, today).map_err(WorkbookError::Invalid)?;
    let result = conn.transaction::<WorkbookReport, Stop, _>(|conn| {
        crate::db::lock_for_write(conn).map_err(WorkbookError::from)?;
        let report = write(conn, cipher, importer, &checked, today)?;
        if dry_run {
            Err(Stop::Checked(WorkbookReport {
                dry_run: true,
                ..report
            }))
        } else {
            Ok(report)
        }
    });
    match result {
        Ok(report) => Ok(report),
        Err(Stop::Checked(report)) => Ok(report),
        Err(Stop::Failed(e)) => Err(e),
    }
}

fn write(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    importer: Importer<'_>,
    checked: &Checked,
    today: NaiveDate,
) -> Result<WorkbookReport, WorkbookError> {
    let mut report = WorkbookReport::default();
    let mut errors = Vec::new();
    let actor = importer.actor().to_string();
    let mut ids: HashMap<String, (i64, bool)> = HashMap::new();
    for (h, input) in &checked.households {
        let at = |field: &str, e: AppError| {
            CellError::at(
                MEMBERS_SHEET,
                Some(h.field_rows.get(field).copied().unwrap_or(h.first_row)),
                column_of(&checked.member_columns, field),
                format!("家庭 {}：{}", h.ref_code, e.public_message()),
            )
        };
        let existing = repository::find(conn, &h.ref_code)?;
        if let Importer::User(who) = importer {
            if let Err(e) = access::check_create(who, &input.region) {
                errors.push(at("region", e));
                continue;
            }
            if let Some(current) = &existing {
                if access::check_visible(who, &current.row).is_err() {
                    errors.push(at(
                        "ref",
                        AppError::Forbidden(
                            "该编号已被您负责范围以外的家庭使用 (the ref belongs to a household outside your regions)".into(),
                        ),
                    ));
                    continue;
                }
            }
            if who.role == Role::Adviser {
                if let Some(named) = input.adviser.as_deref().filter(|a| *a != who.username) {
                    errors.push(at(
                        "adviser",
                        AppError::Forbidden(format!(
                            "只有管理员可以把家庭分配给其他顾问（{named}）；请留空 (only admins assign other advisers)"
                        )),
                    ));
                    continue;
                }
            }
        }
        let adviser = match &input.adviser {
            Some(name) => match check_adviser(conn, name, input.region.as_str()) {
                Ok(a) => Some(a),
                Err(e) => {
                    errors.push(at("adviser", e));
                    continue;
                }
            },
            None => match importer {
                Importer::User(who) if who.role == Role::Adviser => Some(who.username.clone()),
                _ => None,
            },
        };
        let saved = match &existing {
            Some(_) => repository::update(conn, cipher, &h.ref_code, input, None, &actor),
            None => repository::create(conn, cipher, input, adviser.as_deref(), &actor, today),
        };
        match saved {
            Ok(saved) => {
                if existing.is_some() {
                    report.households_updated += 1;
                } else {
                    report.households_created += 1;
                }
                report.members += input.members.len();
                ids.insert(h.ref_code.clone(), (saved.row.id, saved.row.consent));
            }
            Err(AppError::Validation(list)) => {
                for fe in list {
                    errors.push(at(&fe.field, AppError::Validation(vec![fe.clone()])));
                }
            }
            Err(e @ (AppError::Conflict(_) | AppError::Forbidden(_) | AppError::NotFound(_))) => {
                errors.push(at("ref", e))
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !errors.is_empty() {
        return Err(WorkbookError::Invalid(errors));
    }
    for n in &checked.needs {
        let need_error = |field: &str, message: String| {
            CellError::at(
                NEEDS_SHEET,
                Some(n.row),
                column_of(&checked.need_columns, field),
                message,
            )
        };
        let r = &n.input.household_ref;
        let (id, consent) = match ids.get(r) {
            Some(found) => *found,
            None => match repository::find(conn, r)? {
                Some(h)
                    if match importer {
                        Importer::User(who) => access::check_visible(who, &h.row).is_ok(),
                        Importer::Command(_) => true,
                    } =>
                {
                    (h.row.id, h.row.consent)
                }
                _ => {
                    errors.push(need_error(
                        "household_ref",
                        format!("没有编号为 {r} 的家庭（本工作簿和系统中都没有，或不在您负责的地区） (no such household)"),
                    ));
                    continue;
                }
            },
        };
        if !consent {
            errors.push(need_error(
                "household_ref",
                format!("家庭 {r} 尚未记录本人同意，不能登记需求 (record consent first)"),
            ));
            continue;
        }
        if needs::has_open_duplicate(conn, id, &n.input.dimension, &n.input.title)? {
            report.needs_skipped += 1;
            continue;
        }
        match needs::create(conn, id, &n.input, None, &actor) {
            Ok(_) => report.needs_created += 1,
            Err(AppError::Validation(list)) => {
                for fe in list {
                    errors.push(need_error(&fe.field, fe.message));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !errors.is_empty() {
        return Err(WorkbookError::Invalid(errors));
    }
    Ok(report)
}

/// One example household of the template: household cells by path, then
/// its members' cells by path.
type ExampleHousehold = (
    &'static [(&'static str, &'static str)],
    &'static [&'static [(&'static str, &'static str)]],
);

const EXAMPLES: &[ExampleHousehold] = &[
    (
        &[
            ("ref", "H-EX-0001"),
            ("region", "310118-003-012"),
            ("consent", "是"),
            ("address", "上海市青浦区香花桥街道新桥路88弄5号301室"),
            ("contact_phone", "13912345678"),
            ("hukou_local", "是"),
            ("housing.owned", "否"),
            ("housing.area_m2", "32.5"),
            ("assets.financial", "20000"),
            ("monthly.medical_expense", "800"),
            ("monthly.education_expense", "0"),
            ("monthly.rent", "1200"),
            ("status", "低保对象"),
            ("identified_on", "2026-10-08"),
        ],
        &[
            &[
                ("name", "张建国"),
                ("relation", "本人"),
                ("id_number", "31011819500302011"),
                ("phone", "13912345678"),
                ("sex", "男"),
                ("birth_date", "1950-03-02"),
                ("disability_grade", "0"),
                ("health", "慢性病"),
                ("employment", "退休"),
                ("income_monthly", "2600"),
            ],
            &[
                ("name", "李秀英"),
                ("relation", "配偶"),
                ("id_number", "31011819520815022"),
                ("sex", "女"),
                ("birth_date", "1952-08-15"),
                ("disability_grade", "2"),
                ("disability_type", "肢体残疾"),
                ("health", "慢性病、卧床"),
                ("employment", "无劳动能力"),
                ("income_monthly", "0"),
            ],
        ],
    ),
    (
        &[
            ("ref", "H-EX-0002"),
            ("region", "310118-003-012"),
            ("consent", "是"),
            ("address", "上海市青浦区香花桥街道天一路12号102室"),
            ("hukou_local", "是"),
            ("housing.owned", "是"),
            ("housing.area_m2", "45"),
            ("status", "特困人员"),
        ],
        &[&[
            ("name", "王淑芬"),
            ("relation", "本人"),
            ("id_number", "31011819380120042"),
            ("sex", "女"),
            ("birth_date", "1938-01-20"),
            ("health", "慢性病"),
            ("employment", "退休"),
            ("income_monthly", "1450"),
        ]],
    ),
];

const NEED_EXAMPLES: &[&[(&str, &str)]] = &[
    &[
        ("household_ref", "H-EX-0001"),
        ("dimension", "医疗"),
        ("title", "配偶长期卧床，需要上门康复护理"),
        ("detail", "每周两次上门护理，已办理残疾证"),
        ("urgency", "紧急"),
        ("quantity", "1"),
    ],
    &[
        ("household_ref", "H-EX-0002"),
        ("dimension", "生活照料"),
        ("title", "独居老人助餐服务"),
        ("urgency", "一般"),
    ],
];

/// A 17-digit ID number prefix with its check character.
fn with_check(first17: &str) -> String {
    format!(
        "{first17}{}",
        super::id_number::check_char(first17.as_bytes())
    )
}

fn xerr(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(format!("xlsx: {e}"))
}

/// The code-table sheet's column holding `table`'s labels, if it has one.
const CODE_TABLES: &[(&str, Table)] = &[
    ("与户主关系", RELATIONS),
    ("性别", SEXES),
    ("残疾类别", DISABILITY_TYPES),
    ("健康状况", HEALTH_TAGS),
    ("就业状况", EMPLOYMENT),
    ("就学阶段", STUDENT_STAGES),
    ("救助身份", TARGET_GROUPS),
    ("需求维度", DIMENSIONS),
    ("紧急程度", URGENCIES),
];

fn code_list_formula(table: Table) -> Option<String> {
    let c = CODE_TABLES
        .iter()
        .position(|(_, t)| std::ptr::eq(*t, table))?;
    let letter = column_letter(c as u16);
    Some(format!(
        "='{CODES_SHEET}'!${letter}$2:${letter}${}",
        table.len() + 1
    ))
}

/// The blank workbook to fill in: the two data sheets with headers (a `*`
/// marks required ones), example rows, formats and data validation, the
/// instructions and the code table.
pub fn template() -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{
        DataValidation, DataValidationErrorStyle, DataValidationRule, ExcelDateTime, Format,
        Formula, Workbook,
    };
    const VALIDATED_ROWS: u32 = 5_000;
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color("#E4E7EB")
        .set_text_wrap();
    let required = header.clone().set_font_color("#B42318");
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let example = Format::new().set_font_color("#475467");

    let sheets: [(&str, Vec<&'static Column>); 2] = [
        (
            MEMBERS_SHEET,
            HOUSEHOLD_COLUMNS.iter().chain(MEMBER_COLUMNS).collect(),
        ),
        (NEEDS_SHEET, NEED_COLUMNS.iter().collect()),
    ];
    for (name, columns) in &sheets {
        let ws = book.add_worksheet();
        ws.set_name(*name).map_err(xerr)?;
        for (i, c) in columns.iter().enumerate() {
            let i = i as u16;
            let title = if c.required {
                format!("{}*", c.header)
            } else {
                c.header.to_string()
            };
            ws.write_string_with_format(0, i, &title, if c.required { &required } else { &header })
                .map_err(xerr)?;
            ws.set_column_width(i, c.width).map_err(xerr)?;
            match c.kind {
                Kind::Text | Kind::Digits | Kind::Codes(_) | Kind::Code(_) => {
                    ws.set_column_format(i, &text).map_err(xerr)?;
                }
                Kind::Date => {
                    ws.set_column_format(i, &date).map_err(xerr)?;
                }
                _ => {}
            }
            let mut v = match c.kind {
                Kind::YesNo => DataValidation::new()
                    .allow_list_strings(&["是", "否"])
                    .map_err(xerr)?,
                Kind::Code(table) => match code_list_formula(table) {
                    Some(f) => DataValidation::new().allow_list_formula(Formula::new(f)),
                    None => continue,
                },
                Kind::Integer if c.path == "disability_grade" => {
                    DataValidation::new().allow_whole_number(DataValidationRule::Between(0, 4))
                }
                Kind::Integer => DataValidation::new()
                    .allow_whole_number(DataValidationRule::Between(1, 100_000)),
                Kind::Number => DataValidation::new()
                    .allow_decimal_number(DataValidationRule::GreaterThanOrEqualTo(0.0)),
                Kind::Date => DataValidation::new().allow_date(DataValidationRule::Between(
                    ExcelDateTime::from_ymd(1900, 1, 1).map_err(xerr)?,
                    ExcelDateTime::from_ymd(2100, 12, 31).map_err(xerr)?,
                )),
                Kind::Digits if c.path == "id_number" => {
                    DataValidation::new().allow_text_length(DataValidationRule::EqualTo(18))
                }
                // Free text and multi-valued codes: a hint only.
                _ if !c.note.is_empty() => DataValidation::new().allow_any_value(),
                _ => continue,
            };
            v = v
                .set_error_title("输入有误")
                .map_err(xerr)?
                .set_error_message(format!(
                    "「{}」{}",
                    c.header,
                    if c.note.is_empty() {
                        "请从列表中选择或按格式填写"
                    } else {
                        c.note
                    }
                ))
                .map_err(xerr)?
                .set_error_style(DataValidationErrorStyle::Stop);
            if !c.note.is_empty() {
                v = v
                    .set_input_title(c.header)
                    .map_err(xerr)?
                    .set_input_message(c.note)
                    .map_err(xerr)?;
            }
            ws.add_data_validation(1, i, VALIDATED_ROWS, i, &v)
                .map_err(xerr)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xerr)?;
        // Example rows, in grey.
        let write_cells = |ws: &mut rust_xlsxwriter::Worksheet,
                           row: u32,
                           cells: &[(&str, &str)]|
         -> Result<(), AppError> {
            for (path, value) in cells {
                let Some(i) = columns.iter().position(|c| c.path == *path) else {
                    continue;
                };
                let c = columns[i];
                let i = i as u16;
                let value = if c.path == "id_number" {
                    with_check(value)
                } else {
                    value.to_string()
                };
                match c.kind {
                    Kind::Number | Kind::Integer => match value.parse::<f64>() {
                        Ok(n) => ws.write_number_with_format(row, i, n, &example),
                        Err(_) => ws.write_string_with_format(row, i, &value, &example),
                    },
                    Kind::Date => match parse_date(&value) {
                        Some(d) => ws.write_datetime_with_format(
                            row,
                            i,
                            ExcelDateTime::parse_from_str(&d.format("%Y-%m-%d").to_string())
                                .map_err(xerr)?,
                            &date.clone().set_font_color("#475467"),
                        ),
                        None => ws.write_string_with_format(row, i, &value, &example),
                    },
                    _ => ws.write_string_with_format(row, i, &value, &example),
                }
                .map_err(xerr)?;
            }
            Ok(())
        };
        let mut row = 1;
        if *name == MEMBERS_SHEET {
            for (household, members) in EXAMPLES {
                for (m, member) in members.iter().enumerate() {
                    // The household's columns on its first row only.
                    if m == 0 {
                        write_cells(ws, row, household)?;
                    } else {
                        write_cells(ws, row, &household[..1])?;
                    }
                    write_cells(ws, row, member)?;
                    row += 1;
                }
            }
        } else {
            for need in NEED_EXAMPLES {
                write_cells(ws, row, need)?;
                row += 1;
            }
        }
    }

    // Instructions.
    let ws = book.add_worksheet();
    ws.set_name(GUIDE_SHEET).map_err(xerr)?;
    let wrap = Format::new().set_text_wrap();
    let title = Format::new().set_bold().set_font_size(14);
    ws.write_string_with_format(0, 0, "家庭档案导入模板 填写说明", &title)
        .map_err(xerr)?;
    let lines = [
        "1. 「家庭成员」工作表每行一位成员；同一家庭的成员填写相同的家庭编号，家庭信息（地区、住址、收支等）在该家庭第一行填写即可，后续行可留空或重复填写相同的值。",
        "2. 带 * 的列必须填写；代码类的列可从下拉列表选择中文名称，也可填写英文代码。可填多个值的列用顿号「、」分隔。",
        "3. 身份证号、电话请保持文本格式，避免 Excel 把长数字改写；出生日期与性别可由身份证号得出。",
        "4. 「需求」工作表每行一项需求，家庭编号须是本工作簿或系统中已有的家庭，且该家庭已记录本人同意。",
        "5. 导入前会检查整个工作簿：任何一处有误都不会写入任何数据，并列出每处问题所在的工作表、行和列。可先选择「仅检查」。",
        "6. 系统中已有的家庭编号会被整体更新（成员以本工作簿为准）；已有相同维度、相同标题且未关闭的需求会跳过，不会重复登记。",
        "7. 灰色的示例行（H-EX-0001、H-EX-0002）请在填写前删除。",
    ];
    for (i, line) in lines.iter().enumerate() {
        ws.write_string_with_format(i as u32 + 2, 0, *line, &wrap)
            .map_err(xerr)?;
    }
    ws.set_column_width(0, 100).map_err(xerr)?;
    let start = lines.len() as u32 + 4;
    for (i, h) in ["工作表", "列", "必填", "说明", "可填的值"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(start, i as u16, *h, &header)
            .map_err(xerr)?;
    }
    let mut row = start + 1;
    for (sheet, columns) in &sheets {
        for c in columns {
            let values = match c.kind {
                Kind::YesNo => "是、否".to_string(),
                Kind::Code(t) | Kind::Codes(t) => labels(t),
                Kind::Date => "日期，如 1950-03-02".into(),
                Kind::Number => "数字（≥ 0）".into(),
                Kind::Integer => "整数".into(),
                Kind::Digits | Kind::Text => String::new(),
            };
            let cells = [
                sheet.to_string(),
                c.header.to_string(),
                if c.required { "是" } else { "" }.to_string(),
                c.note.to_string(),
                values,
            ];
            for (i, v) in cells.iter().enumerate() {
                ws.write_string_with_format(row, i as u16, v, &wrap)
                    .map_err(xerr)?;
            }
            row += 1;
        }
    }

    // Code table (the lists the data validation offers).
    let ws = book.add_worksheet();
    ws.set_name(CODES_SHEET).map_err(xerr)?;
    for (c, (name, table)) in CODE_TABLES.iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(0, c, *name, &header)
            .map_err(xerr)?;
        ws.set_column_width(c, 14).map_err(xerr)?;
        for (r, (_, label)) in table.iter().enumerate() {
            ws.write_string(r as u32 + 1, c, *label).map_err(xerr)?;
        }
    }
    book.worksheet_from_index(0).map_err(xerr)?.set_active(true);
    book.save_to_buffer().map_err(xerr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn the_template_checks_clean() {
        let bytes = template().unwrap();
        let checked = check(&bytes, today()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(checked.households.len(), 2);
        assert_eq!(checked.households[0].1.members.len(), 2);
        assert_eq!(checked.needs.len(), 2);
    }

    #[test]
    fn letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
    }

    #[test]
    fn cells_read_as_their_kind() {
        assert_eq!(
            read_cell(&Data::String("本人".into()), Kind::Code(RELATIONS)).unwrap(),
            Some(json!("self"))
        );
        assert_eq!(
            read_cell(
                &Data::String("慢性病、卧床".into()),
                Kind::Codes(HEALTH_TAGS)
            )
            .unwrap(),
            Some(json!(["chronic", "bedridden"]))
        );
        assert!(read_cell(&Data::Float(3.10118195003021e17), Kind::Digits).is_err());
        assert_eq!(
            read_cell(&Data::Float(13912345678.0), Kind::Digits).unwrap(),
            Some(json!("13912345678"))
        );
        assert!(read_cell(&Data::String("也许".into()), Kind::YesNo).is_err());
        assert_eq!(
            read_cell(&Data::String("1950年3月2日".into()), Kind::Date).unwrap(),
            Some(json!("1950-03-02"))
        );
    }
}
