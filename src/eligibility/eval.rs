//! Evaluates a parsed JsonLogic rule against JSON data with json-logic-js's
//! semantics: lazy `if`/`and`/`or`, scoped `map`/`filter`/`reduce`/`all`/
//! `some`/`none`, the 3-argument "between" form of `<` and `<=`, and
//! JavaScript's coercions ([`super::js`]).
//!
//! Departure: NaN and the infinities, which JSON cannot hold, come out as
//! `null`.

use std::borrow::Cow;

use serde_json::{Map, Value};
use smallvec::SmallVec;

use super::facts::{household_slot, member_json, member_slot, Facts, MemberFactSlots};
use super::js::{self, loose_equals, number, parse_float, strict_equals, to_number, truthy};
use super::path::{Step, VarPath};
use super::rule::{Node, Op};

/// What a rule is evaluated against: any JSON, or a household's facts held
/// by slot (and, inside `some`/`all`/… over its members, one member).
#[derive(Debug, Clone, Copy)]
pub enum Data<'a> {
    Json(&'a Value),
    Household(&'a Facts),
    Member(&'a MemberFactSlots),
}

impl<'a> From<&'a Value> for Data<'a> {
    fn from(v: &'a Value) -> Data<'a> {
        Data::Json(v)
    }
}

impl<'a> From<&'a Facts> for Data<'a> {
    fn from(f: &'a Facts) -> Data<'a> {
        Data::Household(f)
    }
}

/// The value of `node` for `data`.
pub fn evaluate<'a>(node: &'a Node, data: impl Into<Data<'a>>) -> Value {
    eval(node, data.into()).into_owned()
}

/// Whether `node` holds for `data` (JsonLogic truthiness), without copying
/// anything the data already holds.
pub fn holds<'a>(node: &'a Node, data: impl Into<Data<'a>>) -> bool {
    test(node, data.into())
}

/// The truthiness of `node`'s value, worked out as a truth value where the
/// operator allows (`and`, `or`, `!`, `some`, comparisons …) instead of
/// building the value: what every eligibility check runs.
fn test<'a>(node: &'a Node, data: Data<'a>) -> bool {
    let Node::Op { op, args } = node else {
        return truthy(&eval(node, data));
    };
    match op {
        // `and` yields its first falsy argument or its last: truthy
        // exactly when all are. `or` likewise.
        Op::And => args.iter().all(|a| test(a, data)),
        Op::Or => args.iter().any(|a| test(a, data)),
        Op::Not => !args.first().is_some_and(|a| test(a, data)),
        Op::Truthy => args.first().is_some_and(|a| test(a, data)),
        Op::If | Op::Ternary => {
            let mut i = 0;
            while i + 1 < args.len() {
                if test(&args[i], data) {
                    return test(&args[i + 1], data);
                }
                i += 2;
            }
            i < args.len() && test(&args[i], data)
        }
        Op::All | Op::Some | Op::None => quantify(*op, args, data),
        op if is_comparison(*op) => compare(*op, args, data),
        _ => truthy(&eval(node, data)),
    }
}

/// The value of `node` for `data`, borrowed from the rule or the data
/// where it can be (a `var` of a members list is not copied).
pub fn eval<'a>(node: &'a Node, data: Data<'a>) -> Cow<'a, Value> {
    match node {
        Node::Literal(v) => Cow::Borrowed(v),
        Node::Path(p) => Cow::Borrowed(&p.name),
        Node::Array(items) => Cow::Owned(Value::Array(
            items.iter().map(|n| eval(n, data).into_owned()).collect(),
        )),
        Node::Op { op: Op::Var, args } => var(args, data),
        Node::Op { op, args } if is_comparison(*op) => owned(Value::Bool(compare(*op, args, data))),
        Node::Op {
            op: op @ (Op::All | Op::Some | Op::None),
            args,
        } => owned(Value::Bool(quantify(*op, args, data))),
        Node::Op { op, args } => operation(*op, args, data),
    }
}

/// `var`: a path, a default for a missing value.
fn var<'a>(args: &'a [Node], data: Data<'a>) -> Cow<'a, Value> {
    let found = match args.first() {
        Some(Node::Path(p)) => lookup(data, p),
        Some(name) => lookup(data, &VarPath::parse(&eval(name, data))),
        None => lookup(data, &VarPath::parse(&Value::Null)),
    };
    match found {
        Some(v) => v,
        None => match args.get(1) {
            Some(d) => owned(eval(d, data).into_owned()),
            None => owned(Value::Null),
        },
    }
}

