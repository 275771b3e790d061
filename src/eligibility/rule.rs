//! A JsonLogic rule (jsonlogic.com) parsed into a tree whose every operator is
//! known and has a valid number of arguments. Only a parsed rule can be stored
//! on a resource, so a malformed rule is rejected when the resource is saved.

use serde_json::Value;

/// The operators aidmatch accepts, with the inclusive range of argument counts.
const OPERATORS: &[(&str, usize, usize)] = &[
    ("var", 0, 2),
    ("missing", 0, usize::MAX),
    ("missing_some", 2, 2),
    ("==", 2, 2),
    ("===", 2, 2),
    ("!=", 2, 2),
    ("!==", 2, 2),
    ("<", 2, 3),
    ("<=", 2, 3),
    (">", 2, 2),
    (">=", 2, 2),
    ("!", 1, 1),
    ("!!", 1, 1),
    ("and", 1, usize::MAX),
    ("or", 1, usize::MAX),
    ("if", 0, usize::MAX),
    ("?:", 3, 3),
    ("in", 2, 2),
    ("cat", 0, usize::MAX),
    ("substr", 2, 3),
    ("some", 2, 2),
    ("all", 2, 2),
    ("none", 2, 2),
    ("map", 2, 2),
    ("filter", 2, 2),
    ("reduce", 2, 3),
    ("merge", 0, usize::MAX),
    ("+", 0, usize::MAX),
    ("-", 1, 2),
    ("*", 1, usize::MAX),
    ("/", 2, 2),
    ("%", 2, 2),
    ("min", 1, usize::MAX),
    ("max", 1, usize::MAX),
];

/// One node of a parsed rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A scalar or `null`.
    Literal(Value),
    /// An array whose elements are themselves rules.
    Array(Vec<Node>),
    /// An operation `{"op": [args]}`.
    Op { op: &'static str, args: Vec<Node> },
}

/// A well-formed JsonLogic rule, keeping the JSON it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonLogicRule {
    source: Value,
    root: Node,
}

impl JsonLogicRule {
    /// Parses `value`; the error names the JSON path of the first problem.
    pub fn parse(value: &Value) -> Result<JsonLogicRule, String> {
        let root = parse_node(value, "$")?;
        Ok(JsonLogicRule {
            source: value.clone(),
            root,
        })
    }

    pub fn source(&self) -> &Value {
        &self.source
    }

    pub fn root(&self) -> &Node {
        &self.root
    }
}

fn parse_node(value: &Value, path: &str) -> Result<Node, String> {
    match value {
        Value::Object(map) => {
            if map.len() != 1 {
                return Err(format!(
                    "{path}: JsonLogic 运算对象必须恰好有一个运算符键，实际有 {} 个 (an operation object must have exactly one operator key)",
                    map.len()
                ));
            }
            let (key, raw_args) = map.iter().next().expect("one entry");
            let Some(&(op, min, max)) = OPERATORS.iter().find(|(name, _, _)| *name == key) else {
                return Err(format!(
                    "{path}: 不支持的 JsonLogic 运算符 \"{key}\" (unsupported operator)"
                ));
            };
            let arg_values: Vec<&Value> = match raw_args {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            if arg_values.len() < min || arg_values.len() > max {
                let expected = if min == max {
                    format!("{min}")
                } else if max == usize::MAX {
                    format!("至少 {min}")
                } else {
                    format!("{min}–{max}")
                };
                return Err(format!(
                    "{path}: 运算符 \"{op}\" 需要 {expected} 个参数，实际 {} 个 (wrong number of arguments)",
                    arg_values.len()
                ));
            }
            if op == "var" {
                if let Some(name) = arg_values.first() {
                    if matches!(name, Value::Bool(_) | Value::Array(_)) {
                        return Err(format!(
                            "{path}.var: 变量名必须是字符串、数字或运算 (variable name must be a string, number or operation)"
                        ));
                    }
                }
            }
            let args = arg_values
                .iter()
                .enumerate()
                .map(|(i, v)| parse_node(v, &format!("{path}.{op}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Node::Op { op, args })
        }
        Value::Array(items) => Ok(Node::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| parse_node(v, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        scalar => Ok(Node::Literal(scalar.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_spec_examples() {
        let dibao = json!({"and": [{"==": [{"var": "hukou_local"}, true]},
                                   {"<": [{"var": "income_per_capita"}, 1510]}]});
        assert!(JsonLogicRule::parse(&dibao).is_ok());
        let eighty = json!({"some": [{"var": "members"}, {">=": [{"var": "age"}, 80]}]});
        assert!(JsonLogicRule::parse(&eighty).is_ok());
        let between = json!({"<=": [1, {"var": "members.0.disability_grade"}, 2]});
        assert!(JsonLogicRule::parse(&between).is_ok());
        assert!(JsonLogicRule::parse(&json!(true)).is_ok());
    }

    #[test]
    fn rejects_malformed_rules_with_a_path() {
        let unknown = JsonLogicRule::parse(&json!({"and": [{"foo": [1, 2]}]})).unwrap_err();
        assert!(
            unknown.contains("$.and[0]") && unknown.contains("foo"),
            "{unknown}"
        );
        let two_keys = JsonLogicRule::parse(&json!({"==": [1, 1], "!=": [1, 2]})).unwrap_err();
        assert!(two_keys.contains("恰好有一个"), "{two_keys}");
        let arity = JsonLogicRule::parse(&json!({"==": [1]})).unwrap_err();
        assert!(arity.contains("\"==\""), "{arity}");
        let var = JsonLogicRule::parse(&json!({"var": [true]})).unwrap_err();
        assert!(var.contains("变量名"), "{var}");
    }
}
