//! Catalogue search over HTTP: synonyms, pinyin, every filter, facets,
//! region scoping, freshness after writes, catch-up after a restart,
//! rebuilding a lost or corrupt index, and two instances agreeing.

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{start_server, TestApp, ORG_A};

fn resource(
    r: &str,
    kind: &str,
    title: &str,
    summary: &str,
    region: &str,
    dims: &[&str],
    groups: &[&str],
) -> Value {
    json!({
        "ref": r, "kind": kind, "title": title, "summary": summary, "body": "",
        "provider": ORG_A, "region": region, "dimensions": dims, "target_groups": groups,
        "valid_from": "2025-01-01", "status": "published",
        "capacity": if kind == "policy" { Value::Null } else { json!({"total": 10, "remaining": 5, "unit": "份"}) },
    })
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The refs a search returns, best first.
async fn refs(app: &TestApp, query: &str) -> Vec<String> {
    let (status, body) = app
        .get(
            &format!("/api/v1/resources/search?per_page=50&{query}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["ref"].as_str().unwrap().to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Waits (up to `limit`) until `query` returns `expected`; returns how long it took.
async fn wait_for(app: &TestApp, query: &str, expected: &[&str], limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = sorted(refs(app, query).await);
        let want = sorted(expected.iter().map(|s| s.to_string()).collect());
        if got == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{query}: still {got:?} after {limit:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn fixtures(app: &TestApp) -> String {
    let admin = app.token("admin").await;
    let mut docs = vec![
        resource(
            "P-DIBAO",
            "policy",
            "上海市最低生活保障",
            "家庭月人均收入低于标准的可申请差额补助",
            "310000",
            &["income"],
            &["dibao"],
        ),
        resource(
            "S-ZHUCAN",
            "service",
            "社区长者助餐服务",
            "为辖区长者提供午餐和送餐上门",
            "310118-003",
            &["daily_care"],
            &["elderly"],
        ),
        resource(
            "M-MIANBEI",
            "material",
            "冬季爱心棉被",
            "入冬前为独居老人送棉被",
            "310104",
            &["income", "safety"],
            &["elderly_alone"],
        ),
        resource(
            "F-OLD",
            "funding",
            "往年助学金",
            "已经结束的助学金项目",
            "310000",
            &["education"],
            &["child"],
        ),
        resource(
            "F-NEXT",
            "funding",
            "明年助学金",
            "明年开始的助学金项目",
            "310000",
            &["education"],
            &["child"],
        ),
    ];
    docs[2]["capacity"] = json!({"total": 100, "remaining": 0, "unit": "床"});
    docs[3]["valid_until"] = json!("2025-12-31");
    docs[4]["valid_from"] = json!("2027-01-01");
    for d in &docs {
        let (status, body) = app.post("/api/v1/resources", Some(&admin), d).await;
        assert_eq!(status, 201, "{body}");
    }
    let mut draft = resource(
        "S-DRAFT",
        "service",
        "社区长者助餐草稿",
        "草稿不可见",
        "310118",
        &["daily_care"],
        &["elderly"],
    );
    draft["status"] = json!("draft");
    assert_eq!(
        app.post("/api/v1/resources", Some(&admin), &draft).await.0,
        201
    );
    wait_for(
        app,
        "",
        &["P-DIBAO", "S-ZHUCAN", "M-MIANBEI"],
        Duration::from_secs(5),
    )
    .await;
    admin
}

async fn synonyms_pinyin_filters_and_facets(app: TestApp) {
    fixtures(&app).await;
    // Synonyms: the text says 最低生活保障 / 长者助餐; people type 低保 / 老人吃饭.
    assert_eq!(refs(&app, &format!("q={}", enc("低保"))).await, ["P-DIBAO"]);
    assert_eq!(
        refs(&app, &format!("q={}", enc("老人吃饭没人管"))).await[0],
        "S-ZHUCAN"
    );
    // Pinyin, with and without spaces.
    assert_eq!(refs(&app, "q=dibao").await, ["P-DIBAO"]);
    assert_eq!(
        refs(&app, &format!("q={}", enc("zhu can"))).await,
        ["S-ZHUCAN"]
    );
    assert_eq!(
        refs(&app, &format!("q={}", enc("zui di sheng huo bao zhang"))).await,
        ["P-DIBAO"]
    );
    // Drafts never appear; nonsense finds nothing.
    assert!(refs(&app, &format!("q={}", enc("草稿"))).await.is_empty());
    assert!(refs(&app, &format!("q={}", enc("宠物医院")))
        .await
        .is_empty());

    // Every filter.
    assert_eq!(refs(&app, "kind=service").await, ["S-ZHUCAN"]);
    assert_eq!(
        sorted(refs(&app, "kind=service&kind=material").await),
        ["M-MIANBEI", "S-ZHUCAN"]
    );
    assert_eq!(refs(&app, "dimension=safety").await, ["M-MIANBEI"]);
    assert_eq!(
        sorted(refs(&app, "target_group=elderly&target_group=elderly_alone").await),
        ["M-MIANBEI", "S-ZHUCAN"]
    );
    // Region: a household's code matches resources whose scope is a prefix of it
    // (310000 covers the whole city; 310118-003 only that street).
    assert_eq!(
        sorted(refs(&app, "region=310118-003-012").await),
        ["P-DIBAO", "S-ZHUCAN"]
    );
    assert_eq!(
        sorted(refs(&app, "region=310104-001").await),
        ["M-MIANBEI", "P-DIBAO"]
    );
    assert_eq!(
        sorted(refs(&app, "region=310118-004-001").await),
        ["P-DIBAO"]
    );
    // Validity: today by default; another day on request.
    assert_eq!(
        refs(&app, "valid_on=2025-06-01&kind=funding").await,
        ["F-OLD"]
    );
    assert_eq!(
        refs(&app, "valid_on=2027-02-01&kind=funding").await,
        ["F-NEXT"]
    );
    assert!(refs(&app, "kind=funding").await.is_empty());
    // Availability: capacity remaining > 0 (no capacity means no limit).
    assert_eq!(
        sorted(refs(&app, "available=true").await),
        ["P-DIBAO", "S-ZHUCAN"]
    );

    // Facets count the matching set, per kind and dimension.
    let (_, body) = app.get("/api/v1/resources/search", None).await;
    assert_eq!(body["total"], 3);
    assert_eq!(
        body["facets"]["kind"],
        json!({"policy": 1, "service": 1, "material": 1})
    );
    assert_eq!(
        body["facets"]["dimension"],
        json!({"income": 2, "daily_care": 1, "safety": 1})
    );
    let (_, body) = app
        .get("/api/v1/resources/search?dimension=income", None)
        .await;
    assert_eq!(body["facets"]["kind"], json!({"policy": 1, "material": 1}));
    // An empty query lists by recency: the last published first.
    assert_eq!(refs(&app, "").await[0], "M-MIANBEI");
    // Snippets are highlighted; paging works.
    let (_, body) = app
        .get(&format!("/api/v1/resources/search?q={}", enc("棉被")), None)
        .await;
    assert!(
        body["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<b>棉被</b>"),
        "{body}"
    );
    assert_eq!(body["hits"][0]["title"], "冬季爱心棉被");
    let (_, p2) = app
        .get("/api/v1/resources/search?per_page=2&page=2", None)
        .await;
    assert_eq!(p2["hits"].as_array().unwrap().len(), 1);
    assert_eq!(p2["total"], 3);
    // Bad parameters name the field; never a 5xx.
    for (query, field) in [
        ("kind=gift", "kind"),
        ("region=31-0", "region"),
        ("page=0", "page"),
        ("valid_on=tomorrow", "valid_on"),
        ("available=maybe", "available"),
    ] {
        let (status, err) = app
            .get(&format!("/api/v1/resources/search?{query}"), None)
            .await;
        assert_eq!(status, 422, "{query}");
        assert_eq!(err["error"]["field"], field, "{query}");
    }
    let (status, _) = app
        .get(
            &format!("/api/v1/resources/search?q={}", enc("\"(*&^%$#@!)[]{}:~")),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

async fn writes_are_searchable_within_a_second(app: TestApp) {
    let admin = fixtures(&app).await;
    let q = format!("q={}", enc("棉被"));
    let (status, _) = app
        .post(
            "/api/v1/resources/M-MIANBEI/withdraw",
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let took = wait_for(&app, &q, &[], Duration::from_secs(1)).await;
    println!("withdrawal left the index after {took:?}");
    let mut edited = resource(
        "S-ZHUCAN",
        "service",
        "社区长者助餐和理发服务",
        "为辖区长者提供午餐和上门理发",
        "310118-003",
        &["daily_care"],
        &["elderly"],
    );
    edited["status"] = json!("published");
    assert_eq!(
        app.put("/api/v1/resources/S-ZHUCAN", Some(&admin), &edited)
            .await
            .0,
        200
    );
    wait_for(
        &app,
        &format!("q={}", enc("理发")),
        &["S-ZHUCAN"],
        Duration::from_secs(1),
    )
    .await;
    let new = resource(
        "S-NEW",
        "service",
        "上门理发服务",
        "为行动不便老人上门理发",
        "310118",
        &["daily_care"],
        &["elderly"],
    );
    assert_eq!(
        app.post("/api/v1/resources", Some(&admin), &new).await.0,
        201
    );
    wait_for(
        &app,
        &format!("q={}", enc("理发")),
        &["S-ZHUCAN", "S-NEW"],
        Duration::from_secs(1),
    )
    .await;
}

fn import(app: &TestApp, records: &[Value]) {
    let file = app.data_dir().join("while-down.jsonl");
    std::fs::write(
        &file,
        records
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let out = app.cli([
        OsStr::new("import"),
        OsStr::new("resources"),
        file.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn the_index_catches_up_and_rebuilds_itself(mut app: TestApp) {
    fixtures(&app).await;
    app.stop().await;
    // Changes made while the server is down...
    let mut gone = resource(
        "S-ZHUCAN",
        "service",
        "社区长者助餐服务",
        "为辖区长者提供午餐",
        "310118-003",
        &["daily_care"],
        &["elderly"],
    );
    gone["status"] = json!("withdrawn");
    import(
        &app,
        &[
            resource(
                "P-LINSHI",
                "policy",
                "临时救助",
                "遭遇急难的家庭可申请临时救助",
                "310000",
                &["income"],
                &["low_income"],
            ),
            gone,
        ],
    );
    // ...are searchable as soon as it is back: it catches up from the change log.
    let (address, handle) = start_server(app.settings.clone()).await;
    app.moved_to(address, handle);
    assert_eq!(
        refs(&app, &format!("q={}", enc("临时救助"))).await,
        ["P-LINSHI"]
    );
    assert!(refs(&app, &format!("q={}", enc("助餐"))).await.is_empty());

    // A deleted index directory is rebuilt from the database on start.
    app.stop().await;
    std::fs::remove_dir_all(app.settings.index_dir()).unwrap();
    let (address, handle) = start_server(app.settings.clone()).await;
    app.moved_to(address, handle);
    assert_eq!(
        sorted(refs(&app, "").await),
        ["M-MIANBEI", "P-DIBAO", "P-LINSHI"]
    );

    // So is a corrupt one.
    app.stop().await;
    std::fs::write(app.settings.index_dir().join("meta.json"), b"{ not json").unwrap();
    let (address, handle) = start_server(app.settings.clone()).await;
    app.moved_to(address, handle);
    assert_eq!(
        sorted(refs(&app, "").await),
        ["M-MIANBEI", "P-DIBAO", "P-LINSHI"]
    );

    // `aidmatch reindex` refuses while the server holds the index...
    let reindex = || app.cli(["reindex"]);
    let out = reindex();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
    // ...and rebuilds from scratch when it is stopped.
    app.stop().await;
    let out = reindex();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("5 项资源"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

async fn two_instances_agree(app: TestApp) {
    if !app.database_url().starts_with("postgres") {
        return; // two instances share a database only on PostgreSQL
    }
    let admin = fixtures(&app).await;
    let second_dir = tempfile::tempdir().unwrap();
    let mut settings = app.settings.clone();
    settings.data_dir = second_dir.path().to_path_buf();
    let (address, handle) = start_server(settings).await;
    let mut second = crate::helpers::detached(&app);
    second.moved_to(address, handle);
    // The second instance built its own index from the shared database.
    wait_for(
        &second,
        "",
        &["P-DIBAO", "S-ZHUCAN", "M-MIANBEI"],
        Duration::from_secs(2),
    )
    .await;
    // A change through one is searchable on the other within 2 seconds.
    let new = resource(
        "S-LIFA",
        "service",
        "上门理发服务",
        "为行动不便老人上门理发",
        "310118",
        &["daily_care"],
        &["elderly"],
    );
    assert_eq!(
        app.post("/api/v1/resources", Some(&admin), &new).await.0,
        201
    );
    let took = wait_for(
        &second,
        &format!("q={}", enc("理发")),
        &["S-LIFA"],
        Duration::from_secs(2),
    )
    .await;
    println!("second instance saw the new resource after {took:?}");
    let admin2 = second.token("admin").await;
    assert_eq!(
        second
            .post(
                "/api/v1/resources/S-LIFA/withdraw",
                Some(&admin2),
                &json!({})
            )
            .await
            .0,
        200
    );
    wait_for(
        &app,
        &format!("q={}", enc("理发")),
        &[],
        Duration::from_secs(2),
    )
    .await;
    second.handle.stop(true).await;
}

crate::backend_tests!(
    synonyms_pinyin_filters_and_facets,
    writes_are_searchable_within_a_second,
    the_index_catches_up_and_rebuilds_itself,
    two_instances_agree,
);