fn is_comparison(op: Op) -> bool {
    matches!(
        op,
        Op::Equal
            | Op::StrictEqual
            | Op::NotEqual
            | Op::StrictNotEqual
            | Op::Less
            | Op::LessOrEqual
            | Op::Greater
            | Op::GreaterOrEqual
            | Op::In
    )
}

/// A comparison (or `in`) of two arguments, or three for between.
fn compare<'a>(op: Op, args: &'a [Node], data: Data<'a>) -> bool {
    let null = Value::Null;
    let operand = |i: usize| match args.get(i) {
        Some(n) => eval(n, data),
        None => Cow::Borrowed(&null),
    };
    let (a, b) = (operand(0), operand(1));
    let (a, b) = (a.as_ref(), b.as_ref());
    match op {
        Op::Equal => loose_equals(a, b),
        Op::StrictEqual => strict_equals(a, b),
        Op::NotEqual => !loose_equals(a, b),
        Op::StrictNotEqual => !strict_equals(a, b),
        Op::Less | Op::LessOrEqual => {
            let or_equal = op == Op::LessOrEqual;
            js::less(a, b, or_equal)
                && (args.len() < 3 || js::less(b, operand(2).as_ref(), or_equal))
        }
        Op::Greater => js::less(b, a, false),
        Op::GreaterOrEqual => js::less(b, a, true),
        Op::In => match b {
            Value::String(s) => s.contains(&js::to_string(a)),
            Value::Array(items) => items.iter().any(|i| strict_equals(i, a)),
            _ => false,
        },
        _ => false,
    }
}

/// `all`, `some` and `none` over a list.
fn quantify<'a>(op: Op, args: &'a [Node], data: Data<'a>) -> bool {
    let items = Items::of(args.first(), data);
    let n = items.len();
    let Some(logic) = args.get(1) else {
        return op == Op::None;
    };
    let pass = |i: usize| test(logic, items.scope(i));
    match op {
        Op::All => n > 0 && (0..n).all(pass),
        Op::Some => (0..n).any(pass),
        _ => !(0..n).any(pass),
    }
}

/// Follows `steps` down from `current`.
fn walk<'a>(mut current: &'a Value, steps: &[Step]) -> Option<Cow<'a, Value>> {
    for step in steps {
        current = match current {
            Value::Object(map) => map.get(&step.key)?,
            Value::Array(items) => items.get(step.index?)?,
            Value::String(s) => {
                // "abc".1 is "b" in JavaScript.
                let c = s.encode_utf16().nth(step.index?)?;
                return Some(Cow::Owned(Value::String(String::from_utf16_lossy(&[c]))));
            }
            _ => return None,
        };
    }
    Some(Cow::Borrowed(current))
}

fn member_lookup<'a>(slots: &'a MemberFactSlots, steps: &[Step]) -> Option<Cow<'a, Value>> {
    match steps.split_first() {
        None => Some(Cow::Owned(member_json(slots))),
        Some((first, rest)) => walk(&slots[first.member?], rest),
    }
}

/// `var`: the value at `path` in `data` (`None` when there is none).
pub fn lookup<'a>(data: Data<'a>, path: &VarPath) -> Option<Cow<'a, Value>> {
    match data {
        Data::Json(v) => walk(v, &path.steps),
        Data::Member(slots) => member_lookup(slots, &path.steps),
        Data::Household(f) => match path.steps.split_first() {
            None => Some(Cow::Owned(f.to_json())),
            Some((first, rest)) => match first.household {
                Some(slot) => walk(&f.household[slot], rest),
                None if first.key == "members" => match rest.split_first() {
                    None => Some(Cow::Owned(f.members_json())),
                    Some((i, rest)) => member_lookup(f.members.get(i.index?)?, rest),
                },
                None => None,
            },
        },
    }
}

/// The value of the fact `name` (a dotted path) in `data` (`null` when
/// missing).
pub fn fact<'a>(data: impl Into<Data<'a>>, name: &str) -> Value {
    let data = data.into();
    if !name.is_empty() && !name.contains('.') {
        let found = match data {
            Data::Json(v) => v.as_object().and_then(|o| o.get(name)),
            Data::Household(f) => household_slot(name).map(|i| &f.household[i]),
            Data::Member(m) => member_slot(name).map(|i| &m[i]),
        };
        if let Some(v) = found {
            return v.clone();
        }
    }
    lookup(data, &VarPath::parse(&Value::String(name.into())))
        .map(Cow::into_owned)
        .unwrap_or(Value::Null)
}

