//! Evaluates a parsed JsonLogic rule against JSON data with json-logic-js's
//! semantics: lazy `if`/`and`/`or`, scoped `map`/`filter`/`reduce`/`all`/
//! `some`/`none`, the 3-argument "between" form of `<` and `<=`, and
//! JavaScript's coercions ([`super::js`]).
//!
//! Departure: NaN and the infinities, which JSON cannot hold, come out as
//! `null`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::js::{self, loose_equals, number, parse_float, strict_equals, to_number, truthy};
use super::rule::Node;

/// The value of `node` for `data`.
pub fn evaluate(node: &Node, data: &Value) -> Value {
    match node {
        Node::Literal(v) => v.clone(),
        Node::Array(items) => Value::Array(items.iter().map(|n| evaluate(n, data)).collect()),
        Node::Op { op, args } => operation(op, args, data),
    }
}

/// `var`: a dotted path into the data (`""` or `null`: the data itself),
/// with an optional default for a missing value.
pub fn lookup<'a>(data: &'a Value, path: &Value) -> Option<Cow<'a, Value>> {
    let path = match path {
        Value::Null => return Some(Cow::Borrowed(data)),
        Value::String(s) if s.is_empty() => return Some(Cow::Borrowed(data)),
        other => js::to_string(other),
    };
    let mut current = data;
    for part in path.split('.') {
        current = match current {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            Value::String(s) => {
                // "abc".1 is "b" in JavaScript.
                let i = part.parse::<usize>().ok()?;
                let c = s.encode_utf16().nth(i)?;
                return Some(Cow::Owned(Value::String(String::from_utf16_lossy(&[c]))));
            }
            _ => return None,
        };
    }
    Some(Cow::Borrowed(current))
}

fn var(args: &[Value], data: &Value) -> Value {
    let default = args.get(1).cloned().unwrap_or(Value::Null);
    match lookup(data, args.first().unwrap_or(&Value::Null)) {
        Some(v) => v.into_owned(),
        None => default,
    }
}

/// The keys among `keys` whose value is missing, `null` or `""`.
fn missing(keys: &[Value], data: &Value) -> Vec<Value> {
    keys.iter()
        .filter(|k| match lookup(data, k) {
            None => true,
            Some(v) => matches!(v.as_ref(), Value::Null) || v.as_ref() == "",
        })
        .cloned()
        .collect()
}

