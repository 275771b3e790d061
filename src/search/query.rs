//! Turning a search request into a tantivy query, and running it: words
//! from jieba (and pinyin), synonyms, filters, facets, snippets, paging.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use chrono::NaiveDate;
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::RangeQuery;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use super::schema::{date_of_day, day_number, searched_fields, Fields};
use super::stats::CountsCollector;
use super::synonyms::Expansion;
use super::SearchIndex;
use crate::domain::RegionCode;
use crate::error::AppError;

/// What a caller asks for (SPEC `GET /api/v1/resources/search`).
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: String,
    pub kinds: Vec<String>,
    pub dimensions: Vec<String>,
    pub target_groups: Vec<String>,
    /// A household's region code: resources whose scope is a prefix of it.
    pub region: Option<RegionCode>,
    pub valid_on: Option<NaiveDate>,
    pub available: bool,
    pub page: usize,
    pub per_page: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub kind: String,
    pub title: String,
    /// HTML: the text escaped, matched words in `<b>`.
    pub snippet: String,
    pub score: f32,
    pub provider: String,
    pub region: String,
    pub dimensions: Vec<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Facets {
    pub kind: BTreeMap<String, u64>,
    pub dimension: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    pub hits: Vec<Hit>,
    pub facets: Facets,
    /// The words the query was understood as (after pinyin conversion).
    pub words: Vec<String>,
    /// Synonyms that were also searched.
    #[schema(value_type = Vec<Object>)]
    pub synonyms_used: Vec<Expansion>,
}

/// One word of the query and the ways it may be matched: each option is a
/// set of index words that must all occur (a long word, its parts, or a
/// synonym), with a weight.
struct WordGroup {
    word: String,
    options: Vec<(Vec<String>, f32)>,
}

impl WordGroup {
    fn terms(&self) -> impl Iterator<Item = &String> {
        self.options.iter().flat_map(|(terms, _)| terms.iter())
    }
}
impl SearchIndex {
    /// The words a query stands for: pinyin turned into Chinese words where
    /// the vocabulary knows them, then segmented, stop words dropped.
    pub(crate) fn query_words(&self, q: &str) -> Vec<String> {
        let text = if super::analysis::looks_like_pinyin(q) {
            self.pinyin_to_words(q)
        } else {
            q.to_string()
        };
        let mut seen = BTreeSet::new();
        self.segmenter
            .words(&text)
            .into_iter()
            .filter(|w| !self.stopwords.contains(w))
            .filter(|w| seen.insert(w.clone()))
            .collect()
    }

    /// The index words `text` stands for, as one option: itself when jieba
    /// keeps it whole, and also all of its parts.
    fn options_for(&self, text: &str, weight: f32, typed: bool) -> Vec<(Vec<String>, f32)> {
        let text = text.to_lowercase();
        let words = self.segmenter.words(&text);
        let parts: Vec<String> = words
            .into_iter()
            .filter(|p| *p != text && !self.stopwords.contains(p))
            .collect();
        // Only for synonyms (curated dictionary words): a typed word may be
        // one jieba keeps whole while documents spell it out in parts.
        let kept_whole = !typed && self.segmenter.is_one_word(&text);
        let mut out = vec![(vec![text.clone()], weight)];
        // When jieba keeps the text as one dictionary word, documents holding
        // it carry that word too (search mode indexes long words whole), so
        // the parts add only cost; otherwise they are how it is found.
        if !parts.is_empty() && !kept_whole {
            out.push((parts, weight * 0.9));
        }
        out
    }

