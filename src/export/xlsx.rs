//! Excel workbooks of tables: Chinese headers in bold, column widths,
//! the header row frozen, long text wrapped.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::error::AppError;

/// One sheet: its name, its columns (header and width in characters) and
/// its rows.
pub struct Sheet {
    pub name: String,
    pub columns: Vec<(&'static str, f64)>,
    pub rows: Vec<Vec<String>>,
}

fn err(e: XlsxError) -> AppError {
    AppError::Internal(format!("xlsx: {e}"))
}

/// The `.xlsx` file of `sheets`.
pub fn workbook(sheets: &[Sheet]) -> Result<Vec<u8>, AppError> {
    let mut book = Workbook::new();
    let header = Format::new().set_bold().set_background_color("#E4E7EB");
    let wrap = Format::new().set_text_wrap();
    for sheet in sheets {
        let ws = book.add_worksheet();
        ws.set_name(&sheet.name).map_err(err)?;
        for (c, (title, width)) in sheet.columns.iter().enumerate() {
            let c = c as u16;
            ws.write_string_with_format(0, c, *title, &header)
                .map_err(err)?;
            ws.set_column_width(c, *width).map_err(err)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                ws.write_string_with_format(r as u32 + 1, c as u16, cell, &wrap)
                    .map_err(err)?;
            }
        }
        ws.set_freeze_panes(1, 0).map_err(err)?;
    }
    book.save_to_buffer().map_err(err)
}
