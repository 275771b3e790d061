//! Why a rule holds or fails for a household, in Chinese built from the
//! fact names and values ("家庭月人均收入 1620 元，高于 1510 元"); and the
//! near miss — a rule that fails on exactly one of its conditions.
//!
//! A rule's conditions are the arguments of its top-level `and` (nested
//! `and`s flattened), or the rule itself. Each is evaluated on its own and
//! described from its shape; a shape not recognised is described
//! generically.

use serde::Serialize;
use serde_json::Value;
use smallvec::SmallVec;

use super::eval::{self, eval, fact, holds, Data};
use super::facts::label;
use super::js;
use super::rule::{JsonLogicRule, Node, Op};
use crate::domain::vocabulary::{
    self, DISABILITY_TYPES, EMPLOYMENT, HEALTH_TAGS, RELATIONS, SEXES, STUDENT_STAGES,
    TARGET_GROUPS,
};
use crate::privacy::mask;

/// One condition of a rule, described, and whether it held.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Condition {
    pub text: String,
    pub held: bool,
}

/// A rule's result for one household's facts.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub eligible: bool,
    pub conditions: Vec<Condition>,
}

impl Outcome {
    pub fn failed(&self) -> impl Iterator<Item = &Condition> {
        self.conditions.iter().filter(|c| !c.held)
    }

    /// The one condition that failed, when exactly one did.
    pub fn near_miss(&self) -> Option<&Condition> {
        let mut failed = self.failed();
        match (self.eligible, failed.next(), failed.next()) {
            (false, Some(one), None) => Some(one),
            _ => None,
        }
    }

    /// The texts of the conditions that held (the reasons of an eligible result).
    pub fn reasons(&self) -> Vec<String> {
        self.conditions.iter().map(|c| c.text.clone()).collect()
    }
}

/// Evaluates `rule` on `facts` and explains every condition.
pub fn explain<'a>(rule: &'a JsonLogicRule, facts: impl Into<Data<'a>>) -> Outcome {
    let facts = facts.into();
    let held: Vec<bool> = rule.conditions().iter().map(|c| holds(c, facts)).collect();
    word(rule, facts, &held)
}

/// The truth of a rule's conditions, each evaluated once, stopping at the
/// second failure: enough to tell an eligible result and a near miss
/// (the ones worth wording) from the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether each condition held, up to the second failed one.
    pub held: SmallVec<[bool; 8]>,
    /// Failed conditions, counted no further than two.
    pub failed: usize,
}

impl Verdict {
    /// Every condition held (an `and` holds exactly when all its parts do).
    pub fn eligible(&self) -> bool {
        self.failed == 0
    }

    /// Exactly one condition failed.
    pub fn near_miss(&self) -> bool {
        self.failed == 1
    }

    /// The outcome in words; `None` when two or more conditions failed.
    pub fn word<'a>(&self, rule: &'a JsonLogicRule, facts: impl Into<Data<'a>>) -> Option<Outcome> {
        (self.failed < 2).then(|| word(rule, facts.into(), &self.held))
    }
}

/// Judges `rule` on `facts` without wording anything.
pub fn judge<'a>(rule: &'a JsonLogicRule, facts: impl Into<Data<'a>>) -> Verdict {
    let facts = facts.into();
    let mut verdict = Verdict {
        held: SmallVec::new(),
        failed: 0,
    };
    for c in rule.conditions() {
        let held = holds(c, facts);
        verdict.held.push(held);
        if !held {
            verdict.failed += 1;
            if verdict.failed == 2 {
                break;
            }
        }
    }
    verdict
}

/// Words each condition of `rule` whose truth `held` gives.
fn word(rule: &JsonLogicRule, facts: Data<'_>, held: &[bool]) -> Outcome {
    let conditions: Vec<Condition> = rule
        .conditions()
        .iter()
        .zip(held)
        .map(|(node, &held)| Condition {
            text: describe(node, facts, held),
            held,
        })
        .collect();
    Outcome {
        eligible: conditions.len() == rule.conditions().len() && conditions.iter().all(|c| c.held),
        conditions,
    }
}

