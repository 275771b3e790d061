//! Files for the tools people already use: Excel workbooks, and the
//! download response that carries them.

pub mod xlsx;

use actix_web::HttpResponse;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What RFC 8187 lets stand unencoded in `filename*` (attr-char).
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `Content-Disposition` for a download named `filename` (any script):
/// an ASCII fallback for old clients and the UTF-8 name for the rest.
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let ascii = ascii.trim_start_matches(['-', '_', '.']);
    let ascii = if ascii.contains(|c: char| c.is_ascii_alphanumeric())
        && !ascii.starts_with('.')
        && ascii
            .rsplit_once('.')
            .is_some_and(|(stem, _)| !stem.is_empty())
    {
        ascii.to_string()
    } else {
        format!(
            "download{}",
            filename
                .rsplit_once('.')
                .map(|(_, ext)| format!(".{ext}"))
                .filter(|e| e.is_ascii())
                .unwrap_or_default()
        )
    };
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        utf8_percent_encode(filename, ATTR_CHAR)
    )
}

/// A file download that is never cached (exports hold personal data).
pub fn download(content_type: &str, filename: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Content-Disposition", content_disposition(filename)))
        .insert_header(("Cache-Control", "no-store"))
        .body(bytes)
}

/// An `.xlsx` download.
pub fn xlsx_download(filename: &str, bytes: Vec<u8>) -> HttpResponse {
    download(XLSX_TYPE, filename, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_an_ascii_fallback() {
        assert_eq!(
            content_disposition("一户一案-H-0001-2026-11-23.xlsx"),
            "attachment; filename=\"H-0001-2026-11-23.xlsx\"; filename*=UTF-8''%E4%B8%80%E6%88%B7%E4%B8%80%E6%A1%88-H-0001-2026-11-23.xlsx"
        );
        assert!(content_disposition("资源目录.xlsx")
            .starts_with("attachment; filename=\"download.xlsx\""));
        assert!(content_disposition("a b.xlsx").contains("filename*=UTF-8''a%20b.xlsx"));
    }
}
