//! A real headless Chromium (Debian's chromium + chromium-driver, over
//! WebDriver): a charity signs in, creates a resource through the form and
//! finds it on the public list.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{try_spawn, Backend, ORG_A, PASSWORD};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver_path() -> Option<String> {
    if let Ok(p) = std::env::var("CHROMEDRIVER") {
        return Some(p);
    }
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts chromedriver and a headless Chromium session, or `None` (test
/// skipped) when the driver is not installed and not required.
async fn browser() -> Option<(Driver, fantoccini::Client)> {
    let Some(driver_path) = chromedriver_path() else {
        // The README's test command installs the driver; a bare `cargo test`
        // on a machine without it says so instead of failing.
        assert!(
            std::env::var("AIDMATCH_REQUIRE_BROWSER").is_err(),
            "chromedriver not found but AIDMATCH_REQUIRE_BROWSER is set"
        );
        eprintln!("skipped: chromedriver not installed");
        return None;
    };
    let port = free_port();
    let driver = Driver(
        Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    let chrome_binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .copied()
        .unwrap_or("/usr/bin/chromium");
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chrome_binary,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,1000"]
        }),
    );
    for _ in 0..50 {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return Some((driver, c)),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("could not connect to chromedriver");
}

#[actix_web::test]
async fn charity_creates_a_resource_in_a_real_browser() {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let app = try_spawn(Backend::Sqlite).await.unwrap();

    let result = async {
        sign_in(
            &c,
            &app,
            "charity_a",
            Locator::Css("a[href='/resources/new']"),
        )
        .await?;

        c.goto(&app.url("/resources/new")).await?;
        c.find(Locator::Id("ref"))
            .await?
            .send_keys("S-BROWSER-1")
            .await?;
        c.find(Locator::Id("title"))
            .await?
            .send_keys("浏览器测试：助老上门理发")
            .await?;
        c.find(Locator::Id("summary"))
            .await?
            .send_keys("为行动不便老人上门理发")
            .await?;
        c.find(Locator::Id("region"))
            .await?
            .send_keys("310118-003")
            .await?;
        c.find(Locator::Css("input[name='dimensions'][value='daily_care']"))
            .await?
            .click()
            .await?;
        c.find(Locator::Css("input[name='target_groups'][value='elderly']"))
            .await?
            .click()
            .await?;
        c.find(Locator::Id("status-published"))
            .await?
            .click()
            .await?;
        c.find(Locator::Id("save")).await?.click().await?;
        c.wait()
            .for_element(Locator::Css("article.resource h1"))
            .await?;
        let heading = c
            .find(Locator::Css("article.resource h1"))
            .await?
            .text()
            .await?;
        assert_eq!(heading, "浏览器测试：助老上门理发");

        c.goto(&app.url("/resources")).await?;
        let list = c.find(Locator::Css("table.list")).await?.text().await?;
        assert!(list.contains("浏览器测试：助老上门理发"), "{list}");
        assert!(list.contains(ORG_A), "{list}");
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    result.expect("browser steps");

    let (_, doc) = app.get("/api/v1/resources/S-BROWSER-1", None).await;
    assert_eq!(doc["status"], "published");
    assert_eq!(doc["provider"], ORG_A);
}

#[actix_web::test]
async fn a_resident_searches_and_narrows_by_facets() {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let app = try_spawn(Backend::Sqlite).await.unwrap();
    let admin = app.token("admin").await;
    for (r, kind, title, summary) in [
        (
            "S-ZHUCAN",
            "service",
            "社区长者助餐服务",
            "为辖区长者提供午餐和送餐上门",
        ),
        (
            "P-YANGLAO",
            "policy",
            "居家养老服务补贴",
            "经评估有照护需求的老人可获得助餐等服务补贴",
        ),
    ] {
        let doc = json!({"ref": r, "kind": kind, "title": title, "summary": summary, "provider": ORG_A,
            "region": "310118", "dimensions": ["daily_care"], "target_groups": ["elderly"], "status": "published"});
        assert_eq!(
            app.post("/api/v1/resources", Some(&admin), &doc).await.0,
            201
        );
    }
    for _ in 0..60 {
        if app.get("/api/v1/resources/search", None).await.1["total"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let result = async {
        c.goto(&app.url("/")).await?;
        let search_box = c.find(Locator::Css("form.search input[name='q']")).await?;
        search_box.send_keys("老人吃饭").await?;
        c.find(Locator::Css("form.search button"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Css("ol.hits")).await?;
        let url = c.current_url().await?;
        assert!(
            url.path() == "/search" && url.query().unwrap_or("").contains("q="),
            "{url}"
        );
        let hits = c.find(Locator::Css("ol.hits")).await?.text().await?;
        assert!(
            hits.contains("社区长者助餐服务") && hits.contains("居家养老服务补贴"),
            "{hits}"
        );
        let highlighted = c.find_all(Locator::Css(".snippet b")).await?;
        assert!(!highlighted.is_empty(), "matched words are highlighted");
        let synonyms = c.find(Locator::Css("p.hint")).await?.text().await?;
        assert!(synonyms.contains("吃饭 → 助餐"), "{synonyms}");

        // Narrow by the 服务 facet; the URL carries it, so the list can be shared.
        c.find(Locator::LinkText("服务")).await?.click().await?;
        c.wait().for_element(Locator::Css("p.filters")).await?;
        let url = c.current_url().await?;
        assert!(url.query().unwrap_or("").contains("kind=service"), "{url}");
        let hits = c.find(Locator::Css("ol.hits")).await?.text().await?;
        assert!(
            hits.contains("社区长者助餐服务") && !hits.contains("居家养老服务补贴"),
            "{hits}"
        );
        c.goto(url.as_str()).await?;
        let again = c.find(Locator::Css("ol.hits")).await?.text().await?;
        assert_eq!(again, hits, "the shared link shows the same list");

        // No answer: a helpful empty state.
        c.goto(&app.url("/search?q=%E5%AE%A0%E7%89%A9%E5%8C%BB%E9%99%A2&kind=service"))
            .await?;
        let empty = c.find(Locator::Id("empty-state")).await?.text().await?;
        assert!(empty.contains("去掉上面的筛选条件"), "{empty}");
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    result.expect("browser steps");
}

/// The value a select should take, chosen through the page.
async fn select(
    c: &fantoccini::Client,
    id: &str,
    value: &str,
) -> Result<(), fantoccini::error::CmdError> {
    c.find(Locator::Id(id)).await?.select_by_value(value).await
}

async fn type_into(
    c: &fantoccini::Client,
    id: &str,
    text: &str,
) -> Result<(), fantoccini::error::CmdError> {
    c.find(Locator::Id(id)).await?.send_keys(text).await
}

/// Signs `user` in through the login page and waits for `landmark`, an
/// element of the page the user lands on.
async fn sign_in(
    c: &fantoccini::Client,
    app: &crate::helpers::TestApp,
    user: &str,
    landmark: Locator<'_>,
) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&app.url("/login")).await?;
    type_into(c, "username", user).await?;
    type_into(c, "password", PASSWORD).await?;
    c.find(Locator::Id("login-submit")).await?.click().await?;
    c.wait().for_element(landmark).await?;
    Ok(())
}

#[actix_web::test]
async fn an_adviser_records_a_household_with_two_members_and_an_assessment() {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let app = try_spawn(Backend::Sqlite).await.unwrap();
    let head_id = crate::households::id("31011819750412002");
    let child_id = crate::households::id("31011820100901003");

    let result = async {
        // The adviser lands on the work queue.
        sign_in(&c, &app, "adviser", Locator::Id("first-visits")).await?;

        c.goto(&app.url("/households/new")).await?;
        let region = c.find(Locator::Id("region")).await?;
        region.clear().await?;
        region.send_keys("310118-003-012").await?;
        c.find(Locator::Id("consent")).await?.click().await?;
        type_into(&c, "contact_phone", "13611112222").await?;
        select(&c, "hukou_local", "true").await?;
        type_into(&c, "m0_name", "陈丽").await?;
        type_into(&c, "m0_id_number", &head_id).await?;
        select(&c, "m0_employment", "unemployed").await?;
        type_into(&c, "m0_income_monthly", "1500").await?;
        // A second member, added on the page.
        c.find(Locator::Id("add-member")).await?.click().await?;
        c.wait().for_element(Locator::Id("m1_name")).await?;
        type_into(&c, "m1_name", "陈小宇").await?;
        select(&c, "m1_relation", "child").await?;
        type_into(&c, "m1_id_number", &child_id).await?;
        select(&c, "m1_student_stage", "primary").await?;
        // What was typed before the round trip is still there.
        let kept = c
            .find(Locator::Id("m0_name"))
            .await?
            .prop("value")
            .await?
            .unwrap_or_default();
        assert_eq!(kept, "陈丽");
        c.find(Locator::Id("save")).await?.click().await?;
        c.wait()
            .for_element(Locator::Css("article.household h1"))
            .await?;
        let members = c.find(Locator::Css("table.members")).await?.text().await?;
        assert!(
            members.contains("陈丽") && members.contains("陈小宇"),
            "{members}"
        );
        assert!(
            !members.contains(&head_id),
            "ID numbers are masked: {members}"
        );
        assert!(members.contains(&format!("310***********{}", &head_id[14..])));

        // Assess: score every dimension, compute, keep the suggestions.
        c.find(Locator::Id("assess")).await?.click().await?;
        c.wait().for_element(Locator::Id("preview")).await?;
        for (dimension, score) in [
            ("income", 4),
            ("employment", 4),
            ("education", 3),
            ("housing", 3),
            ("mental", 2),
        ] {
            c.find(Locator::Id(&format!("score-{dimension}-{score}")))
                .await?
                .click()
                .await?;
        }
        // The live total follows the radios (the page's own script).
        let live = c.find(Locator::Id("live-total")).await?.text().await?;
        assert!(live.contains("当前总分 33 / 100"), "{live}");
        c.find(Locator::Id("preview")).await?.click().await?;
        c.wait().for_element(Locator::Id("outcome")).await?;
        let total = c.find(Locator::Id("total")).await?.text().await?;
        assert_eq!(total, "33", "16 of 48 points");
        let suggested = c.find(Locator::Id("suggested-type")).await?.text().await?;
        assert_eq!(suggested, "发展支持型");
        c.find(Locator::Id("save-assessment"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("latest-total")).await?;
        let latest = c.find(Locator::Id("latest-total")).await?.text().await?;
        assert_eq!(latest, "33");
        // The heavy dimensions are suggested as needs.
        c.find(Locator::Id("suggest-income")).await?;
        c.find(Locator::Id("suggest-employment")).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    result.expect("browser steps");

    let token = app.token("adviser").await;
    let (_, list) = app.get("/api/v1/households", Some(&token)).await;
    assert_eq!(list["total"], 1);
    let r = list["items"][0]["ref"].as_str().unwrap().to_string();
    let (_, h) = app
        .get(&format!("/api/v1/households/{r}"), Some(&token))
        .await;
    assert_eq!(h["members"].as_array().unwrap().len(), 2);
    assert_eq!(h["members"][1]["relation"], "child");
    assert_eq!(h["members"][1]["student_stage"], "primary");
    let (_, assessments) = app
        .get(&format!("/api/v1/households/{r}/assessments"), Some(&token))
        .await;
    assert_eq!(assessments["total"], 1);
    assert_eq!(assessments["items"][0]["total"], 33);
    assert_eq!(assessments["items"][0]["service_type"], "development");
}

#[actix_web::test]
async fn a_resident_finds_policies_on_the_public_screening_page() {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let app = try_spawn(Backend::Sqlite).await.unwrap();
    let admin = app.token("admin").await;
    let mut elderly = crate::helpers::policy("P-B-GAOLING");
    elderly["title"] = json!("高龄老人营养补贴");
    elderly["eligibility"] = json!({"and": [{"==": [{"var": "hukou_local"}, true]},
        {"some": [{"var": "members"}, {">=": [{"var": "age"}, 80]}]}]});
    for doc in [crate::helpers::policy("P-B-DIBAO"), elderly] {
        let (status, body) = app.post("/api/v1/resources", Some(&admin), &doc).await;
        assert_eq!(status, 201, "{body}");
    }

    let result = async {
        c.goto(&app.url("/")).await?;
        c.find(Locator::LinkText("我能申请哪些政策？"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("screen")).await?;
        // A mistake first: the answer is refused next to the question.
        type_into(&c, "m0_age", "300").await?;
        c.find(Locator::Id("screen")).await?.click().await?;
        c.wait().for_element(Locator::Id("errors")).await?;
        let member = c.find(Locator::Id("member-0")).await?.text().await?;
        assert!(member.contains("年龄须为 0 到 120 之间的整数"), "{member}");
        let age = c.find(Locator::Id("m0_age")).await?;
        age.clear().await?;
        age.send_keys("58").await?;
        c.find(Locator::Id("hukou-yes")).await?.click().await?;
        type_into(&c, "m0_income_monthly", "1200").await?;
        // The mother, 82, without income.
        c.find(Locator::Id("add-member")).await?.click().await?;
        c.wait().for_element(Locator::Id("m1_age")).await?;
        type_into(&c, "m1_age", "82").await?;
        select(&c, "m1_relation", "parent").await?;
        type_into(&c, "m1_income_monthly", "0").await?;
        c.find(Locator::Id("screen")).await?.click().await?;
        c.wait().for_element(Locator::Id("results")).await?;
        let results = c.find(Locator::Id("results")).await?.text().await?;
        assert!(results.contains("可能符合的政策（2 项）"), "{results}");
        assert!(results.contains("上海市最低生活保障"), "{results}");
        assert!(
            results.contains("家庭月人均收入 600 元，低于 1510 元"),
            "{results}"
        );
        assert!(results.contains("有成员年满 80 周岁：是"), "{results}");
        assert!(
            results.contains("身份证、户口簿"),
            "how to apply: {results}"
        );
        // The answers stay on the page.
        let kept = c
            .find(Locator::Id("m1_age"))
            .await?
            .prop("value")
            .await?
            .unwrap_or_default();
        assert_eq!(kept, "82");
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    result.expect("browser steps");
}

#[actix_web::test]
async fn a_charity_pledges_against_a_published_need_list() {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let app = try_spawn(Backend::Sqlite).await.unwrap();
    let admin = app.token("admin").await;
    let charity = app.token("charity_a").await;
    let f =
        crate::events::family(&app, 0, &[("employment", "为残障成员寻找实习岗位", "high")]).await;
    let (status, event) = app
        .post(
            "/api/v1/events",
            Some(&admin),
            &crate::events::event_input(),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    let r = event["ref"].as_str().unwrap().to_string();
    for (path, body) in [
        (format!("/api/v1/events/{r}/need-list"), json!({})),
        (
            format!("/api/v1/events/{r}/status"),
            json!({"status": "published"}),
        ),
    ] {
        let (status, body) = app.post(&path, Some(&admin), &body).await;
        assert_eq!(status, 200, "{body}");
    }
    let mut s = crate::helpers::service("S-T-INTERN", ORG_A);
    s["title"] = json!("残障青年实习岗位");
    s["status"] = json!("published");
    let (status, body) = app.post("/api/v1/resources", Some(&charity), &s).await;
    assert_eq!(status, 201, "{body}");

    let result = async {
        // The public page first: the anonymised list, a sign-in prompt.
        c.goto(&app.url(&format!("/events/{r}"))).await?;
        let page = c.find(Locator::Css("main")).await?.text().await?;
        assert!(page.contains("实习岗位"), "{page}");
        assert!(page.contains("登录后在线认领"), "{page}");
        crate::events::assert_no_secrets("public page", &page, &f.secrets);

        sign_in(&c, &app, "charity_a", Locator::Css("a[href='/events']")).await?;
        c.goto(&app.url(&format!("/events/{r}"))).await?;
        c.wait().for_element(Locator::Id("pledge-form")).await?;
        // Too many first: the error is shown next to the field.
        let quantity = c.find(Locator::Css("input[name='quantity']")).await?;
        quantity.clear().await?;
        quantity.send_keys("20000").await?;
        c.execute(
            "document.querySelector(\"input[name='quantity']\").removeAttribute('max')",
            vec![],
        )
        .await?;
        c.find(Locator::Id("pledge")).await?.click().await?;
        c.wait()
            .for_element(Locator::Css("#pledge-form .field-error"))
            .await?;
        let error = c
            .find(Locator::Css("#pledge-form .field-error"))
            .await?
            .text()
            .await?;
        assert!(error.contains("认领数量"), "{error}");
        let quantity = c.find(Locator::Css("input[name='quantity']")).await?;
        quantity.clear().await?;
        quantity.send_keys("1").await?;
        c.find(Locator::Css("textarea[name='conditions']"))
            .await?
            .send_keys("每周三天，提供午餐")
            .await?;
        c.find(Locator::Id("pledge")).await?.click().await?;
        c.wait().for_element(Locator::Css("p.flash")).await?;
        let pledges = c.find(Locator::Id("pledges")).await?.text().await?;
        assert!(pledges.contains("残障青年实习岗位"), "{pledges}");
        assert!(pledges.contains("已认领"), "{pledges}");
        assert!(pledges.contains("每周三天，提供午餐"), "{pledges}");
        let items = c.find(Locator::Id("items")).await?.text().await?;
        crate::events::assert_no_secrets("charity's page", &items, &f.secrets);
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    result.expect("browser steps");

    let (_, pledges) = app
        .get(&format!("/api/v1/events/{r}/pledges"), Some(&admin))
        .await;
    assert_eq!(pledges.as_array().unwrap().len(), 1, "{pledges}");
    assert_eq!(pledges[0]["quantity"], 1);
    assert_eq!(pledges[0]["resource_ref"], "S-T-INTERN");
}

/// The page count and text of a PDF, whitespace removed and NFKC
/// normalised: Chromium's PDFs map some CJK glyphs back to their Kangxi
/// radical code points (U+2F00…), which NFKC folds into the ideographs.
/// (Radicals Supplement code points, U+2E80…, stay: expected text avoids
/// characters such as 民 and 青 that come out that way.)
fn pdf_pages_and_text(pdf: &[u8]) -> (usize, String) {
    let doc = lopdf::Document::load_mem(pdf).expect("a PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).unwrap_or_default();
    (pages.len(), normalised(&text))
}

fn normalised(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().filter(|c| !c.is_whitespace()).collect()
}

fn assert_has(what: &str, text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(&normalised(e)), "{what} lacks {e}: {text}");
    }
}

#[actix_web::test]
async fn paper_pages_print_on_a4_from_chromium() {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let app = try_spawn(Backend::Sqlite).await.unwrap();
    let admin = app.token("admin").await;
    let adviser = app.token("adviser").await;
    let job = ("employment", "为残障成员寻找实习岗位", "high");
    let f1 = crate::events::family(
        &app,
        0,
        &[job, ("daily_care", "独居老人每日助餐", "medium")],
    )
    .await;
    let f2 = crate::events::family(&app, 1, &[job]).await;
    let mut p = crate::helpers::policy("P-PRINT-DIBAO");
    p["status"] = json!("published");
    p["eligibility"] = json!({"==": [{"var": "hukou_local"}, true]});
    let (status, body) = app.post("/api/v1/resources", Some(&admin), &p).await;
    assert_eq!(status, 201, "{body}");
    let (_, need) = app
        .get(
            &format!("/api/v1/needs/{}", f1.need_refs[0]),
            Some(&adviser),
        )
        .await;
    let household = need["household_ref"].as_str().unwrap().to_string();
    let needs = vec![f1.need_refs[0].clone(), f2.need_refs[0].clone()];
    let (event, agreement) = crate::events::signed_event(&app, &needs).await;

    let result = async {
        sign_in(&c, &app, "admin", Locator::Css("a[href='/work']")).await?;
        let mut pdfs = Vec::new();
        for path in [
            format!("/households/{household}/bundle"),
            format!("/events/{event}/agreements/{agreement}/print"),
            format!("/events/{event}/print"),
        ] {
            c.goto(&app.url(&path)).await?;
            c.wait().for_element(Locator::Css("article.bundle")).await?;
            let config = fantoccini::wd::PrintConfiguration::builder()
                .size(fantoccini::wd::PrintSize::A4)
                .build()
                .expect("A4");
            pdfs.push((path, c.print(config).await?));
        }
        Ok::<_, fantoccini::error::CmdError>(pdfs)
    }
    .await;
    let _ = c.close().await;
    let pdfs = result.expect("browser steps");

    // The bundle: household, policy, need and resource lists, no buttons.
    let (pages, text) = pdf_pages_and_text(&pdfs[0].1);
    assert!((1..=3).contains(&pages), "bundle pages: {pages}");
    assert_has(
        "bundle",
        &text,
        &[
            "服务方案",
            &household,
            "政策清单",
            "上海市最低生活保障",
            "需求清单",
            "为残障成员寻找实习岗位",
            "独居老人每日助餐",
            "资源清单",
            "社区",
        ],
    );
    assert!(
        !text.contains("保存为存档") && !text.contains("退出"),
        "screen-only parts: {text}"
    );

    // The agreement fits on one page, signature lines included.
    let (pages, text) = pdf_pages_and_text(&pdfs[1].1);
    assert_eq!(pages, 1, "agreement: {text}");
    assert_has(
        "agreement",
        &text,
        &[
            "社会救助资源对接协议",
            &agreement,
            ORG_A,
            "钱主任",
            "乙方代表签字",
            "首批两人",
        ],
    );

    // The event need list: anonymised items on one page.
    let (pages, text) = pdf_pages_and_text(&pdfs[2].1);
    assert_eq!(pages, 1, "need list: {text}");
    assert_has("need list", &text, &["需求清单", "实习岗位", "就业"]);
    for secret in f1.secrets.iter().chain(&f2.secrets) {
        assert!(
            !text.contains(&normalised(secret)),
            "need list leaks {secret}: {text}"
        );
    }
}