/// The keys among `keys` whose value is missing, `null` or `""`.
fn missing(keys: &[Value], data: Data<'_>) -> Vec<Value> {
    keys.iter()
        .filter(|k| match lookup(data, &VarPath::parse(k)) {
            None => true,
            Some(v) => matches!(v.as_ref(), Value::Null) || v.as_ref() == "",
        })
        .cloned()
        .collect()
}

/// The list `some`/`map`/… iterate over: a household's members by slot,
/// or the items of a JSON array.
enum Items<'a> {
    Members(&'a [MemberFactSlots]),
    Json(Cow<'a, [Value]>),
}

impl<'a> Items<'a> {
    fn of(node: Option<&'a Node>, data: Data<'a>) -> Items<'a> {
        if let (Data::Household(f), Some(Node::Op { op: Op::Var, args })) = (data, node) {
            if let [Node::Path(p)] = args.as_slice() {
                if p.is_members() {
                    return Items::Members(&f.members);
                }
            }
        }
        let scoped = match node {
            Some(a) => eval(a, data),
            None => Cow::Owned(Value::Null),
        };
        match scoped {
            Cow::Borrowed(Value::Array(items)) => Items::Json(Cow::Borrowed(items.as_slice())),
            Cow::Owned(Value::Array(items)) => Items::Json(Cow::Owned(items)),
            _ => Items::Json(Cow::Borrowed(&[])),
        }
    }

    fn len(&self) -> usize {
        match self {
            Items::Members(m) => m.len(),
            Items::Json(items) => items.len(),
        }
    }

    fn scope(&self, i: usize) -> Data<'_> {
        match self {
            Items::Members(m) => Data::Member(&m[i]),
            Items::Json(items) => Data::Json(&items[i]),
        }
    }

    fn value(&self, i: usize) -> Value {
        match self {
            Items::Members(m) => member_json(&m[i]),
            Items::Json(items) => items[i].clone(),
        }
    }
}

fn owned(v: Value) -> Cow<'static, Value> {
    Cow::Owned(v)
}

