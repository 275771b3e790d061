//! Catalogue search: a tantivy index of published resources with Chinese
//! segmentation, synonyms and pinyin, kept in step with the database through
//! the change log. The database is the source of truth: the index can always
//! be rebuilt from it, and is, when it is missing, corrupt or outdated.

pub mod analysis;
pub mod docsets;
pub mod query;
pub mod request;
pub mod schema;
pub mod stats;
pub mod sync;
pub mod synonyms;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use tantivy::directory::MmapDirectory;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy};

pub use query::{SearchRequest, SearchResults};

use analysis::{pinyin_spellings, Segmenter, TOKENIZER};
use schema::{Fields, SCHEMA_VERSION};
use synonyms::Synonyms;

use crate::error::AppError;

const DEFAULT_USERDICT: &str = include_str!("../../index/userdict.txt");
const DEFAULT_SYNONYMS: &str = include_str!("../../index/synonyms.txt");
const DEFAULT_STOPWORDS: &str = include_str!("../../index/stopwords.txt");

/// The editable analysis files (`index/` in the repository).
#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    pub user_dict: String,
    pub synonyms: String,
    pub stopwords: String,
}

impl AnalysisConfig {
    /// Reads `userdict.txt`, `synonyms.txt` and `stopwords.txt` from `dir`;
    /// a file that is absent falls back to the copy built into the binary.
    pub fn load(dir: &Path) -> AnalysisConfig {
        let read = |name: &str, default: &str| {
            std::fs::read_to_string(dir.join(name)).unwrap_or_else(|_| default.to_string())
        };
        AnalysisConfig {
            user_dict: read("userdict.txt", DEFAULT_USERDICT),
            synonyms: read("synonyms.txt", DEFAULT_SYNONYMS),
            stopwords: read("stopwords.txt", DEFAULT_STOPWORDS),
        }
    }
}

/// Pinyin spelling → the indexed words spelled so, most frequent first.
#[derive(Debug, Default)]
struct Vocabulary {
    generation: u64,
    words: HashMap<String, Vec<(String, u64)>>,
    longest: usize,
}

pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    segmenter: Segmenter,
    synonyms: Synonyms,
    stopwords: HashSet<String>,
    sync: Mutex<sync::SyncState>,
    vocabulary: RwLock<Vocabulary>,
    /// Filter, deletion and facet sets kept between searches.
    sets: docsets::SetCache,
    dir: PathBuf,
}

/// The commit payload: which schema built the index and which change it has applied.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Payload {
    schema: u32,
    applied_upto: i64,
}