/// The name of a plain `{"var": "name"}`.
fn var_name(node: &Node) -> Option<String> {
    node.var_name().map(str::to_string)
}

fn literal(node: &Node) -> Option<&Value> {
    match node {
        Node::Literal(v) => Some(v),
        _ => None,
    }
}

/// A list of literals (`["mental", "intellectual"]`, parsed as an array
/// of rules).
fn literal_list(node: &Node) -> Option<Vec<Value>> {
    match node {
        Node::Literal(Value::Array(items)) => Some(items.clone()),
        Node::Array(items) => items.iter().map(|i| literal(i).cloned()).collect(),
        _ => None,
    }
}

fn code_label(fact: &str, code: &str) -> String {
    let table: &[(&str, &str)] = match fact {
        "employment" => EMPLOYMENT,
        "student_stage" => STUDENT_STAGES,
        "sex" => SEXES,
        "disability_type" => DISABILITY_TYPES,
        "health" => HEALTH_TAGS,
        "relation" => RELATIONS,
        "status" => TARGET_GROUPS,
        _ => return code.to_string(),
    };
    vocabulary::label(table, code).to_string()
}

/// A value in words: numbers plainly, yes/no, codes by their labels.
fn show(fact: &str, v: &Value) -> String {
    match v {
        Value::Null => "未登记".into(),
        Value::Bool(true) => "是".into(),
        Value::Bool(false) => "否".into(),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if x.fract() == 0.0 {
                js::number_text(x)
            } else {
                let t = format!("{x:.2}");
                t.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        }
        Value::String(s) => code_label(fact, s),
        Value::Array(items) if items.is_empty() => "无".into(),
        Value::Array(items) => items
            .iter()
            .map(|i| show(fact, i))
            .collect::<Vec<_>>()
            .join("、"),
        Value::Object(_) => js::to_string(v),
    }
}

fn with_unit(fact: &str, v: &Value) -> String {
    let unit = label(fact).map(|(_, u)| u).unwrap_or("");
    match v {
        Value::Number(_) if !unit.is_empty() => format!("{} {unit}", show(fact, v)),
        _ => show(fact, v),
    }
}

fn name_of(fact: &str) -> String {
    label(fact)
        .map(|(l, _)| l.to_string())
        .unwrap_or_else(|| fact.to_string())
}

/// How `actual` stands against `bound`: 低于 / 等于 / 高于.
fn relation(actual: &Value, bound: &Value) -> &'static str {
    if js::less(actual, bound, false) {
        "低于"
    } else if js::loose_equals(actual, bound) || js::less(actual, bound, true) {
        "等于"
    } else {
        "高于"
    }
}

/// "{fact op literal}" with the fact on either side, normalised so the
/// fact is on the left (`{"<": [1510, {"var": x}]}` is `x > 1510`).
fn comparison<'a>(op: &'static str, args: &'a [Node]) -> Option<(String, &'static str, &'a Value)> {
    let flip = |op: &'static str| match op {
        "<" => ">",
        "<=" => ">=",
        ">" => "<",
        ">=" => "<=",
        other => other,
    };
    if !matches!(op, "==" | "===" | "!=" | "!==" | "<" | "<=" | ">" | ">=") {
        return None;
    }
    match (args.first(), args.get(1), args.len()) {
        (Some(a), Some(b), 2) => match (var_name(a), literal(b), var_name(b), literal(a)) {
            (Some(fact), Some(lit), _, _) => Some((fact, op, lit)),
            (_, _, Some(fact), Some(lit)) => Some((fact, flip(op), lit)),
            _ => None,
        },
        _ => None,
    }
}

