//! PostgreSQL restarted under load: requests during the outage fail fast
//! with 503 and a clear message (never 500, never a hang), and the server
//! recovers by itself. It restarts the shared test cluster, so it is
//! `#[ignore]`d and run on its own by scripts/test (as root, with
//! AIDMATCH_TEST_PG_RESTART=1).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::{try_spawn, Backend};

fn cluster(action: &str) {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main {action}"
        ))
        .output()
        .expect("pg_ctlcluster");
    assert!(
        out.status.success(),
        "{action} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// PostgreSQL down for 8 seconds, then back.
fn restart_postgres() {
    cluster("stop");
    std::thread::sleep(Duration::from_secs(8));
    cluster("start");
}

type Seen = (Duration, u16, Duration, String);

#[actix_web::test]
#[ignore = "restarts the PostgreSQL cluster; run alone (scripts/test does)"]
async fn postgres_restarted_under_load_is_survived() {
    if std::env::var("AIDMATCH_TEST_PG_RESTART").as_deref() != Ok("1") {
        eprintln!("skipped: AIDMATCH_TEST_PG_RESTART is not 1");
        return;
    }
    let app = try_spawn(Backend::Postgres)
        .await
        .expect("AIDMATCH_TEST_POSTGRES must be set");
    let admin = app.token("admin").await;
    // Every request: (elapsed since start, status, latency, body).
    let seen: Arc<Mutex<Vec<Seen>>> = Default::default();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for i in 0..8 {
        let (client, seen, stop) = (app.client.clone(), seen.clone(), stop.clone());
        let url = if i % 2 == 0 {
            app.url("/healthz")
        } else {
            app.url("/api/v1/households?page=1")
        };
        let token = admin.clone();
        workers.push(actix_web::rt::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let resp = client
                    .get(&url)
                    .bearer_auth(&token)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                let (status, body) = match resp {
                    Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                    Err(e) => (0, e.to_string()),
                };
                seen.lock()
                    .unwrap()
                    .push((started.elapsed(), status, t.elapsed(), body));
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    let restart_at = started.elapsed();
    actix_web::rt::task::spawn_blocking(restart_postgres)
        .await
        .unwrap();
    let back_at = started.elapsed();
    // Recovery: within 20 s of the restart every request succeeds again.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = app.get("/api/v1/households?page=1", Some(&admin)).await;
        let (health, _) = app.get("/healthz", None).await;
        if status == 200 && health == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {status} {health}");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let seen = seen.lock().unwrap();
    eprintln!(
        "{} requests; restart {:?}–{:?}; {} answered 503; slowest {:?}",
        seen.len(),
        restart_at,
        back_at,
        seen.iter().filter(|s| s.1 != 200).count(),
        seen.iter().map(|s| s.2).max()
    );
    let failures: Vec<_> = seen.iter().filter(|s| s.1 != 200).collect();
    assert!(!failures.is_empty(), "the outage was seen");
    for (at, status, latency, body) in &failures {
        assert_eq!(*status, 503, "at {at:?}: {status} {body}");
        assert!(body.contains("unavailable"), "a 503 says why: {body}");
        assert!(
            *latency < Duration::from_secs(12),
            "a request hung {latency:?}"
        );
    }
    let slowest = seen.iter().map(|s| s.2).max().unwrap();
    assert!(slowest < Duration::from_secs(12), "slowest {slowest:?}");
    // The last second of load all succeeded.
    let end = seen.iter().map(|s| s.0).max().unwrap();
    assert!(seen
        .iter()
        .filter(|s| s.0 + Duration::from_secs(1) > end)
        .all(|s| s.1 == 200));
}
