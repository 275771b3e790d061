//! Households in difficulty: their records, members and personal data, needs
//! assessments, need lists and case notes.

pub mod access;
pub mod assessment;
pub mod deadlines;
pub mod export;
pub mod history;
pub mod id_number;
pub mod import;
pub mod lifecycle;
pub mod needs;
pub mod phone;
pub mod repository;
pub mod validation;
pub mod view;
pub mod work_queue;
pub mod workbook;