fn describe_comparison(fact: &str, op: &str, bound: &Value, actual: &Value) -> String {
    let name = name_of(fact);
    match (op, bound) {
        ("==" | "===", Value::Bool(want)) | ("!=" | "!==", Value::Bool(want))
            if matches!(actual, Value::Bool(_) | Value::Null) =>
        {
            let negated = op.starts_with('!');
            let want = *want != negated;
            if want {
                format!("{name}：{}", show(fact, actual))
            } else {
                format!("{name}：{}（要求为否）", show(fact, actual))
            }
        }
        ("==" | "===", _) => format!(
            "{name}：{}（要求为 {}）",
            with_unit(fact, actual),
            with_unit(fact, bound)
        ),
        ("!=" | "!==", _) => format!(
            "{name}：{}（要求不为 {}）",
            with_unit(fact, actual),
            with_unit(fact, bound)
        ),
        // A missing figure counts as 0 in JsonLogic; say so.
        _ if actual.is_null() => format!(
            "{name} 未登记（按 0 计），{} {}",
            relation(&Value::from(0), bound),
            with_unit(fact, bound)
        ),
        _ => format!(
            "{name} {}，{} {}",
            with_unit(fact, actual),
            relation(actual, bound),
            with_unit(fact, bound)
        ),
    }
}