fn operation<'a>(op: Op, args: &'a [Node], data: Data<'a>) -> Cow<'a, Value> {
    // The operators that decide which arguments to evaluate, or evaluate
    // them against other data.
    match op {
        Op::If | Op::Ternary => {
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
        Op::And => {
            let mut current = owned(Value::Null);
            for a in args {
                current = eval(a, data);
                if !truthy(&current) {
                    return current;
                }
            }
            return current;
        }
        Op::Or => {
            let mut current = owned(Value::Null);
            for a in args {
                current = eval(a, data);
                if truthy(&current) {
                    return current;
                }
            }
            return current;
        }
        Op::Filter | Op::Map => {
            let items = Items::of(args.first(), data);
            let logic = args.get(1);
            let test = |i: usize| logic.is_some_and(|l| test(l, items.scope(i)));
            let n = items.len();
            return owned(match op {
                Op::Map => Value::Array(
                    (0..n)
                        .map(|i| {
                            logic
                                .map(|l| eval(l, items.scope(i)).into_owned())
                                .unwrap_or(Value::Null)
                        })
                        .collect(),
                ),
                _ => Value::Array(
                    (0..n)
                        .filter(|i| test(*i))
                        .map(|i| items.value(i))
                        .collect(),
                ),
            });
        }
        Op::Reduce => {
            let initial = args
                .get(2)
                .map(|a| eval(a, data).into_owned())
                .unwrap_or(Value::Null);
            let items = Items::of(args.first(), data);
            let Some(logic) = args.get(1) else {
                return owned(initial);
            };
            return owned((0..items.len()).fold(initial, |accumulator, i| {
                let mut scope = Map::new();
                scope.insert("current".into(), items.value(i));
                scope.insert("accumulator".into(), accumulator);
                evaluate(logic, &Value::Object(scope))
            }));
        }
        _ => {}
    }
    let values: SmallVec<[Cow<'a, Value>; 3]> = args.iter().map(|a| eval(a, data)).collect();
    let null = Value::Null;
    let arg = |i: usize| values.get(i).map(|v| v.as_ref()).unwrap_or(&null);
    owned(match op {
        Op::Missing => {
            let keys: Vec<Value> = match values.first().map(|v| v.as_ref()) {
                Some(Value::Array(keys)) => keys.clone(),
                _ => values.iter().map(|v| v.as_ref().clone()).collect(),
            };
            Value::Array(missing(&keys, data))
        }
        Op::MissingSome => {
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
        Op::Not => Value::Bool(!truthy(arg(0))),
        Op::Truthy => Value::Bool(truthy(arg(0))),
        Op::Cat => Value::String(values.iter().map(|v| js::to_string(v)).collect()),
        Op::Substr => substr(arg(0), arg(1), values.get(2).map(|v| v.as_ref())),
        Op::Merge => {
            let mut out = Vec::new();
            for v in values {
                match v.into_owned() {
                    Value::Array(items) => out.extend(items),
                    other => out.push(other),
                }
            }
            Value::Array(out)
        }
        Op::Add => number(values.iter().map(|v| parse_float(v)).sum()),
        Op::Multiply => number(values.iter().map(|v| parse_float(v)).product()),
        Op::Subtract => {
            if values.len() == 1 {
                number(-to_number(arg(0)))
            } else {
                number(to_number(arg(0)) - to_number(arg(1)))
            }
        }
        Op::Divide => number(to_number(arg(0)) / to_number(arg(1))),
        Op::Modulo => number(to_number(arg(0)) % to_number(arg(1))),
        Op::Min | Op::Max => {
            let nums: Vec<f64> = values.iter().map(|v| to_number(v)).collect();
            if nums.iter().any(|x| x.is_nan()) {
                return owned(Value::Null);
            }
            let pick = if op == Op::Min { f64::min } else { f64::max };
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

    /// Facts by slot give exactly what the same facts as JSON give, for
    /// every demo rule and for paths, whole-data and list operations.
    #[test]
    fn slots_agree_with_json() {
        use crate::eligibility::facts::{derive, FactsInput, MemberFacts};
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let mut input = FactsInput {
            region: "310118-003-012".into(),
            ..Default::default()
        };
        input.profile.hukou_local = Some(true);
        input.profile.status = vec!["dibao".into()];
        input.profile.monthly.medical_expense = Some(2500.0);
        input.members = vec![
            MemberFacts {
                name: "张建国".into(),
                relation: "self".into(),
                birth_date: chrono::NaiveDate::from_ymd_opt(1944, 3, 1),
                health: vec!["chronic".into(), "serious_illness".into()],
                income_monthly: Some(1800.0),
                ..Default::default()
            },
            MemberFacts {
                name: "张小明".into(),
                relation: "grandchild".into(),
                age: Some(9),
                disability_grade: 2,
                disability_type: Some("intellectual".into()),
                student_stage: Some("primary".into()),
                ..Default::default()
            },
        ];
        let facts = derive(&input, day);
        let json = facts.to_json();
        let demo: Vec<Value> =
            serde_json::from_str(include_str!("../demo/resources.json")).unwrap();
        let mut rules: Vec<Value> = demo
            .iter()
            .map(|r| r["eligibility"].clone())
            .filter(|r| !r.is_null())
            .collect();
        rules.extend([
            json!({"var": "members.0.age"}),
            json!({"var": "members.1"}),
            json!({"var": "members.5.age"}),
            json!({"var": "members.x"}),
            json!({"var": "members"}),
            json!({"var": ""}),
            json!({"var": ["nothing", "默认"]}),
            json!({"var": "region.1"}),
            json!({"var": "status.0"}),
            json!({"var": {"cat": ["income", "_total"]}}),
            json!({"filter": [{"var": "members"}, {">=": [{"var": "age"}, 60]}]}),
            json!({"map": [{"var": "members"}, {"var": "health"}]}),
            json!({"map": [{"var": "members"}, {"var": ""}]}),
            json!({"reduce": [{"var": "members"}, {"+": [{"var": "accumulator"}, {"var": "current.age"}]}, 0]}),
            json!({"all": [{"var": "members"}, {"var": "name"}]}),
            json!({"none": [{"var": "status"}, {"==": [{"var": ""}, "tekun"]}]}),
            json!({"missing": ["hukou_local", "housing_owned", "members.0.sex", "nothing"]}),
            json!({"missing_some": [1, ["rent_monthly", "size"]]}),
            json!({"in": ["intellectual", [{"var": "members.1.disability_type"}, "mental"]]}),
        ]);
        for rule in rules {
            let parsed = crate::eligibility::JsonLogicRule::parse(&rule).unwrap();
            assert_eq!(
                evaluate(parsed.root(), &facts),
                evaluate(parsed.root(), &json),
                "{rule}"
            );
            let value = evaluate(parsed.root(), &json);
            assert_eq!(holds(parsed.root(), &facts), truthy(&value), "{rule}");
        }
    }
}