    /// Groups the query's words with their parts and synonyms. A synonym
    /// whose phrase spans several words (心里难受) merges them into one group.
    fn word_groups(&self, words: &[String]) -> (Vec<WordGroup>, Vec<Expansion>) {
        let mut groups: Vec<WordGroup> = Vec::new();
        let mut used: Vec<Expansion> = Vec::new();
        for w in words {
            // A word that is part of a longer query word (jieba's search mode
            // yields both) is matched through that word's parts.
            if words
                .iter()
                .any(|long| long != w && long.contains(w.as_str()))
            {
                continue;
            }
            let mut options = self.options_for(w, 1.0, true);
            for e in self.synonyms.expansions(w) {
                options.extend(self.options_for(&w.replace(&e.from, &e.to), 0.8, false));
                used.push(e);
            }
            groups.push(WordGroup {
                word: w.clone(),
                options,
            });
        }
        let joined: String = groups.iter().map(|g| g.word.as_str()).collect();
        for e in self.synonyms.expansions(&joined) {
            if used.contains(&e) {
                continue;
            }
            let spanned: Vec<usize> = groups
                .iter()
                .enumerate()
                .filter(|(_, g)| e.from.contains(g.word.as_str()))
                .map(|(i, _)| i)
                .collect();
            let Some(&first) = spanned.first() else {
                continue;
            };
            if spanned.len() > 1 {
                // The phrase itself, all its words together, or the synonym.
                let words: Vec<String> = spanned.iter().map(|i| groups[*i].word.clone()).collect();
                let mut merged = WordGroup {
                    word: e.from.clone(),
                    options: vec![(words, 1.0)],
                };
                merged.options.extend(self.options_for(&e.to, 0.8, false));
                for i in spanned.iter().rev() {
                    groups.remove(*i);
                }
                groups.insert(first, merged);
            } else {
                let extra = self.options_for(&e.to, 0.8, false);
                groups[first].options.extend(extra);
            }
            used.push(e);
        }
        // Merged groups collect every synonym of the same phrase.
        for g in &mut groups {
            g.options.dedup();
        }
        (groups, used)
    }

