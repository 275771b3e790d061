//! The official JsonLogic test suite (`tests/jsonlogic/tests.json`, from
//! json-logic-js, MIT licence): every case passes except the alias
//! operators only this copy defines (`add`, `equal`, … — not JsonLogic
//! operators, so aidmatch refuses them when a rule is saved).

use aidmatch::eligibility::eval::{evaluate, holds};
use aidmatch::eligibility::js::truthy;
use aidmatch::eligibility::JsonLogicRule;
use serde_json::Value;

/// Operators of this copy of the suite that are not part of JsonLogic.
const ALIASES: &[&str] = &[
    "equal",
    "strictEqual",
    "notEqual",
    "strictNotEqual",
    "greater",
    "greaterOrEqual",
    "less",
    "lessOrEqual",
    "booleanCasting",
    "not",
    "modulo",
    "add",
    "multiply",
    "substract",
    "divide",
];

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn alias_case(rule: &Value) -> bool {
    rule.as_object()
        .and_then(|o| o.keys().next())
        .is_some_and(|k| ALIASES.contains(&k.as_str()))
}

#[test]
fn the_official_suite_passes() {
    let suite: Vec<Value> =
        serde_json::from_str(include_str!("jsonlogic/tests.json")).expect("suite parses");
    let (mut passed, mut skipped, mut failures) = (0, 0, Vec::new());
    for case in &suite {
        let Value::Array(parts) = case else {
            continue; // a section heading
        };
        let (rule, data, expected) = (&parts[0], &parts[1], &parts[2]);
        if alias_case(rule) {
            skipped += 1;
            continue;
        }
        let parsed = match JsonLogicRule::parse(rule) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{rule} does not parse: {e}"));
                continue;
            }
        };
        let got = evaluate(parsed.root(), data);
        if same(&got, expected) {
            passed += 1;
        } else {
            failures.push(format!(
                "{rule} with {data}: expected {expected}, got {got}"
            ));
        }
        // Eligibility checks take the truth-value path: it must agree.
        if holds(parsed.root(), data) != truthy(expected) {
            failures.push(format!(
                "{rule} with {data}: holds() disagrees with the truthiness of {expected}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        passed + failures.len(),
        failures.join("\n")
    );
    assert_eq!(skipped, ALIASES.len(), "one case per alias operator");
    assert!(passed >= 275, "only {passed} cases ran");
}
