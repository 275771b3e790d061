//! Reading an import file: a JSON array, or JSON Lines (one object a line).
//! Each record keeps its position so errors can name it.

use std::fmt;

use serde_json::Value;

/// Where a record sits in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 0-based index in a JSON array.
    Index(usize),
    /// 1-based line in a JSON Lines file.
    Line(usize),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Index(i) => write!(f, "第 {} 条记录 (index {i})", i + 1),
            Position::Line(l) => write!(f, "第 {l} 行 (line {l})"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub position: Position,
    pub value: Value,
}

/// One problem with one record of an import, naming the record and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub position: Option<Position>,
    pub record_ref: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.position {
            write!(f, "{p}")?;
        }
        if let Some(r) = &self.record_ref {
            write!(f, " ref={r}")?;
        }
        if let Some(field) = &self.field {
            write!(f, " 字段 {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Splits `text` into records. An array is read whole; anything else is read
/// as JSON Lines, where blank lines are skipped.
pub fn read_records(text: &str) -> Result<Vec<Record>, RecordError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('[') {
        let values: Vec<Value> = serde_json::from_str(trimmed).map_err(|e| RecordError {
            position: None,
            record_ref: None,
            field: None,
            message: format!(
                "文件不是合法的 JSON 数组：第 {} 行第 {} 列 {e} (invalid JSON array)",
                e.line(),
                e.column()
            ),
        })?;
        return Ok(values
            .into_iter()
            .enumerate()
            .map(|(i, value)| Record {
                position: Position::Index(i),
                value,
            })
            .collect());
    }
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        let value = serde_json::from_str(line).map_err(|e| RecordError {
            position: Some(Position::Line(line_no)),
            record_ref: None,
            field: None,
            message: format!("不是合法的 JSON：{e} (invalid JSON)"),
        })?;
        records.push(Record {
            position: Position::Line(line_no),
            value,
        });
    }
    Ok(records)
}

/// The record's `ref`, when it has a string one.
pub fn ref_of(value: &Value) -> Option<String> {
    value.get("ref").and_then(Value::as_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_arrays_and_lines() {
        let a = read_records(r#"[{"ref":"A"},{"ref":"B"}]"#).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].position, Position::Index(1));
        let l = read_records("{\"ref\":\"A\"}\n\n{\"ref\":\"B\"}\n").unwrap();
        assert_eq!(l[1].position, Position::Line(3));
        let bad = read_records("{\"ref\":\"A\"}\n{oops\n").unwrap_err();
        assert_eq!(bad.position, Some(Position::Line(2)));
    }
}
