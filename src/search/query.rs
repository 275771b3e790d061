//! Running a search request: words from jieba (and pinyin) and synonyms;
//! the matching documents worked out as sets (words, filters, facets); the
//! best of them ranked by BM25; snippets; paging.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use fixedbitset::FixedBitSet;
use memchr::memmem;
use serde::Serialize;
use tantivy::query::Bm25Weight;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, DocId, Searcher, SegmentReader, TantivyDocument, Term};

use super::docsets;
use super::schema::{date_of_day, day_number, searched_fields, Fields};
use super::stats::Counts;
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

    /// The query's words as index terms (in the field searched).
    fn term(&self, word: &str) -> Term {
        Term::from_field_text(searched_fields(&self.fields)[0].0, word)
    }

    /// The documents of `segment` the words match, and their scores. One
    /// pass over each term's postings marks the documents holding it and
    /// adds its BM25 score to theirs. A group of words matches through any
    /// of its options (an option needs all its terms); every group must
    /// match when there are one or two, otherwise at least half of them
    /// (colloquial queries carry filler words).
    fn text_matches(
        &self,
        segment: &SegmentReader,
        groups: &[WordGroup],
        terms: &[(String, Bm25Weight)],
        scores: &mut [f32],
    ) -> tantivy::Result<FixedBitSet> {
        let len = segment.max_doc() as usize;
        let field = searched_fields(&self.fields)[0].0;
        let fieldnorms = segment.get_fieldnorms_reader(field)?;
        let inverted = segment.inverted_index(field)?;
        let mut holding: HashMap<&str, FixedBitSet> = HashMap::new();
        for (word, bm25) in terms {
            let mut bits = FixedBitSet::with_capacity(len);
            let postings =
                inverted.read_block_postings(&self.term(word), IndexRecordOption::WithFreqs)?;
            if let Some(mut postings) = postings {
                while !postings.docs().is_empty() {
                    for (doc, freq) in postings.docs().iter().zip(postings.freqs()) {
                        bits.insert(*doc as usize);
                        scores[*doc as usize] += bm25.score(fieldnorms.fieldnorm_id(*doc), *freq);
                    }
                    postings.advance();
                }
            }
            holding.insert(word.as_str(), bits);
        }
        let empty = FixedBitSet::with_capacity(len);
        let mut per_group = Vec::with_capacity(groups.len());
        for g in groups {
            let mut group = FixedBitSet::with_capacity(len);
            for (words, _) in &g.options {
                let mut sets = words
                    .iter()
                    .map(|w| holding.get(w.as_str()).unwrap_or(&empty));
                let Some(first) = sets.next() else {
                    continue;
                };
                let mut option = first.clone();
                for set in sets {
                    option.intersect_with(set);
                }
                group.union_with(&option);
            }
            per_group.push(group);
        }
        let n = per_group.len();
        let required = if n <= 2 { n } else { n.div_ceil(2) };
        Ok(docsets::at_least(&per_group, required, len))
    }

    /// The documents of `segment` the filters let through (deleted ones
    /// left out); `None` when every live document passes.
    fn filter_matches(
        &self,
        segment: &SegmentReader,
        req: &SearchRequest,
    ) -> tantivy::Result<Arc<FixedBitSet>> {
        let f = &self.fields;
        let cache = &self.sets;
        let mut bits = (*cache.alive(segment)?).clone();
        let mut any_of = |field, values: &[String]| -> tantivy::Result<()> {
            if !values.is_empty() {
                let terms: Vec<Term> = values
                    .iter()
                    .map(|v| Term::from_field_text(field, v))
                    .collect();
                bits.intersect_with(&docsets::any_term(segment, &terms)?);
            }
            Ok(())
        };
        any_of(f.kind, &req.kinds)?;
        any_of(f.dimension, &req.dimensions)?;
        any_of(f.target_group, &req.target_groups)?;
        if let Some(region) = &req.region {
            // Every prefix of the household's code is a scope that covers it.
            let code = region.as_str();
            let prefixes: Vec<String> = (0..=code.len())
                .filter(|i| code.is_char_boundary(*i))
                .map(|i| code[..i].to_string())
                .collect();
            any_of(f.scope, &prefixes)?;
        }
        if let Some(day) = req.valid_on.map(day_number) {
            let valid = cache.get(segment, &format!("valid:{day}"), || {
                let mut started = docsets::i64_range(segment, "valid_from", i64::MIN..=day)?;
                started.intersect_with(&docsets::i64_range(
                    segment,
                    "valid_until",
                    day..=i64::MAX,
                )?);
                Ok(started)
            })?;
            bits.intersect_with(&valid);
        }
        if req.available {
            let available = cache.get(segment, "available", || {
                docsets::i64_range(segment, "remaining", 1..=i64::MAX)
            })?;
            bits.intersect_with(&available);
        }
        Ok(Arc::new(bits))
    }

    /// Every term of the words with its BM25 weight, boosted as the option
    /// it comes from (a part of a phrase by its share; the highest when a
    /// term comes from several).
    fn ranking_terms(
        &self,
        searcher: &Searcher,
        groups: &[WordGroup],
    ) -> tantivy::Result<Vec<(String, Bm25Weight)>> {
        let mut boosts: BTreeMap<&str, f32> = BTreeMap::new();
        for g in groups {
            for (terms, weight) in &g.options {
                let w = weight / terms.len() as f32;
                for t in terms {
                    let slot = boosts.entry(t.as_str()).or_insert(0.0);
                    *slot = slot.max(w);
                }
            }
        }
        boosts
            .into_iter()
            .map(|(word, boost)| {
                let bm25 = Bm25Weight::for_terms(searcher, &[self.term(word)])?;
                Ok((word.to_string(), bm25.boost_by(boost)))
            })
            .collect()
    }

    /// Runs a search against the current reader.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, AppError> {
        let searcher = self.reader.searcher();
        self.sets.prune(&searcher);
        let q = req.q.trim();
        let words = if q.is_empty() {
            Vec::new()
        } else {
            self.query_words(q)
        };
        let (groups, synonyms_used) = self.word_groups(&words);
        let per_page = req.per_page.clamp(1, 100);
        let page = req.page.max(1);
        let offset = (page - 1).saturating_mul(per_page);
        let err = |e: tantivy::TantivyError| AppError::Internal(format!("search: {e}"));

        let terms = self.ranking_terms(&searcher, &groups).map_err(err)?;
        let wanted = offset.saturating_add(per_page);
        // Which documents match, per segment, and how many of each facet;
        // the best of them by score (by recency without words).
        let mut counts = Counts::default();
        let mut best = TopN::new(wanted);
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let filters = self.filter_matches(segment, req).map_err(err)?;
            let ord = ord as u32;
            if groups.is_empty() && !q.is_empty() {
                // Only stop words or punctuation: nothing can match.
                continue;
            } else if groups.is_empty() {
                self.sets
                    .facets(segment)
                    .map_err(err)?
                    .count(&filters, &mut counts);
                let updated = segment.fast_fields().i64("updated").map_err(err)?;
                for doc in filters.ones() {
                    let at = updated.first(doc as DocId).unwrap_or(i64::MIN);
                    best.offer(at as f64, DocAddress::new(ord, doc as DocId));
                }
            } else {
                let facets = self.sets.facets(segment).map_err(err)?;
                SCORES
                    .with_borrow_mut(|scores| {
                        scores.clear();
                        scores.resize(segment.max_doc() as usize, 0.0);
                        let mut found = self.text_matches(segment, &groups, &terms, scores)?;
                        found.intersect_with(&filters);
                        facets.count(&found, &mut counts);
                        for doc in found.ones() {
                            best.offer(f64::from(scores[doc]), DocAddress::new(ord, doc as DocId));
                        }
                        Ok(())
                    })
                    .map_err(err)?;
            }
        }
        let total = counts.total;
        let docs: Vec<(f32, DocAddress)> = best
            .into_sorted()
            .into_iter()
            .map(|(value, addr)| (if groups.is_empty() { 0.0 } else { value as f32 }, addr))
            .collect();
        let highlighter = Highlighter::new(
            &groups
                .iter()
                .flat_map(|g| g.terms().cloned())
                .collect::<Vec<_>>(),
        );
        let hits = docs
            .into_iter()
            .skip(offset)
            .map(|(score, addr)| self.hit(&searcher, addr, score, &highlighter))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchResults {
            total,
            page,
            per_page,
            hits,
            facets: Facets {
                kind: counts.by_kind(),
                dimension: counts.by_dimension(),
            },
            words,
            synonyms_used,
        })
    }

    /// The refs of the `limit` newest resources that pass `req`'s filters
    /// (its words, page and page size ignored): a cheap candidate list for
    /// matching, read from the filters' cached bit sets.
    pub fn filtered_refs(
        &self,
        req: &SearchRequest,
        limit: usize,
    ) -> Result<Vec<String>, AppError> {
        let searcher = self.reader.searcher();
        self.sets.prune(&searcher);
        let err = |e: tantivy::TantivyError| AppError::Internal(format!("search: {e}"));
        let mut best = TopN::new(limit);
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let filters = self.filter_matches(segment, req).map_err(err)?;
            let updated = segment.fast_fields().i64("updated").map_err(err)?;
            for doc in filters.ones() {
                let at = updated.first(doc as DocId).unwrap_or(i64::MIN);
                best.offer(at as f64, DocAddress::new(ord as u32, doc as DocId));
            }
        }
        best.into_sorted()
            .into_iter()
            .map(|(_, addr)| {
                let doc: TantivyDocument = searcher
                    .doc(addr)
                    .map_err(|e| AppError::Internal(format!("search doc: {e}")))?;
                Ok(doc
                    .get_first(self.fields.ref_code)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string())
            })
            .collect()
    }

    fn hit(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        score: f32,
        highlighter: &Highlighter,
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
        Ok(Hit {
            ref_code: text(f.ref_code),
            kind: text(f.kind),
            title: text(f.title),
            snippet: highlighter.snippet(&text(f.extract)),
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
}

/// Cuts highlighted snippets: the query's index words are found in a hit's
/// extract (ASCII case ignored; where matches overlap, the leftmost and then
/// the longest wins) and marked with `<b>`.
struct Highlighter {
    words: Vec<memmem::Finder<'static>>,
}

/// Characters in a snippet.
const SNIPPET_CHARS: usize = 120;
/// Characters shown before the first highlighted word when the snippet
/// does not start at the beginning.
const SNIPPET_LEAD: usize = 12;

impl Highlighter {
    fn new(words: &[String]) -> Highlighter {
        let mut words: Vec<String> = words
            .iter()
            .map(|w| w.trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        words.sort_unstable();
        words.dedup();
        Highlighter {
            words: words
                .iter()
                .map(|w| memmem::Finder::new(w.as_bytes()).into_owned())
                .collect(),
        }
    }

    /// Where the words occur in `text`, as byte ranges in text order.
    fn find(&self, text: &str) -> Vec<(usize, usize)> {
        // ASCII lower-casing keeps every byte offset.
        let lower = text.to_ascii_lowercase();
        let mut all: Vec<(usize, usize)> = self
            .words
            .iter()
            .flat_map(|f| {
                let len = f.needle().len();
                f.find_iter(lower.as_bytes()).map(move |s| (s, s + len))
            })
            .collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut end = 0;
        all.retain(|(s, e)| {
            let keep = *s >= end;
            if keep {
                end = *e;
            }
            keep
        });
        all
    }

    /// A window of the text around the most matched words, HTML-escaped,
    /// matches in `<b>`; the start of the text when none occurs.
    fn snippet(&self, text: &str) -> String {
        let matches = self.find(text);
        // Byte offset of every character, and the end.
        let bounds: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .collect();
        let chars = bounds.len() - 1;
        let char_at = |byte: usize| bounds.partition_point(|b| *b < byte);
        let mut start = 0;
        if chars > SNIPPET_CHARS && !matches.is_empty() {
            // The window (starting a little before some match) holding the
            // most matches; the earliest such window.
            let inside = |from: usize| {
                let to = from + SNIPPET_CHARS;
                matches
                    .iter()
                    .filter(|(s, e)| char_at(*s) >= from && char_at(*e) <= to)
                    .count()
            };
            let mut best = (inside(0), 0);
            for (s, _) in &matches {
                let from = char_at(*s).saturating_sub(SNIPPET_LEAD);
                let from = from.min(chars - SNIPPET_CHARS);
                let n = inside(from);
                if n > best.0 {
                    best = (n, from);
                }
            }
            start = best.1;
        }
        let end = (start + SNIPPET_CHARS).min(chars);
        let (from, to) = (bounds[start], bounds[end]);
        let mut out = String::with_capacity((to - from) + 32);
        if start > 0 {
            out.push('…');
        }
        let mut at = from;
        for (s, e) in matches.into_iter().filter(|(s, e)| *s >= from && *e <= to) {
            push_escaped(&mut out, &text[at..s]);
            out.push_str("<b>");
            push_escaped(&mut out, &text[s..e]);
            out.push_str("</b>");
            at = e;
        }
        push_escaped(&mut out, &text[at..to]);
        if end < chars {
            out.push('…');
        }
        out
    }
}

thread_local! {
    /// Each document's score while a search runs (kept between searches, so
    /// that a search does not ask the allocator for fresh pages).
    static SCORES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The `n` highest-valued documents seen, ties to the earlier address.
struct TopN {
    n: usize,
    /// The worst kept entry on top.
    heap: BinaryHeap<Ranked>,
}

struct Ranked(f64, DocAddress);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    /// Greater is worse: a lower value, or the same value further on.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl TopN {
    fn new(n: usize) -> TopN {
        TopN {
            n,
            heap: BinaryHeap::with_capacity(n.min(1024) + 1),
        }
    }

    #[inline]
    fn offer(&mut self, value: f64, addr: DocAddress) {
        if self.n == 0 {
            return;
        }
        if self.heap.len() < self.n {
            self.heap.push(Ranked(value, addr));
            return;
        }
        // Most documents fall short of the worst kept one.
        let Some(worst) = self.heap.peek() else {
            return;
        };
        if value < worst.0 {
            return;
        }
        let entry = Ranked(value, addr);
        if entry < *worst {
            self.heap.pop();
            self.heap.push(entry);
        }
    }

    /// Best first.
    fn into_sorted(self) -> Vec<(f64, DocAddress)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|Ranked(v, a)| (v, a))
            .collect()
    }
}

/// Appends `s` HTML-escaped.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn marks_the_longest_words_and_escapes_the_rest() {
        let h = Highlighter::new(&words(&["低保", "最低生活保障", "app"]));
        assert_eq!(
            h.snippet("享受最低生活保障的<家庭>可用APP申请低保"),
            "享受<b>最低生活保障</b>的&lt;家庭&gt;可用<b>APP</b>申请<b>低保</b>"
        );
    }

    #[test]
    fn without_matches_shows_the_start() {
        let h = Highlighter::new(&words(&["助餐"]));
        let text = "甲".repeat(200);
        let s = h.snippet(&text);
        assert_eq!(s, format!("{}…", "甲".repeat(SNIPPET_CHARS)));
        assert_eq!(Highlighter::new(&[]).snippet("短文本"), "短文本");
    }

    #[test]
    fn the_window_moves_to_the_matches() {
        let h = Highlighter::new(&words(&["助餐"]));
        let text = format!("{}老年助餐服务{}", "甲".repeat(200), "乙".repeat(200));
        let s = h.snippet(&text);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("老年<b>助餐</b>服务"), "{s}");
        assert_eq!(
            s.replace("<b>", "").replace("</b>", "").chars().count(),
            SNIPPET_CHARS + 2
        );
    }
}
