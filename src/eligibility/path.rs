//! A `var` name split into steps once, when the rule is parsed, with each
//! step resolved against the household and member facts, so evaluating a
//! rule on a household's [`Facts`](super::facts::Facts) indexes into slots
//! instead of searching string keys.

use serde_json::Value;

use super::facts::{household_slot, member_slot};

/// One dotted part of a path (`members`, `0`, `age`).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub key: String,
    /// The key as an array index, when it is one.
    pub index: Option<usize>,
    /// The household fact it names, at the top of a household's facts.
    pub household: Option<usize>,
    /// The member fact it names, at the top of a member's facts.
    pub member: Option<usize>,
}

/// A parsed `var` name; no steps means the data itself (`""` or `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct VarPath {
    /// The name as written in the rule.
    pub name: Value,
    pub steps: Vec<Step>,
}

impl VarPath {
    /// Splits a name as JsonLogic does: a number is its text, `null` and
    /// `""` are the whole data, anything else is split on dots.
    pub fn parse(name: &Value) -> VarPath {
        let text = match name {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => super::js::to_string(other),
        };
        let steps = if text.is_empty() {
            Vec::new()
        } else {
            text.split('.')
                .map(|key| Step {
                    key: key.to_string(),
                    index: key.parse::<usize>().ok(),
                    household: household_slot(key),
                    member: member_slot(key),
                })
                .collect()
        };
        VarPath {
            name: name.clone(),
            steps,
        }
    }

    /// Whether the path is exactly `members`.
    pub fn is_members(&self) -> bool {
        matches!(self.steps.as_slice(), [only] if only.key == "members")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_are_resolved_once() {
        let p = VarPath::parse(&json!("members.0.age"));
        assert_eq!(p.steps.len(), 3);
        assert_eq!(p.steps[1].index, Some(0));
        assert!(p.steps[2].member.is_some());
        assert!(p.steps[2].household.is_none());
        assert!(VarPath::parse(&json!("income_per_capita")).steps[0]
            .household
            .is_some());
        assert!(VarPath::parse(&json!("")).steps.is_empty());
        assert!(VarPath::parse(&Value::Null).steps.is_empty());
        assert_eq!(VarPath::parse(&json!(1)).steps[0].index, Some(1));
        assert!(VarPath::parse(&json!("members")).is_members());
        assert!(!VarPath::parse(&json!("members.0")).is_members());
    }
}
