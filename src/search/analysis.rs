//! Chinese text analysis: jieba word segmentation with the domain user
//! dictionary (`index/userdict.txt`), shared by indexing and querying, and
//! full-pinyin spelling of words.

use std::sync::Arc;

use jieba_rs::{Jieba, TokenizeMode};
use pinyin::ToPinyinMulti;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The name the tokenizer is registered under on every index.
pub const TOKENIZER: &str = "zh_jieba";

/// One jieba instance per process (loading the dictionary takes ~0.5 s).
#[derive(Clone)]
pub struct Segmenter {
    jieba: Arc<Jieba>,
}

impl Segmenter {
    /// Jieba's dictionary plus the user dictionary: one entry a line,
    /// `word [freq] [tag]`; `#` starts a comment.
    pub fn new(user_dict: &str) -> Segmenter {
        let mut jieba = Jieba::new();
        for line in user_dict.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let mut parts = line.split_whitespace();
            let Some(word) = parts.next() else { continue };
            let freq = parts.next().and_then(|f| f.parse().ok()).or(Some(20_000));
            let tag = parts.next();
            jieba.add_word(word, freq, tag);
        }
        Segmenter {
            jieba: Arc::new(jieba),
        }
    }

    /// Search-mode words of `text` (long words and their shorter parts),
    /// lower-cased, without punctuation or spaces.
    pub fn words(&self, text: &str) -> Vec<String> {
        self.jieba
            .cut_for_search(text, true)
            .into_iter()
            .filter(|t| t.word.chars().any(char::is_alphanumeric))
            .map(|t| t.word.to_lowercase())
            .collect()
    }

    /// The indexing tokenizer: search mode, so a long word is also found
    /// by its parts (最低生活保障 → 最低, 生活, 保障, 最低生活保障).
    /// Whether jieba (default mode) keeps `text` as a single word.
    pub fn is_one_word(&self, text: &str) -> bool {
        let words = self.jieba.cut(text, false);
        words.len() == 1 && words[0].word == text
    }

    pub fn tokenizer(&self) -> JiebaTokenizer {
        JiebaTokenizer {
            jieba: self.jieba.clone(),
            mode: TokenizeMode::Search,
            hmm: true,
        }
    }
}

/// A tantivy tokenizer over a shared jieba instance (cloning it is cheap,
/// which matters because tantivy clones tokenizers per use).
#[derive(Clone)]
pub struct JiebaTokenizer {
    jieba: Arc<Jieba>,
    mode: TokenizeMode,
    /// HMM guessing of unknown words.
    hmm: bool,
}

pub struct JiebaTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let mut tokens = Vec::new();
        for t in self.jieba.tokenize(text, self.mode, self.hmm) {
            if !t.word.chars().any(char::is_alphanumeric) {
                continue;
            }
            let offset_from = t.word.as_ptr() as usize - text.as_ptr() as usize;
            tokens.push(Token {
                offset_from,
                offset_to: offset_from + t.word.len(),
                position: t.start,
                text: t.word.to_lowercase(),
                position_length: t.end - t.start,
            });
        }
        JiebaTokenStream { tokens, index: 0 }
    }
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

/// Every full-pinyin spelling of `word` (toneless, `ü` written `v`), at most
/// 16 of them for words with several readings; empty when a character has none.
pub fn pinyin_spellings(word: &str) -> Vec<String> {
    let mut spellings = vec![String::new()];
    for c in word.chars() {
        if c.is_ascii_alphanumeric() {
            for s in &mut spellings {
                s.push(c.to_ascii_lowercase());
            }
            continue;
        }
        let Some(multi) = c.to_pinyin_multi() else {
            return Vec::new();
        };
        let mut readings: Vec<String> = multi
            .into_iter()
            .map(|p| p.plain().replace('ü', "v"))
            .collect();
        readings.dedup();
        let mut next = Vec::new();
        for s in &spellings {
            for r in &readings {
                if next.len() < 16 {
                    next.push(format!("{s}{r}"));
                }
            }
        }
        spellings = next;
    }
    spellings.sort();
    spellings.dedup();
    spellings
}

/// Whether a query looks like full pinyin: ASCII letters, spaces and
/// apostrophes only, with at least two letters.
pub fn looks_like_pinyin(q: &str) -> bool {
    let letters = q.chars().filter(char::is_ascii_alphabetic).count();
    letters >= 2
        && q.chars()
            .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '\'')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_dictionary_keeps_domain_words_whole() {
        let seg = Segmenter::new("适老化改造 50000\n低保边缘\n");
        let words = seg.words("居家适老化改造和低保边缘家庭救助");
        assert!(words.contains(&"适老化改造".to_string()), "{words:?}");
        assert!(words.contains(&"低保边缘".to_string()), "{words:?}");
    }

    #[test]
    fn pinyin_of_words() {
        assert_eq!(pinyin_spellings("低保"), vec!["dibao"]);
        assert!(pinyin_spellings("长者").contains(&"zhangzhe".to_string()));
        assert!(pinyin_spellings("法律").contains(&"falv".to_string()));
        assert!(looks_like_pinyin("lin shi jiu zhu"));
        assert!(!looks_like_pinyin("低保"));
        assert!(!looks_like_pinyin("a"));
    }
}
