//! JavaScript's value rules, which JsonLogic inherits from json-logic-js:
//! truthiness, `ToNumber`, `parseFloat`, `ToString`, loose and strict
//! equality and relational comparison, over JSON values.

use std::borrow::Cow;

use serde_json::Value;

/// JsonLogic truthiness: JavaScript's, except that an empty array is false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

/// A number as JSON: whole numbers as integers (so `1 + 1` is `2`, not
/// `2.0`); NaN and the infinities, which JSON cannot hold, as `null`.
pub fn number(x: f64) -> Value {
    if !x.is_finite() {
        Value::Null
    } else if x.fract() == 0.0 && x.abs() < 9.007_199_254_740_992e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

/// JavaScript's `Number(string)`: trimmed; empty is 0; otherwise the whole
/// text must be a number.
fn string_to_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16)
            .map(|n| n as f64)
            .unwrap_or(f64::NAN);
    }
    // Rust accepts "inf", "nan" and "1e5"; JavaScript only the last.
    if t.chars()
        .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
    {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// JavaScript's `ToNumber`.
pub fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => string_to_number(s),
        Value::Array(_) => string_to_number(&to_string(v)),
        Value::Object(_) => f64::NAN,
    }
}

/// JavaScript's `parseFloat`: the longest numeric prefix of the value's
/// text; NaN when there is none.
pub fn parse_float(v: &Value) -> f64 {
    if let Value::Number(n) = v {
        return n.as_f64().unwrap_or(f64::NAN);
    }
    let text = to_string(v);
    let s = text.trim_start();
    for inf in ["Infinity", "+Infinity"] {
        if s.starts_with(inf) {
            return f64::INFINITY;
        }
    }
    if s.starts_with("-Infinity") {
        return f64::NEG_INFINITY;
    }
    let bytes = s.as_bytes();
    let mut end = 0;
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut seen_exp = false;
    let mut i = 0;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        i += 1;
    }
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            seen_digit = true;
            i += 1;
            end = i;
        } else if c == b'.' && !seen_dot && !seen_exp {
            seen_dot = true;
            i += 1;
            if seen_digit {
                end = i;
            }
        } else if (c == b'e' || c == b'E') && seen_digit && !seen_exp {
            // An exponent counts only when digits follow it.
            let mut j = i + 1;
            if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                j += 1;
            }
            if j < bytes.len() && bytes[j].is_ascii_digit() {
                seen_exp = true;
                i = j;
            } else {
                break;
            }
        } else {
            break;
        }
    }
    if !seen_digit {
        return f64::NAN;
    }
    s[..end]
        .trim_end_matches('.')
        .parse::<f64>()
        .unwrap_or(f64::NAN)
}

/// How JavaScript prints a number.
pub fn number_text(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if x.fract() == 0.0 && x.abs() < 1e21 {
        format!("{}", x as i128)
    } else {
        format!("{x}")
    }
}

/// JavaScript's `ToString` (arrays joined with commas, `null` and
/// `undefined` elements as empty).
pub fn to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_text(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Null => String::new(),
                other => to_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

fn is_primitive(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// JavaScript's `===` (two arrays or objects are never the same object).
pub fn strict_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// JavaScript's `==`.
pub fn loose_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => strict_equals(a, b),
        (Value::Array(_) | Value::Object(_), Value::Array(_) | Value::Object(_)) => false,
        (Value::Bool(_), _) => loose_equals(&number(to_number(a)), b),
        (_, Value::Bool(_)) => loose_equals(a, &number(to_number(b))),
        (Value::Number(_), Value::String(_)) | (Value::String(_), Value::Number(_)) => {
            to_number(a) == to_number(b)
        }
        // An array or object against a primitive: its text is compared.
        (x, y) if !is_primitive(x) => loose_equals(&Value::String(to_string(x)), y),
        (x, y) => loose_equals(x, &Value::String(to_string(y))),
    }
}

/// JavaScript's `<` (`strict`) or `<=`: two strings compare as text,
/// anything else as numbers (NaN is never less or equal).
pub fn less(a: &Value, b: &Value, or_equal: bool) -> bool {
    if let (Value::Number(x), Value::Number(y)) = (a, b) {
        let (x, y) = (
            x.as_f64().unwrap_or(f64::NAN),
            y.as_f64().unwrap_or(f64::NAN),
        );
        return if or_equal { x <= y } else { x < y };
    }
    fn prim(v: &Value) -> Cow<'_, Value> {
        if is_primitive(v) {
            Cow::Borrowed(v)
        } else {
            Cow::Owned(Value::String(to_string(v)))
        }
    }
    let (pa, pb) = (prim(a), prim(b));
    if let (Value::String(x), Value::String(y)) = (pa.as_ref(), pb.as_ref()) {
        // UTF-16 code-unit order, as JavaScript compares strings.
        let order = x.encode_utf16().cmp(y.encode_utf16());
        return if or_equal {
            order.is_le()
        } else {
            order.is_lt()
        };
    }
    let (x, y) = (to_number(&pa), to_number(&pb));
    if or_equal {
        x <= y
    } else {
        x < y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn javascript_coercions() {
        assert!(!truthy(&json!([])));
        assert!(truthy(&json!("0")));
        assert!(!truthy(&json!(0)));
        assert_eq!(to_number(&json!(" 12 ")), 12.0);
        assert!(to_number(&json!("12px")).is_nan());
        assert_eq!(parse_float(&json!("12px")), 12.0);
        assert_eq!(parse_float(&json!("3.5e2x")), 350.0);
        assert!(parse_float(&json!("x1")).is_nan());
        assert_eq!(to_string(&json!([1, null, "a"])), "1,,a");
        assert_eq!(number_text(3.0), "3");
        assert_eq!(number_text(0.1 + 0.2), "0.30000000000000004");
        assert!(loose_equals(&json!(1), &json!("1")));
        assert!(loose_equals(&json!(0), &json!(false)));
        assert!(!loose_equals(&json!(null), &json!(0)));
        assert!(loose_equals(&json!([1]), &json!(1)));
        assert!(less(&json!(null), &json!(1), false));
        assert!(!less(&json!("b"), &json!("a"), false));
        assert!(less(&json!("11"), &json!(2), false) == (11.0 < 2.0));
        assert_eq!(number(2.0), json!(2));
        assert_eq!(number(f64::NAN), json!(null));
    }
}
