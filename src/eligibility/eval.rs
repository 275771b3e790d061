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
    eval(node, data).into_owned()
}

/// Whether `node` holds for `data` (JsonLogic truthiness), without copying
/// anything the data already holds.
pub fn holds(node: &Node, data: &Value) -> bool {
    truthy(&eval(node, data))
}

/// The value of `node` for `data`, borrowed from the rule or the data
/// where it can be (a `var` of a members list is not copied).
pub fn eval<'a>(node: &'a Node, data: &'a Value) -> Cow<'a, Value> {
    match node {
        Node::Literal(v) => Cow::Borrowed(v),
        Node::Array(items) => Cow::Owned(Value::Array(
            items.iter().map(|n| eval(n, data).into_owned()).collect(),
        )),
        Node::Op { op, args } => operation(op, args, data),
    }
}

/// `var`: a dotted path into the data (`""` or `null`: the data itself),
/// with an optional default for a missing value.
pub fn lookup<'a>(data: &'a Value, path: &Value) -> Option<Cow<'a, Value>> {
    let path = match path {
        Value::Null => return Some(Cow::Borrowed(data)),
        Value::String(s) if s.is_empty() => return Some(Cow::Borrowed(data)),
        Value::String(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(js::to_string(other)),
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

/// The items of an array value, borrowed or owned as the value was.
fn items_of(v: Cow<'_, Value>) -> Option<Cow<'_, [Value]>> {
    match v {
        Cow::Borrowed(Value::Array(items)) => Some(Cow::Borrowed(items.as_slice())),
        Cow::Owned(Value::Array(items)) => Some(Cow::Owned(items)),
        _ => None,
    }
}

fn owned(v: Value) -> Cow<'static, Value> {
    Cow::Owned(v)
}

fn operation<'a>(op: &str, args: &'a [Node], data: &'a Value) -> Cow<'a, Value> {
    // The operators that decide which arguments to evaluate, or evaluate
    // them against other data.
    match op {
        "if" | "?:" => {
            let mut i = 0;
            while i + 1 < args.len() {
                if truthy(&eval(&args[i], data)) {
                    return eval(&args[i + 1], data);
                }
                i += 2;
            }
            return if i < args.len() {
                eval(&args[i], data)
            } else {
                owned(Value::Null)
            };
        }
        "and" => {
            let mut current = owned(Value::Null);
            for a in args {
                current = eval(a, data);
                if !truthy(&current) {
                    return current;
                }
            }
            return current;
        }
        "or" => {
            let mut current = owned(Value::Null);
            for a in args {
                current = eval(a, data);
                if truthy(&current) {
                    return current;
                }
            }
            return current;
        }
        "filter" | "map" | "all" | "some" | "none" => {
            let scoped = match args.first() {
                Some(a) => eval(a, data),
                None => owned(Value::Null),
            };
            let logic = args.get(1);
            let items = items_of(scoped);
            let test = |item: &Value| logic.is_some_and(|l| holds(l, item));
            let list: &[Value] = items.as_deref().unwrap_or(&[]);
            return owned(match op {
                "map" => Value::Array(
                    list.iter()
                        .map(|item| logic.map(|l| evaluate(l, item)).unwrap_or(Value::Null))
                        .collect(),
                ),
                "filter" => Value::Array(list.iter().filter(|i| test(i)).cloned().collect()),
                "all" => Value::Bool(!list.is_empty() && list.iter().all(test)),
                "some" => Value::Bool(list.iter().any(test)),
                _ => Value::Bool(!list.iter().any(test)),
            });
        }
        "reduce" => {
            let initial = args
                .get(2)
                .map(|a| evaluate(a, data))
                .unwrap_or(Value::Null);
            let scoped = match args.first() {
                Some(a) => eval(a, data),
                None => owned(Value::Null),
            };
            let (Some(items), Some(logic)) = (items_of(scoped), args.get(1)) else {
                return owned(initial);
            };
            return owned(items.iter().fold(initial, |accumulator, current| {
                let mut scope = Map::new();
                scope.insert("current".into(), current.clone());
                scope.insert("accumulator".into(), accumulator);
                evaluate(logic, &Value::Object(scope))
            }));
        }
        "var" => {
            let path = match args.first() {
                Some(a) => eval(a, data),
                None => owned(Value::Null),
            };
            return match lookup(data, &path) {
                Some(Cow::Borrowed(v)) => Cow::Borrowed(v),
                Some(Cow::Owned(v)) => owned(v),
                None => match args.get(1) {
                    Some(d) => owned(evaluate(d, data)),
                    None => owned(Value::Null),
                },
            };
        }
        _ => {}
    }
    let values: Vec<Cow<'a, Value>> = args.iter().map(|a| eval(a, data)).collect();
    let null = Value::Null;
    let arg = |i: usize| values.get(i).map(|v| v.as_ref()).unwrap_or(&null);
    owned(match op {
        "missing" => {
            let keys: Vec<Value> = match values.first().map(|v| v.as_ref()) {
                Some(Value::Array(keys)) => keys.clone(),
                _ => values.iter().map(|v| v.as_ref().clone()).collect(),
            };
            Value::Array(missing(&keys, data))
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
        "cat" => Value::String(values.iter().map(|v| js::to_string(v)).collect()),
        "substr" => substr(arg(0), arg(1), values.get(2).map(|v| v.as_ref())),
        "merge" => {
            let mut out = Vec::new();
            for v in values {
                match v.into_owned() {
                    Value::Array(items) => out.extend(items),
                    other => out.push(other),
                }
            }
            Value::Array(out)
        }
        "+" => number(values.iter().map(|v| parse_float(v)).sum()),
        "*" => number(values.iter().map(|v| parse_float(v)).product()),
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
            let nums: Vec<f64> = values.iter().map(|v| to_number(v)).collect();
            if nums.iter().any(|x| x.is_nan()) {
                return owned(Value::Null);
            }
            let pick = if op == "min" { f64::min } else { f64::max };
            nums.into_iter()
                .reduce(pick)
                .map(number)
                .unwrap_or(Value::Null)
        }
        _ => Value::Null,
    })
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