/// An arithmetic expression over facts in words ("（家庭月收入 − 每月医疗支出）
/// ÷ 家庭人口"), and the unit of its first fact.
fn expression(node: &Node) -> Option<(String, &'static str)> {
    match node {
        Node::Literal(Value::Number(n)) => Some((js::number_text(n.as_f64()?), "")),
        Node::Op { op: Op::Var, .. } => {
            let fact = var_name(node)?;
            let (name, unit) = label(&fact)?;
            Some((name.to_string(), unit))
        }
        Node::Op { op, args } if matches!(op.name(), "+" | "-" | "*" | "/") => {
            let op = &op.name();
            let sign = match *op {
                "+" => " + ",
                "-" => " − ",
                "*" => " × ",
                _ => " ÷ ",
            };
            let parts: Vec<(String, &'static str)> =
                args.iter().map(expression).collect::<Option<_>>()?;
            let unit = parts
                .iter()
                .map(|(_, u)| *u)
                .find(|u| !u.is_empty())
                .unwrap_or("");
            let texts: Vec<String> = parts
                .into_iter()
                .zip(args)
                .map(|((t, _), a)| match a {
                    Node::Op { op, .. } if matches!(op.name(), "+" | "-" | "*" | "/") => {
                        format!("（{t}）")
                    }
                    _ => t,
                })
                .collect();
            let text = if *op == "-" && texts.len() == 1 {
                format!("−{}", texts[0])
            } else {
                texts.join(sign)
            };
            Some((text, unit))
        }
        _ => None,
    }
}

/// `expression <op> literal` (either way round): the expression's value
/// against the bound.
fn describe_expression(op: &str, args: &[Node], facts: Data<'_>) -> Option<String> {
    if !matches!(op, "<" | "<=" | ">" | ">=") || args.len() != 2 {
        return None;
    }
    let (expr, bound) = match (literal(&args[1]), literal(&args[0])) {
        (Some(b), _) => (&args[0], b),
        (_, Some(b)) => (&args[1], b),
        _ => return None,
    };
    let (text, unit) = expression(expr)?;
    let actual = eval(expr, facts).into_owned();
    let fmt = |v: &Value| {
        let shown = show("", v);
        if unit.is_empty() || v.is_null() {
            shown
        } else {
            format!("{shown} {unit}")
        }
    };
    Some(format!(
        "{text} 为 {}，{} {}",
        fmt(&actual),
        relation(&actual, bound),
        fmt(bound)
    ))
}

/// A condition on one member, as a phrase ("年满 80 周岁"), for some / all /
/// none over the members.
fn member_phrase(node: &Node) -> Option<(String, Option<String>)> {
    let Node::Op { op, args } = node else {
        return None;
    };
    let op = &op.name();
    if let Some((fact, op, bound)) = comparison(op, args) {
        let name = name_of(&fact);
        let b = with_unit(&fact, bound);
        let phrase = match (fact.as_str(), op) {
            ("age", ">=") => format!("年满 {} 周岁", show("age", bound)),
            ("age", ">") => format!("超过 {} 周岁", show("age", bound)),
            ("age", "<") => format!("未满 {} 周岁", show("age", bound)),
            ("age", "<=") => format!("不超过 {} 周岁", show("age", bound)),
            (_, "==" | "===") => format!("{name}为{b}"),
            (_, "!=" | "!==") => format!("{name}不为{b}"),
            (_, ">=") => format!("{name}不低于 {b}"),
            (_, ">") => format!("{name}高于 {b}"),
            (_, "<=") => format!("{name}不高于 {b}"),
            _ => format!("{name}低于 {b}"),
        };
        return Some((phrase, Some(fact)));
    }
    match (*op, args.as_slice()) {
        ("and" | "or", parts) => {
            let phrases: Vec<(String, Option<String>)> =
                parts.iter().map(member_phrase).collect::<Option<_>>()?;
            let shown = phrases.iter().find_map(|(_, f)| f.clone());
            let joined: Vec<String> = phrases.into_iter().map(|(p, _)| p).collect();
            let glue = if *op == "and" { "且" } else { "或" };
            Some((joined.join(glue), shown))
        }
        ("<" | "<=", [low, mid, high]) => {
            let (lo, fact, hi) = (literal(low)?, var_name(mid)?, literal(high)?);
            Some((
                format!(
                    "{}在 {}–{}之间",
                    name_of(&fact),
                    show(&fact, lo),
                    with_unit(&fact, hi)
                ),
                Some(fact),
            ))
        }
        ("in", [needle, hay]) if var_name(needle).is_some() => {
            let fact = var_name(needle)?;
            let options = literal_list(hay)?;
            let options: Vec<String> = options.iter().map(|o| show(&fact, o)).collect();
            Some((format!("{}为{}", name_of(&fact), options.join("或")), None))
        }
        ("in", [needle, hay]) => {
            let fact = var_name(hay)?;
            let needle = literal(needle)?;
            Some((
                format!("{}含“{}”", name_of(&fact), show(&fact, needle)),
                None,
            ))
        }
        ("!!", [inner]) | ("var", [inner])
            if var_name(node).is_some() || var_name(inner).is_some() =>
        {
            let fact = var_name(inner).or_else(|| var_name(node))?;
            Some((format!("{}：是", name_of(&fact)), None))
        }
        _ => None,
    }
}

fn describe(node: &Node, facts: Data<'_>, held: bool) -> String {
    let yes_no = if held { "是" } else { "否" };
    let Node::Op { op, args } = node else {
        return format!(
            "条件 {}：{}",
            rule_text(node),
            if held { "成立" } else { "不成立" }
        );
    };
    let op = &op.name();
    // fact <op> literal
    if let Some((fact, op, bound)) = comparison(op, args) {
        let actual = eval::fact(facts, &fact);
        return describe_comparison(&fact, op, bound, &actual);
    }
    if let Some(text) = describe_expression(op, args, facts) {
        return text;
    }
    match (*op, args.as_slice()) {
        // literal < fact < literal (between)
        ("<" | "<=", [low, mid, high]) => {
            if let (Some(lo), Some(fact), Some(hi)) = (literal(low), var_name(mid), literal(high)) {
                let actual = eval::fact(facts, &fact);
                return format!(
                    "{} {}，{}在 {}–{}之间",
                    name_of(&fact),
                    with_unit(&fact, &actual),
                    if held { "" } else { "不" },
                    show(&fact, lo),
                    with_unit(&fact, hi)
                );
            }
        }
        ("var", _) => {
            if let Some(fact) = var_name(node) {
                return format!(
                    "{}：{}",
                    name_of(&fact),
                    show(&fact, &eval::fact(facts, &fact))
                );
            }
        }
        ("!" | "!!", [inner]) => {
            if let Some(fact) = var_name(inner) {
                let actual = eval::fact(facts, &fact);
                return if *op == "!" {
                    format!("{}：{}（要求为否）", name_of(&fact), show(&fact, &actual))
                } else {
                    format!("{}：{}", name_of(&fact), show(&fact, &actual))
                };
            }
        }
        ("in", [needle, hay]) => {
            if let (Some(needle), Some(fact)) = (literal(needle), var_name(hay)) {
                return format!("{}包含“{}”：{yes_no}", name_of(&fact), show(&fact, needle));
            }
            if let (Some(fact), Some(options)) = (var_name(needle), literal_list(hay)) {
                let actual = eval::fact(facts, &fact);
                let options: Vec<String> = options.iter().map(|o| show(&fact, o)).collect();
                return format!(
                    "{}：{}（要求为 {} 之一）",
                    name_of(&fact),
                    show(&fact, &actual),
                    options.join("、")
                );
            }
        }
        ("some" | "all" | "none", [over, inner]) => {
            if let (Some(list), Some((phrase, shown))) = (var_name(over), member_phrase(inner)) {
                if list == "members" {
                    return describe_members(op, &phrase, shown.as_deref(), inner, facts, held);
                }
            }
        }
        ("or", parts) => {
            let texts: Vec<String> = parts
                .iter()
                .map(|p| {
                    let h = holds(p, facts);
                    describe(p, facts, h)
                })
                .collect();
            return format!("以下任一条件（{}）：{}", yes_no, texts.join("；"));
        }
        _ => {}
    }
    format!(
        "条件 {}：{}",
        rule_text(node),
        if held { "成立" } else { "不成立" }
    )
}

/// "有成员年满 80 周岁：是（张**，82 岁）".
fn describe_members(
    op: &str,
    phrase: &str,
    shown: Option<&str>,
    inner: &Node,
    facts: Data<'_>,
    held: bool,
) -> String {
    let members: Vec<Data<'_>> = match facts {
        Data::Household(f) => f.members.iter().map(Data::Member).collect(),
        Data::Json(v) => match v.get("members") {
            Some(Value::Array(m)) => m.iter().map(Data::Json).collect(),
            _ => Vec::new(),
        },
        Data::Member(_) => Vec::new(),
    };
    // Screening answers carry no names: members are "本人" and "家人 N".
    let who = |(position, m): (usize, &Data<'_>)| {
        let name = match fact(*m, "name").as_str().unwrap_or("") {
            "" if position == 0 => "本人".to_string(),
            "" => format!("家人 {position}"),
            name => mask::name(name),
        };
        match shown {
            Some(f) => format!("{name}，{}", with_unit(f, &fact(*m, f))),
            None => name,
        }
    };
    // The members for whom the condition holds (or not), named.
    let named = |want: bool| -> String {
        members
            .iter()
            .enumerate()
            .filter(|(_, m)| holds(inner, **m) == want)
            .map(who)
            .collect::<Vec<_>>()
            .join("；")
    };
    let yes_no = if held { "是" } else { "否" };
    match op {
        "some" if held => format!("有成员{phrase}：是（{}）", named(true)),
        "some" => format!("有成员{phrase}：否"),
        "all" if held => format!("所有成员{phrase}：是"),
        "all" if members.is_empty() => format!("所有成员{phrase}：否（没有登记成员）"),
        "all" => format!("所有成员{phrase}：否（{}不符合）", named(false)),
        _ if held => format!("没有成员{phrase}：{yes_no}"),
        _ => format!("没有成员{phrase}：否（{}）", named(true)),
    }
}