fn array_of(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

fn operation(op: &str, args: &[Node], data: &Value) -> Value {
    // The operators that decide which arguments to evaluate, or evaluate
    // them against other data.
    match op {
        "if" | "?:" => {
            let mut i = 0;
            while i + 1 < args.len() {
                if truthy(&evaluate(&args[i], data)) {
                    return evaluate(&args[i + 1], data);
                }
                i += 2;
            }
            return if i < args.len() {
                evaluate(&args[i], data)
            } else {
                Value::Null
            };
        }
        "and" => {
            let mut current = Value::Null;
            for a in args {
                current = evaluate(a, data);
                if !truthy(&current) {
                    return current;
                }
            }
            return current;
        }
        "or" => {
            let mut current = Value::Null;
            for a in args {
                current = evaluate(a, data);
                if truthy(&current) {
                    return current;
                }
            }
            return current;
        }
        "filter" | "map" | "all" | "some" | "none" => {
            let scoped = args
                .first()
                .map(|a| evaluate(a, data))
                .unwrap_or(Value::Null);
            let logic = args.get(1);
            let items = array_of(scoped);
            let test = |item: &Value| logic.is_some_and(|l| truthy(&evaluate(l, item)));
            return match op {
                "map" => Value::Array(
                    items
                        .unwrap_or_default()
                        .iter()
                        .map(|item| logic.map(|l| evaluate(l, item)).unwrap_or(Value::Null))
                        .collect(),
                ),
                "filter" => Value::Array(
                    items
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|item| test(item))
                        .collect(),
                ),
                "all" => match items {
                    Some(items) if !items.is_empty() => Value::Bool(items.iter().all(test)),
                    _ => Value::Bool(false),
                },
                "some" => Value::Bool(items.unwrap_or_default().iter().any(test)),
                _ => Value::Bool(!items.unwrap_or_default().iter().any(test)),
            };
        }
        "reduce" => {
            let scoped = args
                .first()
                .map(|a| evaluate(a, data))
                .unwrap_or(Value::Null);
            let initial = args
                .get(2)
                .map(|a| evaluate(a, data))
                .unwrap_or(Value::Null);
            let Some(items) = array_of(scoped) else {
                return initial;
            };
            let Some(logic) = args.get(1) else {
                return initial;
            };
            return items.into_iter().fold(initial, |accumulator, current| {
                let mut scope = Map::new();
                scope.insert("current".into(), current);
                scope.insert("accumulator".into(), accumulator);
                evaluate(logic, &Value::Object(scope))
            });
        }
        _ => {}
    }
    let values: Vec<Value> = args.iter().map(|a| evaluate(a, data)).collect();
    let arg = |i: usize| values.get(i).unwrap_or(&Value::Null);
    match op {
        "var" => var(&values, data),
        "missing" => {
            let keys: &[Value] = match values.first() {
                Some(Value::Array(keys)) => keys,
                _ => &values,
            };
            Value::Array(missing(keys, data))
        }
        "missing_some" => {
            let need = to_number(arg(0));
            let options = match arg(1) {
                Value::Array(o) => o.as_slice(),
                _ => &[],
            };
            let absent = missing(options, data);
            if (options.len() - absent.len()) as f64 >= need {
                Value::Array(Vec::new())
            } else {
                Value::Array(absent)
            }
        }
        "==" => Value::Bool(loose_equals(arg(0), arg(1))),
        "===" => Value::Bool(strict_equals(arg(0), arg(1))),
        "!=" => Value::Bool(!loose_equals(arg(0), arg(1))),
        "!==" => Value::Bool(!strict_equals(arg(0), arg(1))),
        "<" | "<=" => {
            let or_equal = op == "<=";
            let first = js::less(arg(0), arg(1), or_equal);
            if values.len() == 3 {
                Value::Bool(first && js::less(arg(1), arg(2), or_equal))
            } else {
                Value::Bool(first)
            }
        }
        ">" => Value::Bool(js::less(arg(1), arg(0), false)),
        ">=" => Value::Bool(js::less(arg(1), arg(0), true)),
        "!" => Value::Bool(!truthy(arg(0))),
        "!!" => Value::Bool(truthy(arg(0))),
        "in" => match arg(1) {
            Value::String(s) => Value::Bool(s.contains(&js::to_string(arg(0)))),
            Value::Array(items) => Value::Bool(items.iter().any(|i| strict_equals(i, arg(0)))),
            _ => Value::Bool(false),
        },
        "cat" => Value::String(values.iter().map(js::to_string).collect()),
        "substr" => substr(arg(0), arg(1), values.get(2)),
        "merge" => {
            let mut out = Vec::new();
            for v in values {
                match v {
                    Value::Array(items) => out.extend(items),
                    other => out.push(other),
                }
            }
            Value::Array(out)
        }
        "+" => number(values.iter().map(parse_float).sum()),
        "*" => number(values.iter().map(parse_float).product()),
        "-" => {
            if values.len() == 1 {
                number(-to_number(arg(0)))
            } else {
                number(to_number(arg(0)) - to_number(arg(1)))
            }
        }
        "/" => number(to_number(arg(0)) / to_number(arg(1))),
        "%" => number(to_number(arg(0)) % to_number(arg(1))),
        "min" | "max" => {
            let nums: Vec<f64> = values.iter().map(to_number).collect();
            if nums.iter().any(|x| x.is_nan()) {
                return Value::Null;
            }
            let pick = if op == "min" { f64::min } else { f64::max };
            nums.into_iter()
                .reduce(pick)
                .map(number)
                .unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

/// JavaScript's `substr(start, length)`; a negative length drops that many
/// characters from the end.
fn substr(source: &Value, start: &Value, length: Option<&Value>) -> Value {
    let units: Vec<u16> = js::to_string(source).encode_utf16().collect();
    let len = units.len() as i64;
    let start = to_number(start);
    let start = if start.is_nan() { 0 } else { start as i64 };
    let from = if start < 0 {
        (len + start).max(0)
    } else {
        start.min(len)
    };
    let rest = &units[from as usize..];
    let take = match length.map(to_number) {
        None => rest.len() as i64,
        Some(l) if l.is_nan() => 0,
        Some(l) if l < 0.0 => (rest.len() as i64 + l as i64).max(0),
        Some(l) => (l as i64).min(rest.len() as i64),
    };
    Value::String(String::from_utf16_lossy(&rest[..take as usize]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eligibility::JsonLogicRule;
    use serde_json::json;

    fn run(rule: Value, data: Value) -> Value {
        evaluate(JsonLogicRule::parse(&rule).unwrap().root(), &data)
    }

    #[test]
    fn household_rules() {
        let rule = json!({"and": [{"==": [{"var": "hukou_local"}, true]},
                                   {"<": [{"var": "income_per_capita"}, 1510]}]});
        assert_eq!(
            run(
                rule.clone(),
                json!({"hukou_local": true, "income_per_capita": 1200})
            ),
            json!(true)
        );
        assert_eq!(
            run(
                rule.clone(),
                json!({"hukou_local": true, "income_per_capita": 1510})
            ),
            json!(false)
        );
        let elderly = json!({"some": [{"var": "members"}, {">=": [{"var": "age"}, 80]}]});
        assert_eq!(
            run(
                elderly.clone(),
                json!({"members": [{"age": 79}, {"age": 80}]})
            ),
            json!(true)
        );
        assert_eq!(
            run(elderly, json!({"members": [{"age": 79}]})),
            json!(false)
        );
        assert_eq!(
            run(json!({"<": [1, {"var": "x"}, 3]}), json!({"x": 2})),
            json!(true)
        );
        assert_eq!(
            run(json!({"<=": [1, {"var": "x"}, 3]}), json!({"x": 3})),
            json!(true)
        );
        assert_eq!(
            run(json!({"substr": ["救助顾问", -2]}), json!({})),
            json!("顾问")
        );
    }
}