    fn text_query(&self, groups: &[WordGroup]) -> Box<dyn Query> {
        let f = &self.fields;
        let word_query = |word: &str, weight: f32| -> Box<dyn Query> {
            let per_field: Vec<(Occur, Box<dyn Query>)> = searched_fields(f)
                .into_iter()
                .map(|(field, boost)| {
                    let term = Term::from_field_text(field, word);
                    let q = TermQuery::new(term, IndexRecordOption::WithFreqs);
                    (
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(q), boost * weight)) as Box<dyn Query>,
                    )
                })
                .collect();
            Box::new(BooleanQuery::new(per_field))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for g in groups {
            let options: Vec<(Occur, Box<dyn Query>)> = g
                .options
                .iter()
                .map(|(terms, weight)| {
                    let q: Box<dyn Query> = if terms.len() == 1 {
                        word_query(&terms[0], *weight)
                    } else {
                        let w = weight / terms.len() as f32;
                        Box::new(BooleanQuery::new(
                            terms
                                .iter()
                                .map(|t| (Occur::Must, word_query(t, w)))
                                .collect(),
                        ))
                    };
                    (Occur::Should, q)
                })
                .collect();
            clauses.push((Occur::Should, Box::new(BooleanQuery::new(options))));
        }
        // Every word must be found when there are one or two of them; with
        // more, at least half (colloquial queries carry filler words).
        let n = clauses.len();
        let required = if n <= 2 { n } else { n.div_ceil(2) };
        Box::new(BooleanQuery::with_minimum_required_clauses(
            clauses, required,
        ))
    }

    fn filters(&self, req: &SearchRequest) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.fields;
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let any_of = |field, values: &[String]| -> Box<dyn Query> {
            Box::new(TermSetQuery::new(
                values.iter().map(|v| Term::from_field_text(field, v)),
            ))
        };
        if !req.kinds.is_empty() {
            out.push((Occur::Must, any_of(f.kind, &req.kinds)));
        }
        if !req.dimensions.is_empty() {
            out.push((Occur::Must, any_of(f.dimension, &req.dimensions)));
        }
        if !req.target_groups.is_empty() {
            out.push((Occur::Must, any_of(f.target_group, &req.target_groups)));
        }
        if let Some(region) = &req.region {
            // Every prefix of the household's code is a scope that covers it.
            let code = region.as_str();
            let prefixes: Vec<String> = (0..=code.len())
                .filter(|i| code.is_char_boundary(*i))
                .map(|i| code[..i].to_string())
                .collect();
            out.push((Occur::Must, any_of(f.scope, &prefixes)));
        }
        if let Some(day) = req.valid_on.map(day_number) {
            out.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Included(Term::from_field_i64(f.valid_from, day)),
                )),
            ));
            out.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_i64(f.valid_until, day)),
                    Bound::Unbounded,
                )),
            ));
        }
        if req.available {
            out.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Excluded(Term::from_field_i64(f.remaining, 0)),
                    Bound::Unbounded,
                )),
            ));
        }
        out
    }

    /// Runs a search against the current reader.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, AppError> {
        let t0 = std::time::Instant::now();
        let searcher = self.reader.searcher();
        let q = req.q.trim();
        let words = if q.is_empty() {
            Vec::new()
        } else {
            self.query_words(q)
        };
        let (groups, synonyms_used) = self.word_groups(&words);
        let mut clauses = self.filters(req);
        let has_text = !groups.is_empty();
        if has_text {
            clauses.push((Occur::Must, self.text_query(&groups)));
        } else if !q.is_empty() {
            // Only stop words or punctuation: nothing can match.
            clauses.push((Occur::Must, Box::new(tantivy::query::EmptyQuery)));
        } else {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        let query = BooleanQuery::new(clauses);

        let per_page = req.per_page.clamp(1, 100);
        let page = req.page.max(1);
        let offset = (page - 1) * per_page;
        let err = |e: tantivy::TantivyError| AppError::Internal(format!("search: {e}"));
        // One pass collects the top hits and counts the whole matching set
        // (kinds and dimensions from fast fields).
        let (docs, counts): (Vec<(f32, DocAddress)>, _) = if has_text {
            let top = TopDocs::with_limit(per_page)
                .and_offset(offset)
                .order_by_score();
            searcher
                .search(&query, &(top, CountsCollector))
                .map_err(err)?
        } else {
            let top = TopDocs::with_limit(per_page)
                .and_offset(offset)
                .order_by_fast_field::<i64>("updated", Order::Desc);
            let (docs, counts) = searcher
                .search(&query, &(top, CountsCollector))
                .map_err(err)?;
            (docs.into_iter().map(|(_, d)| (0.0, d)).collect(), counts)
        };
        let t2 = t0.elapsed();
        let total = counts.total;
        let facets = Facets {
            kind: counts.by_kind(),
            dimension: counts.by_dimension(),
        };

        let snippet_words: Vec<String> = groups.iter().flat_map(|g| g.terms().cloned()).collect();
        let hits = docs
            .into_iter()
            .map(|(score, addr)| self.hit(&searcher, addr, score, &snippet_words))
            .collect::<Result<Vec<_>, _>>()?;
        if std::env::var_os("AIDMATCH_SEARCH_TIMING").is_some() {
            eprintln!(
                "TIMING q={q} top+counts={:?} hits={:?} total={total}",
                t2,
                t0.elapsed() - t2
            );
        }
        Ok(SearchResults {
            total,
            page,
            per_page,
            hits,
            facets,
            words,
            synonyms_used,
        })
    }

    fn hit(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        score: f32,
        words: &[String],
    ) -> Result<Hit, AppError> {
        let f: &Fields = &self.fields;
        let doc: TantivyDocument = searcher
            .doc(addr)
            .map_err(|e| AppError::Internal(format!("search doc: {e}")))?;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let int = |field| doc.get_first(field).and_then(|v| v.as_i64()).unwrap_or(0);
        let snippet = self.snippet(&text(f.summary), &text(f.body), words);
        Ok(Hit {
            ref_code: text(f.ref_code),
            kind: text(f.kind),
            title: text(f.title),
            snippet,
            score,
            provider: text(f.provider),
            region: text(f.region),
            dimensions: doc
                .get_all(f.dimension)
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            valid_from: date_of_day(int(f.valid_from)),
            valid_until: date_of_day(int(f.valid_until)),
        })
    }

    /// A highlighted extract of the summary and body around the query's words;
    /// the start of the summary when none occurs.
    fn snippet(&self, summary: &str, body: &str, words: &[String]) -> String {
        // The start of the body is enough for an extract, and keeps the
        // segmentation work per hit small.
        let body: String = body.chars().take(80).collect();
        let text = format!("{summary}　{body}");
        let terms: BTreeMap<String, f32> = words.iter().map(|w| (w.to_lowercase(), 1.0)).collect();
        let generator = SnippetGenerator::new(
            terms,
            TextAnalyzer::from(self.segmenter.plain_tokenizer()),
            self.fields.body,
            120,
        );
        let snippet = generator.snippet(&text);
        if snippet.fragment().is_empty() {
            let start: String = text.chars().take(120).collect();
            return html_escape(&start);
        }
        snippet.to_html()
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
