//! Search relevance over the demo catalogue: the graded judgments in
//! `tests/relevance/queries.json` (exact names, abbreviations, synonyms,
//! colloquial needs, pinyin, and queries with no good answer), scored with
//! nDCG@10 through the real search endpoint.

use std::collections::HashMap;

use serde::Deserialize;

use crate::helpers::{try_spawn, Backend, TestApp};

#[derive(Deserialize)]
struct Judged {
    q: String,
    kind: String,
    judgments: HashMap<String, u32>,
}

fn dcg(gains: &[u32]) -> f64 {
    gains
        .iter()
        .enumerate()
        .map(|(i, g)| (2f64.powi(*g as i32) - 1.0) / ((i + 2) as f64).log2())
        .sum()
}

/// nDCG@10 of `ranked` refs; a query with no relevant resource scores 1 when
/// nothing is returned and 0 otherwise.
fn ndcg_at_10(ranked: &[String], judgments: &HashMap<String, u32>) -> f64 {
    if judgments.is_empty() {
        return if ranked.is_empty() { 1.0 } else { 0.0 };
    }
    let gains: Vec<u32> = ranked
        .iter()
        .take(10)
        .map(|r| *judgments.get(r).unwrap_or(&0))
        .collect();
    let mut ideal: Vec<u32> = judgments.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    ideal.truncate(10);
    dcg(&gains) / dcg(&ideal)
}

pub async fn load_demo(app: &TestApp) {
    let out = app.cli(["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The running server picks the demo up from the change log.
    for _ in 0..100 {
        let (_, body) = app.get("/api/v1/resources/search?per_page=1", None).await;
        if body["total"].as_u64().unwrap_or(0) >= 70 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the demo catalogue never became searchable");
}

#[actix_web::test]
async fn ndcg_at_10_over_the_demo_catalogue_is_at_least_0_80() {
    let app = try_spawn(Backend::Sqlite).await.unwrap();
    load_demo(&app).await;
    let queries: Vec<Judged> =
        serde_json::from_str(include_str!("../relevance/queries.json")).expect("queries.json");
    assert!(queries.len() >= 30);
    let mut by_kind: HashMap<String, Vec<f64>> = HashMap::new();
    let mut all = Vec::new();
    for j in &queries {
        let url = format!(
            "/api/v1/resources/search?per_page=10&q={}",
            url::form_urlencoded::byte_serialize(j.q.as_bytes()).collect::<String>()
        );
        let (status, body) = app.get(&url, None).await;
        assert_eq!(status, 200, "{}: {body}", j.q);
        let ranked: Vec<String> = body["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["ref"].as_str().unwrap().to_string())
            .collect();
        let score = ndcg_at_10(&ranked, &j.judgments);
        println!(
            "{score:.3}  [{}] {}  -> {:?}",
            j.kind,
            j.q,
            &ranked[..ranked.len().min(5)]
        );
        by_kind.entry(j.kind.clone()).or_default().push(score);
        all.push(score);
    }
    for (kind, scores) in &by_kind {
        println!(
            "{kind:<13} nDCG@10 = {:.3} over {}",
            scores.iter().sum::<f64>() / scores.len() as f64,
            scores.len()
        );
    }
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    println!("mean nDCG@10 = {mean:.3} over {} queries", all.len());
    assert!(mean >= 0.80, "mean nDCG@10 {mean:.3} is below 0.80");
}

#[test]
fn ndcg_is_computed_as_defined() {
    let j: HashMap<String, u32> = [("A".to_string(), 3), ("B".to_string(), 1)]
        .into_iter()
        .collect();
    assert!((ndcg_at_10(&["A".into(), "B".into()], &j) - 1.0).abs() < 1e-9);
    let swapped = ndcg_at_10(&["B".into(), "A".into()], &j);
    assert!(swapped < 1.0 && swapped > 0.5);
    assert_eq!(ndcg_at_10(&["X".into()], &j), 0.0);
    assert_eq!(ndcg_at_10(&[], &HashMap::new()), 1.0);
    assert_eq!(ndcg_at_10(&["X".into()], &HashMap::new()), 0.0);
}