/// A rule fragment as compact JSON, for conditions with no wording.
fn rule_text(node: &Node) -> String {
    fn to_json(node: &Node) -> Value {
        match node {
            Node::Literal(v) => v.clone(),
            Node::Path(p) => p.name.clone(),
            Node::Array(items) => Value::Array(items.iter().map(to_json).collect()),
            Node::Op { op, args } => {
                let args: Vec<Value> = args.iter().map(to_json).collect();
                serde_json::json!({ op.name(): args })
            }
        }
    }
    to_json(node).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> JsonLogicRule {
        JsonLogicRule::parse(&v).unwrap()
    }

    #[test]
    fn reasons_are_built_from_fact_names_and_values() {
        let dibao = rule(json!({"and": [{"==": [{"var": "hukou_local"}, true]},
                                         {"<": [{"var": "income_per_capita"}, 1510]}]}));
        let facts = json!({"hukou_local": true, "income_per_capita": 1620});
        let out = explain(&dibao, &facts);
        assert!(!out.eligible);
        assert_eq!(
            out.conditions,
            vec![
                Condition {
                    text: "本市户籍：是".into(),
                    held: true
                },
                Condition {
                    text: "家庭月人均收入 1620 元，高于 1510 元".into(),
                    held: false
                },
            ]
        );
        assert_eq!(
            out.near_miss().unwrap().text,
            "家庭月人均收入 1620 元，高于 1510 元"
        );
        let at = explain(
            &dibao,
            &json!({"hukou_local": true, "income_per_capita": 1510}),
        );
        assert_eq!(
            at.conditions[1].text,
            "家庭月人均收入 1510 元，等于 1510 元"
        );
        assert!(!at.eligible);
        let both = explain(
            &dibao,
            &json!({"hukou_local": false, "income_per_capita": 2000}),
        );
        assert_eq!(both.near_miss(), None, "two conditions failed");
        let ok = explain(
            &dibao,
            &json!({"hukou_local": true, "income_per_capita": 1200.5}),
        );
        assert!(ok.eligible);
        assert_eq!(ok.reasons()[1], "家庭月人均收入 1200.5 元，低于 1510 元");
    }

    #[test]
    fn members_are_named_masked_with_the_value_that_counts() {
        let elderly = rule(json!({"some": [{"var": "members"}, {">=": [{"var": "age"}, 80]}]}));
        let facts =
            json!({"members": [{"name": "张建国", "age": 82}, {"name": "李秀英", "age": 75}]});
        let out = explain(&elderly, &facts);
        assert!(out.eligible);
        assert_eq!(
            out.conditions[0].text,
            "有成员年满 80 周岁：是（张**，82 岁）"
        );
        let young = explain(
            &elderly,
            &json!({"members": [{"name": "李秀英", "age": 79}]}),
        );
        assert_eq!(young.conditions[0].text, "有成员年满 80 周岁：否");
        let job = rule(json!({"some": [{"var": "members"}, {"and": [
            {"==": [{"var": "employment"}, "unemployed"]}, {"<=": [16, {"var": "age"}, 59]}]}]}));
        assert_eq!(
            explain(
                &job,
                &json!({"members": [{"name": "王芳", "employment": "unemployed", "age": 45}]})
            )
            .conditions[0]
                .text,
            "有成员就业状况为失业且年龄在 16–59 岁之间：是（王*，失业）"
        );
        let between = rule(json!({"<=": [0, {"var": "income_per_capita"}, 2000]}));
        assert_eq!(
            explain(&between, &json!({"income_per_capita": 2500})).conditions[0].text,
            "家庭月人均收入 2500 元，不在 0–2000 元之间"
        );
        let status = rule(json!({"in": ["dibao", {"var": "status"}]}));
        assert_eq!(
            explain(&status, &json!({"status": ["dibao"]})).conditions[0].text,
            "现享救助包含“低保对象”：是"
        );
        let spend = rule(
            json!({">": [{"+": [{"var": "medical_expense_monthly"}, {"var": "rent_monthly"}]}, 3000]}),
        );
        assert_eq!(
            explain(
                &spend,
                &json!({"medical_expense_monthly": 2000, "rent_monthly": 1500})
            )
            .conditions[0]
                .text,
            "每月医疗支出 + 每月房租 为 3500 元，高于 3000 元"
        );
        let unknown = rule(json!({">=": [{"var": "medical_expense_monthly"}, 5000]}));
        assert_eq!(
            explain(&unknown, &json!({})).conditions[0].text,
            "每月医疗支出 未登记（按 0 计），低于 5000 元"
        );
        let anonymous = explain(
            &elderly,
            &json!({"members": [{"name": "", "age": 50}, {"name": "", "age": 85}]}),
        );
        assert_eq!(
            anonymous.conditions[0].text,
            "有成员年满 80 周岁：是（家人 1，85 岁）"
        );
        let types = rule(
            json!({"some": [{"var": "members"}, {"in": [{"var": "disability_type"}, ["mental", "intellectual"]]}]}),
        );
        assert_eq!(
            explain(
                &types,
                &json!({"members": [{"name": "李四", "disability_type": "mental"}]})
            )
            .conditions[0]
                .text,
            "有成员残疾类别为精神残疾或智力残疾：是（李*）"
        );
        let odd = rule(json!({"==": [{"+": [1, 1]}, 2]}));
        assert!(explain(&odd, &json!({})).conditions[0]
            .text
            .starts_with("条件 "));
    }
}
