//! The search index's schema and how a resource becomes a document.

use chrono::NaiveDate;
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STORED,
    STRING,
};
use tantivy::store::Compressor;
use tantivy::{IndexSettings, TantivyDocument};

use super::analysis::TOKENIZER;
use crate::catalogue::ResourceRow;
use crate::domain::RegionCode;

/// Bumped whenever the schema or the analysis changes; an index built with
/// another version is rebuilt on start.
pub const SCHEMA_VERSION: u32 = 4;

/// Characters of the body kept (after the summary) for snippets.
const EXTRACT_BODY_CHARS: usize = 80;

#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub ref_code: Field,
    pub kind: Field,
    pub dimension: Field,
    pub target_group: Field,
    pub scope: Field,
    pub region: Field,
    /// Stored only: shown on a hit.
    pub title: Field,
    pub provider: Field,
    /// Stored only: the summary and the start of the body, from which a
    /// hit's snippet is cut.
    pub extract: Field,
    /// The words of titles, summaries and benefits (which documents hold
    /// them, nothing more): the vocabulary pinyin queries are read against.
    pub vocabulary: Field,
    /// Every searched text at once: queries match here (one posting list per
    /// word keeps queries cheap); the title is written three times so that a
    /// word in the title counts most.
    pub all: Field,
    /// Kind and dimensions packed into one fast field for facet counts.
    pub facet_key: Field,
    pub valid_from: Field,
    pub valid_until: Field,
    pub remaining: Field,
    pub updated: Field,
}

/// Text fields searched by a query, with their boosts.
pub fn searched_fields(f: &Fields) -> [(Field, f32); 1] {
    [(f.all, 1.0)]
}

/// How the doc store is laid out: what a hit shows is short, so it is kept
/// uncompressed in small blocks and fetching a hit copies little else.
pub fn index_settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::None,
        docstore_blocksize: 2048,
        ..IndexSettings::default()
    }
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |record: IndexRecordOption| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(record);
        TextOptions::default().set_indexing_options(indexing)
    };
    let num = || NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        ref_code: b.add_text_field("ref", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        dimension: b.add_text_field("dimension", STRING | STORED),
        target_group: b.add_text_field("target_group", STRING),
        scope: b.add_text_field("scope", STRING),
        region: b.add_text_field("region", STORED),
        title: b.add_text_field("title", STORED),
        provider: b.add_text_field("provider", STORED),
        extract: b.add_text_field("extract", STORED),
        vocabulary: b.add_text_field("vocabulary", text(IndexRecordOption::Basic)),
        all: b.add_text_field("all", text(IndexRecordOption::WithFreqs)),
        facet_key: b.add_u64_field(
            super::stats::FACET_KEY,
            NumericOptions::default().set_fast(),
        ),
        valid_from: b.add_i64_field("valid_from", num().set_stored()),
        valid_until: b.add_i64_field("valid_until", num().set_stored()),
        remaining: b.add_i64_field("remaining", num()),
        updated: b.add_i64_field("updated", num()),
    };
    (b.build(), fields)
}

/// Days since 1970-01-01, for date range filters.
pub fn day_number(d: NaiveDate) -> i64 {
    d.signed_duration_since(NaiveDate::default()).num_days()
}

pub fn date_of_day(n: i64) -> Option<NaiveDate> {
    if n == i64::MIN || n == i64::MAX {
        return None;
    }
    NaiveDate::default().checked_add_signed(chrono::Duration::days(n))
}

/// The document for a published resource.
pub fn document(f: &Fields, r: &ResourceRow) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.ref_code, &r.ref_code);
    doc.add_text(f.kind, &r.kind);
    let dimensions = r.dimension_codes();
    doc.add_u64(f.facet_key, super::stats::facet_key(&r.kind, &dimensions));
    for d in dimensions {
        doc.add_text(f.dimension, &d);
    }
    for g in r.target_group_codes() {
        doc.add_text(f.target_group, &g);
    }
    let scope = RegionCode::parse(&r.region)
        .map(|c| c.scope_prefix().to_string())
        .unwrap_or_else(|_| r.region.clone());
    doc.add_text(f.scope, &scope);
    doc.add_text(f.region, &r.region);
    doc.add_text(f.title, &r.title);
    doc.add_text(f.provider, &r.provider);
    let body_start: String = r.body.chars().take(EXTRACT_BODY_CHARS).collect();
    doc.add_text(f.extract, format!("{}　{}", r.summary, body_start));
    doc.add_text(
        f.vocabulary,
        [r.title.as_str(), &r.summary, &r.benefit].join("\n"),
    );
    let apply = r.apply_info();
    let materials = apply.materials.join("，");
    doc.add_text(
        f.all,
        [
            r.title.as_str(),
            &r.title,
            &r.title,
            &r.summary,
            &r.benefit,
            &r.body,
            &r.provider,
            &materials,
        ]
        .join("\n"),
    );
    doc.add_i64(
        f.valid_from,
        r.valid_from.map(day_number).unwrap_or(i64::MIN),
    );
    doc.add_i64(
        f.valid_until,
        r.valid_until.map(day_number).unwrap_or(i64::MAX),
    );
    doc.add_i64(
        f.remaining,
        r.capacity().map(|c| c.remaining).unwrap_or(i64::MAX),
    );
    doc.add_i64(f.updated, r.updated_at.and_utc().timestamp_millis());
    doc
}