fn tantivy_err(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("search index: {e}"))
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when missing and recreating it
    /// (empty, to be filled from the database) when it is corrupt or was built
    /// with another schema. The second value says whether it starts empty.
    pub fn open(dir: &Path, config: &AnalysisConfig) -> Result<(SearchIndex, bool), AppError> {
        let (schema, fields) = schema::build();
        std::fs::create_dir_all(dir).map_err(tantivy_err)?;
        let existing = MmapDirectory::open(dir)
            .map_err(tantivy_err)
            .and_then(|d| Index::open(d).map_err(tantivy_err))
            .and_then(|index| {
                let metas = index.load_metas().map_err(tantivy_err)?;
                let payload: Option<Payload> = metas
                    .payload
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p).ok());
                match payload {
                    Some(p) if p.schema == SCHEMA_VERSION && index.schema() == schema => {
                        Ok((index, p.applied_upto))
                    }
                    _ => Err(tantivy_err("index built by another version")),
                }
            });
        let (index, applied_upto, fresh) = match existing {
            Ok((index, upto)) => (index, upto, false),
            Err(e) => {
                if dir.join("meta.json").exists() {
                    tracing::warn!(error = %e, dir = %dir.display(), "search index unusable; rebuilding from the database");
                }
                std::fs::remove_dir_all(dir).map_err(tantivy_err)?;
                std::fs::create_dir_all(dir).map_err(tantivy_err)?;
                let index = Index::builder()
                    .schema(schema)
                    .settings(schema::index_settings())
                    .create_in_dir(dir)
                    .map_err(tantivy_err)?;
                (index, 0, true)
            }
        };
        let segmenter = Segmenter::new(&config.user_dict);
        index
            .tokenizers()
            .register(TOKENIZER, TextAnalyzer::from(segmenter.tokenizer()));
        let writer = index
            .writer_with_num_threads(1, 64 * 1024 * 1024)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => AppError::Internal(format!(
                    "search index {} is in use by another aidmatch process (each instance needs its own data directory)",
                    dir.display()
                )),
                other => tantivy_err(other),
            })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy_err)?;
        let stopwords = config
            .stopwords
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim().to_lowercase())
            .filter(|l| !l.is_empty())
            .collect();
        let engine = SearchIndex {
            reader,
            writer: Mutex::new(writer),
            fields,
            segmenter,
            synonyms: Synonyms::parse(&config.synonyms),
            stopwords,
            sync: Mutex::new(sync::SyncState::new(applied_upto)),
            vocabulary: RwLock::new(Vocabulary::default()),
            sets: docsets::SetCache::default(),
            dir: dir.to_path_buf(),
        };
        engine.warm();
        Ok((engine, fresh))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of documents visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Total size of the index files in bytes.
    pub fn size_bytes(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// The change-log sequence this index has applied.
    pub fn applied_upto(&self) -> i64 {
        self.sync
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .applied_upto
    }

    /// Does, after the reader has moved on, the work the first search would
    /// otherwise do: the pinyin vocabulary, the sets of new segments.
    fn warm(&self) {
        self.refresh_vocabulary();
        let searcher = self.reader.searcher();
        self.sets.prune(&searcher);
        for segment in searcher.segment_readers() {
            if let Err(e) = self
                .sets
                .facets(segment)
                .and_then(|_| self.sets.alive(segment))
            {
                tracing::warn!(error = %e, "warming the search index");
            }
        }
    }

    /// Rebuilds the vocabulary used to read pinyin queries when the index
    /// has changed: the words of titles, summaries and benefits, plus the
    /// user dictionary's and the synonyms' words.
    fn refresh_vocabulary(&self) {
        let searcher = self.reader.searcher();
        let generation = searcher.generation().generation_id();
        if self
            .vocabulary
            .read()
            .map(|v| v.generation == generation && !v.words.is_empty())
            .unwrap_or(false)
        {
            return;
        }
        let mut freq: HashMap<String, u64> = HashMap::new();
        for segment in searcher.segment_readers() {
            let Ok(inverted) = segment.inverted_index(self.fields.vocabulary) else {
                continue;
            };
            let Ok(mut stream) = inverted.terms().stream() else {
                continue;
            };
            while stream.advance() {
                if let Ok(word) = std::str::from_utf8(stream.key()) {
                    if word.chars().count() >= 2 && !word.is_ascii() {
                        *freq.entry(word.to_string()).or_default() +=
                            u64::from(stream.value().doc_freq);
                    }
                }
            }
        }
        let extra: Vec<String> = self
            .synonyms
            .words()
            .map(str::to_string)
            .chain(
                DEFAULT_USERDICT
                    .lines()
                    .filter_map(|l| l.split_whitespace().next().map(str::to_string)),
            )
            .collect();
        for w in extra {
            freq.entry(w).or_insert(1);
        }
        let mut words: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        let mut longest = 0;
        for (word, n) in freq {
            for spelling in pinyin_spellings(&word) {
                longest = longest.max(spelling.len());
                words.entry(spelling).or_default().push((word.clone(), n));
            }
        }
        for list in words.values_mut() {
            list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            list.truncate(3);
        }
        if let Ok(mut v) = self.vocabulary.write() {
            *v = Vocabulary {
                generation,
                words,
                longest,
            };
        }
    }

    /// Reads a full-pinyin query as Chinese words: the letters (spaces
    /// ignored) are split into the fewest known spellings; each becomes its
    /// most frequent word (and up to two alternatives).
    pub(crate) fn pinyin_to_words(&self, q: &str) -> String {
        self.refresh_vocabulary();
        let Ok(vocab) = self.vocabulary.read() else {
            return q.to_string();
        };
        let letters: Vec<u8> = q
            .bytes()
            .filter(u8::is_ascii_alphabetic)
            .map(|b| b.to_ascii_lowercase())
            .collect();
        let n = letters.len();
        // best[i] = (skipped letters, words) for the first i letters.
        let mut best: Vec<Option<(usize, usize, usize)>> = vec![None; n + 1];
        best[0] = Some((0, 0, 0));
        for i in 0..n {
            let Some((skipped, count, _)) = best[i] else {
                continue;
            };
            // Skip one letter (unknown spelling).
            let cand = (skipped + 1, count, i);
            if best[i + 1].is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                best[i + 1] = Some(cand);
            }
            for len in 2..=vocab.longest.min(n - i) {
                let key = std::str::from_utf8(&letters[i..i + len]).unwrap_or("");
                if vocab.words.contains_key(key) {
                    let cand = (skipped, count + 1, i);
                    if best[i + len].is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                        best[i + len] = Some(cand);
                    }
                }
            }
        }
        let mut pieces = Vec::new();
        let mut end = n;
        while end > 0 {
            let Some((_, _, start)) = best[end] else {
                break;
            };
            let key = std::str::from_utf8(&letters[start..end]).unwrap_or("");
            if end - start >= 2 {
                if let Some((word, _)) = vocab.words.get(key).and_then(|l| l.first()) {
                    pieces.push(word.clone());
                }
            }
            end = start;
        }
        if pieces.is_empty() {
            return q.to_string();
        }
        pieces.reverse();
        pieces.join(" ")
    }
}
