//! Reading `application/x-www-form-urlencoded` bodies, where a field such as
//! `dimensions` may repeat (checkboxes).

use std::collections::BTreeMap;

use crate::error::{AppError, FieldError};

#[derive(Debug, Default, Clone)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        FormData {
            pairs: url::form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> String {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }

    /// The first value of `name` exactly as sent (for passwords).
    pub fn get_raw(&self, name: &str) -> String {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub fn csrf(&self) -> String {
        self.get(crate::auth::csrf::FIELD)
    }
}

/// Field errors by field name, for showing each next to its input.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    /// Groups errors under their top-level field (`capacity.total` -> `capacity`,
    /// `dimensions[1]` -> `dimensions`).
    pub fn from_list(list: &[FieldError]) -> FieldErrors {
        let mut map = BTreeMap::new();
        for e in list {
            let key = e
                .field
                .split(['.', '['])
                .next()
                .unwrap_or(&e.field)
                .to_string();
            map.entry(key)
                .and_modify(|m: &mut String| {
                    m.push('；');
                    m.push_str(&e.message)
                })
                .or_insert_with(|| e.message.clone());
        }
        FieldErrors(map)
    }

    /// Keeps each error under its full path (`scores.medical`).
    pub fn exact(list: &[FieldError]) -> FieldErrors {
        let mut map = BTreeMap::new();
        for e in list {
            map.entry(e.field.clone())
                .and_modify(|m: &mut String| {
                    m.push('；');
                    m.push_str(&e.message)
                })
                .or_insert_with(|| e.message.clone());
        }
        FieldErrors(map)
    }

    /// Splits an error into field errors and a general message.
    pub fn from_error(e: &AppError) -> (FieldErrors, String) {
        match e {
            AppError::Validation(list) => (FieldErrors::from_list(list), String::new()),
            other => (FieldErrors::default(), other.public_message()),
        }
    }

    pub fn get(&self, field: &str) -> &str {
        self.0.get(field).map(String::as_str).unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
