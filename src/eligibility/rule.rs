//! A JsonLogic rule (jsonlogic.com) parsed into a tree whose every operator is
//! known and has a valid number of arguments. Only a parsed rule can be stored
//! on a resource, so a malformed rule is rejected when the resource is saved.

use serde_json::Value;

use super::path::VarPath;

/// A JsonLogic operator aidmatch accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `var`
    Var,
    /// `missing`
    Missing,
    /// `missing_some`
    MissingSome,
    /// `==`
    Equal,
    /// `===`
    StrictEqual,
    /// `!=`
    NotEqual,
    /// `!==`
    StrictNotEqual,
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
    /// `!`
    Not,
    /// `!!`
    Truthy,
    /// `and`
    And,
    /// `or`
    Or,
    /// `if`
    If,
    /// `?:`
    Ternary,
    /// `in`
    In,
    /// `cat`
    Cat,
    /// `substr`
    Substr,
    /// `some`
    Some,
    /// `all`
    All,
    /// `none`
    None,
    /// `map`
    Map,
    /// `filter`
    Filter,
    /// `reduce`
    Reduce,
    /// `merge`
    Merge,
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
    /// `%`
    Modulo,
    /// `min`
    Min,
    /// `max`
    Max,
}

/// The operators with their names and the inclusive range of argument counts.
const OPERATORS: &[(&str, Op, usize, usize)] = &[
    ("var", Op::Var, 0, 2),
    ("missing", Op::Missing, 0, usize::MAX),
    ("missing_some", Op::MissingSome, 2, 2),
    ("==", Op::Equal, 2, 2),
    ("===", Op::StrictEqual, 2, 2),
    ("!=", Op::NotEqual, 2, 2),
    ("!==", Op::StrictNotEqual, 2, 2),
    ("<", Op::Less, 2, 3),
    ("<=", Op::LessOrEqual, 2, 3),
    (">", Op::Greater, 2, 2),
    (">=", Op::GreaterOrEqual, 2, 2),
    ("!", Op::Not, 1, 1),
    ("!!", Op::Truthy, 1, 1),
    ("and", Op::And, 1, usize::MAX),
    ("or", Op::Or, 1, usize::MAX),
    ("if", Op::If, 0, usize::MAX),
    ("?:", Op::Ternary, 3, 3),
    ("in", Op::In, 2, 2),
    ("cat", Op::Cat, 0, usize::MAX),
    ("substr", Op::Substr, 2, 3),
    ("some", Op::Some, 2, 2),
    ("all", Op::All, 2, 2),
    ("none", Op::None, 2, 2),
    ("map", Op::Map, 2, 2),
    ("filter", Op::Filter, 2, 2),
    ("reduce", Op::Reduce, 2, 3),
    ("merge", Op::Merge, 0, usize::MAX),
    ("+", Op::Add, 0, usize::MAX),
    ("-", Op::Subtract, 1, 2),
    ("*", Op::Multiply, 1, usize::MAX),
    ("/", Op::Divide, 2, 2),
    ("%", Op::Modulo, 2, 2),
    ("min", Op::Min, 1, usize::MAX),
    ("max", Op::Max, 1, usize::MAX),
];

impl Op {
    /// The operator as written in a rule.
    pub fn name(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(_, op, _, _)| *op == self)
            .map(|(name, _, _, _)| *name)
            .unwrap_or("")
    }
}

/// One node of a parsed rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A scalar or `null`.
    Literal(Value),
    /// An array whose elements are themselves rules.
    Array(Vec<Node>),
    /// An operation `{"op": [args]}`.
    Op { op: Op, args: Vec<Node> },
    /// The literal name of a `var` (its first argument), split and resolved
    /// when the rule is parsed.
    Path(VarPath),
}

impl Node {
    /// The name of a plain `{"var": "name"}`.
    pub fn var_name(&self) -> Option<&str> {
        match self {
            Node::Op { op: Op::Var, args } => match args.first() {
                Some(Node::Path(p)) => p.name.as_str(),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A well-formed JsonLogic rule, keeping the JSON it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonLogicRule {
    source: Value,
    root: Node,
    /// The rule's conditions: the arguments of its top-level `and` (nested
    /// `and`s flattened), or the rule itself.
    conditions: Vec<Node>,
}

impl JsonLogicRule {
    /// Parses `value`; the error names the JSON path of the first problem.
    pub fn parse(value: &Value) -> Result<JsonLogicRule, String> {
        let root = parse_node(value, "$")?;
        let mut conditions = Vec::new();
        flatten_and(&root, &mut conditions);
        Ok(JsonLogicRule {
            source: value.clone(),
            root,
            conditions,
        })
    }

    pub fn source(&self) -> &Value {
        &self.source
    }

    pub fn root(&self) -> &Node {
        &self.root
    }

    /// The conditions explanations are made of (an `and` holds exactly
    /// when all of them do).
    pub fn conditions(&self) -> &[Node] {
        &self.conditions
    }
}

fn flatten_and(node: &Node, out: &mut Vec<Node>) {
    match node {
        Node::Op { op: Op::And, args } => args.iter().for_each(|a| flatten_and(a, out)),
        other => out.push(other.clone()),
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
            let Some(&(name, op, min, max)) = OPERATORS.iter().find(|(name, _, _, _)| *name == key)
            else {
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
                    "{path}: 运算符 \"{name}\" 需要 {expected} 个参数，实际 {} 个 (wrong number of arguments)",
                    arg_values.len()
                ));
            }
            if op == Op::Var {
                if let Some(first) = arg_values.first() {
                    if matches!(first, Value::Bool(_) | Value::Array(_)) {
                        return Err(format!(
                            "{path}.var: 变量名必须是字符串、数字或运算 (variable name must be a string, number or operation)"
                        ));
                    }
                }
            }
            let mut args = arg_values
                .iter()
                .enumerate()
                .map(|(i, v)| parse_node(v, &format!("{path}.{name}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            if op == Op::Var {
                if let Some(Node::Literal(name)) = args.first() {
                    args[0] = Node::Path(VarPath::parse(name));
                }
            }
            Ok(Node::Op { op, args })
        }
        Value::Array(items) => {
            let items = items
                .iter()
                .enumerate()
                .map(|(i, v)| parse_node(v, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            // An array of literals evaluates to itself: keep it as one value.
            if items.iter().all(|n| matches!(n, Node::Literal(_))) {
                Ok(Node::Literal(Value::Array(
                    items
                        .into_iter()
                        .filter_map(|n| match n {
                            Node::Literal(v) => Some(v),
                            _ => None,
                        })
                        .collect(),
                )))
            } else {
                Ok(Node::Array(items))
            }
        }
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
