//! Query-time synonyms from `index/synonyms.txt`: one group a line, members
//! separated by `=` (`长者 = 老人 = 老年人`); `#` starts a comment. A query
//! that contains a member is also searched with each other member in its place.

#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    groups: Vec<Vec<String>>,
}

/// One substitution made in a query, to show the user which synonyms were used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Expansion {
    pub from: String,
    pub to: String,
}

impl Synonyms {
    pub fn parse(text: &str) -> Synonyms {
        let groups = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .map(|l| {
                l.split(['=', '＝'])
                    .map(|w| w.trim().to_lowercase())
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|g| g.len() >= 2)
            .collect();
        Synonyms { groups }
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Every word that appears in a group (for the pinyin vocabulary).
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().flatten().map(String::as_str)
    }

    /// The substitutions that apply to `query`: for each group, the longest
    /// member found in the query, replaced by every other member.
    pub fn expansions(&self, query: &str) -> Vec<Expansion> {
        let query = query.to_lowercase();
        let mut out = Vec::new();
        for group in &self.groups {
            let Some(found) = group
                .iter()
                .filter(|m| query.contains(m.as_str()))
                .max_by_key(|m| m.chars().count())
            else {
                continue;
            };
            for other in group {
                // Skip members the query already contains (e.g. "老人" inside "老年人").
                if other != found && !query.contains(other.as_str()) {
                    out.push(Expansion {
                        from: found.clone(),
                        to: other.clone(),
                    });
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
    }
}
