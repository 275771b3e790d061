//! Query-time synonyms from `index/synonyms.txt`; `#` starts a comment.
//!
//! - `长者 = 老人 = 老年人`: equivalent words; a query containing one is also
//!   searched with each of the others in its place.
//! - `吃饭 => 助餐, 送餐`: one way; a query saying `吃饭` is also searched for
//!   `助餐` and `送餐`, but not the reverse (colloquial words lead to the
//!   catalogue's terms, never the catalogue's terms to every colloquialism).

#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    /// `(from, to)`: every word of `from` also searches for every word of `to`
    /// (for an equivalence group, both lists are the whole group).
    groups: Vec<(Vec<String>, Vec<String>)>,
}

/// One substitution made in a query, to show the user which synonyms were used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Expansion {
    pub from: String,
    pub to: String,
}

impl Synonyms {
    pub fn parse(text: &str) -> Synonyms {
        let words = |part: &str| -> Vec<String> {
            part.split(['=', '＝', ',', '，'])
                .map(|w| w.trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect()
        };
        let groups = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .filter_map(|l| match l.split_once("=>") {
                Some((from, to)) => {
                    let (from, to) = (words(from), words(to));
                    (!from.is_empty() && !to.is_empty()).then_some((from, to))
                }
                None => {
                    let group = words(l);
                    (group.len() >= 2).then(|| (group.clone(), group))
                }
            })
            .collect();
        Synonyms { groups }
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Every word that appears in a rule (for the pinyin vocabulary).
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.groups
            .iter()
            .flat_map(|(from, to)| from.iter().chain(to.iter()))
            .map(String::as_str)
    }

    /// The substitutions that apply to `query`: for each rule, the longest
    /// of its words found in the query, replaced by each word it leads to.
    pub fn expansions(&self, query: &str) -> Vec<Expansion> {
        let query = query.to_lowercase();
        let mut out: Vec<Expansion> = Vec::new();
        for (from, to) in &self.groups {
            let Some(found) = from
                .iter()
                .filter(|m| query.contains(m.as_str()))
                .max_by_key(|m| m.chars().count())
            else {
                continue;
            };
            for other in to {
                // Skip words the query already contains (低保 inside 低保户).
                let e = Expansion {
                    from: found.clone(),
                    to: other.clone(),
                };
                if other != found && !query.contains(other.as_str()) && !out.contains(&e) {
                    out.push(e);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_the_longest_member_found() {
        let s = Synonyms::parse("# comment\n长者 = 老人 = 老年人\n看病=就医=医疗\n低保 = 最低生活保障 = 低保户\n\n单独\n");
        assert_eq!(s.len(), 3);
        let e = s.expansions("老年人看病");
        assert!(e.contains(&Expansion {
            from: "老年人".into(),
            to: "长者".into()
        }));
        assert!(e.contains(&Expansion {
            from: "看病".into(),
            to: "就医".into()
        }));
        let d = s.expansions("低保户");
        assert_eq!(
            d,
            vec![Expansion {
                from: "低保户".into(),
                to: "最低生活保障".into()
            }],
            "低保 is already inside 低保户"
        );
        assert!(s.expansions("助学金").is_empty());
        let one_way = Synonyms::parse("吃饭 => 助餐, 送餐\n");
        assert_eq!(one_way.expansions("老人吃饭").len(), 2);
        assert!(
            one_way.expansions("社区助餐").is_empty(),
            "one-way rules do not reverse"
        );
    }
}
