//! Files for the tools people already use: Excel workbooks.

pub mod xlsx;
