//! The real server (the release binary) on the bench data: its start, its
//! memory, request latencies over HTTP, and throughput under `wrk` at 64
//! connections against the `/healthz` ceiling of the same server.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::data::{Data, ADMIN};
use crate::matching::screening_bodies;
use crate::results::{Goal, Results};
use crate::search::queries;
use crate::Config;

struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // A graceful stop, then make sure.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Memory of a process from /proc, in MB: (VmRSS, RssAnon, RssFile, VmHWM).
fn memory(pid: u32) -> (f64, f64, f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:"),
        field("VmHWM:"),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start(data_dir: &Path) -> Server {
    let port = free_port();
    let log = data_dir.join("bench-server.log");
    let out = std::fs::File::create(&log).expect("server log");
    let child = Command::new(env!("CARGO_BIN_EXE_aidmatch"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AIDMATCH_CONFIG", data_dir.join("no-config-file.toml"))
        .env("AIDMATCH_DATA_DIR", data_dir)
        .env("AIDMATCH_BIND", format!("127.0.0.1:{port}"))
        .env("AIDMATCH_BACKGROUND_MAIL", "false")
        .env("RUST_LOG", "info,actix_server=warn,diesel=warn")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("start the aidmatch binary");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    }
}

fn log_has(server: &Server, text: &str) -> bool {
    std::fs::read_to_string(&server.log)
        .map(|l| l.contains(text))
        .unwrap_or(false)
}

pub fn run(cfg: &Config, data: &Data, results: &mut Results) {
    // Households with needs (for bundles), picked before the server opens
    // the database.
    let refs = crate::data::households_with_needs(&mut data.pool.get().expect("connection"));

    let started = Instant::now();
    let mut server = start(&data.settings.data_dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    runtime.block_on(async {
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "the server stopped ({status}); see {}",
                    server.log.display()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "the server did not answer within 5 minutes"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    results.add(
        "server.ready_s",
        "server start until /healthz answers",
        started.elapsed().as_secs_f64(),
        "s",
        Goal::Lower,
        "migrations checked, index opened and caught up",
    );
    while !log_has(&server, "full policy scan done") {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no full scan within 10 minutes; see {}",
            server.log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    results.add(
        "server.first_scan_s",
        "server start until its full policy scan is done",
        started.elapsed().as_secs_f64(),
        "s",
        Goal::Lower,
        "facts table loaded, every policy against every household, alerts reconciled",
    );
    let pid = server.child.id();
    let (rss, anon, file, _) = memory(pid);
    results.add(
        "server.rss_idle_mb",
        "server memory (RSS) after start and full scan",
        rss,
        "MB",
        Goal::Below(500.0),
        format!("anonymous {anon:.0} MB, mapped files {file:.0} MB"),
    );

    let token = runtime.block_on(async {
        let r = client
            .post(format!("{}/api/v1/auth/token", server.base))
            .json(&serde_json::json!({"username": ADMIN.0, "password": ADMIN.1}))
            .send()
            .await
            .expect("sign in");
        assert!(r.status().is_success(), "sign in: {}", r.status());
        let body: serde_json::Value = r.json().await.expect("token");
        body["token"].as_str().expect("token").to_string()
    });

    runtime.block_on(latencies(
        cfg,
        &client,
        &server.base,
        &token,
        &refs,
        results,
    ));

    match wrk_version() {
        Some(version) => throughput(cfg, &server.base, &token, &refs, &version, results),
        None => println!(
            "  wrk is not installed: throughput not measured (apt-get install wrk, or run scripts/bench)"
        ),
    }

    let (rss, anon, file, peak) = memory(pid);
    results.add(
        "server.rss_loaded_mb",
        "server memory (RSS) after the HTTP load",
        rss,
        "MB",
        Goal::Below(500.0),
        format!("anonymous {anon:.0} MB, mapped files {file:.0} MB"),
    );
    results.add(
        "server.rss_peak_mb",
        "server memory, peak (VmHWM) since start",
        peak,
        "MB",
        Goal::Below(500.0),
        "includes the start-up full scan",
    );
    let still_running = matches!(server.child.try_wait(), Ok(None));
    assert!(
        still_running,
        "the server died; see {}",
        server.log.display()
    );
    drop(server);
}

/// Request latencies, the whole response read: search with 16 keep-alive
/// clients; screening and bundles with one.
async fn latencies(
    cfg: &Config,
    client: &reqwest::Client,
    base: &str,
    token: &str,
    refs: &[String],
    results: &mut Results,
) {
    let queries = queries();
    let search = format!("{base}/api/v1/resources/search");
    let clients = 16;
    let run_clients = |per_client: usize| {
        (0..clients)
            .map(|c| {
                let client = client.clone();
                let search = search.clone();
                let queries = queries.clone();
                tokio::spawn(async move {
                    let mut samples = Vec::with_capacity(per_client);
                    for i in 0..per_client {
                        let q = queries[(c * 7 + i) % queries.len()];
                        let t = Instant::now();
                        let resp = client.get(&search).query(&[("q", q)]).send().await.unwrap();
                        assert!(resp.status().is_success(), "search: {}", resp.status());
                        resp.bytes().await.unwrap();
                        samples.push(t.elapsed());
                    }
                    samples
                })
            })
            .collect::<Vec<_>>()
    };
    // An unmeasured round opens the connections.
    for t in run_clients(queries.len().min(8)) {
        t.await.unwrap();
    }
    let mut all = Vec::new();
    for t in run_clients((cfg.rounds * queries.len() / clients).max(100)) {
        all.extend(t.await.unwrap());
    }
    results.latencies(
        "search.http",
        "search over HTTP (/api/v1/resources/search)",
        all,
        None,
        "16 keep-alive clients, client on the same 2 cores",
    );

    let url = format!("{base}/api/v1/screening");
    let bodies = screening_bodies();
    let mut samples = Vec::new();
    for i in 0..(600 + 3) {
        let t = Instant::now();
        let resp = client
            .post(&url)
            .json(&bodies[i % bodies.len()])
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "screening: {}", resp.status());
        resp.bytes().await.unwrap();
        if i >= 3 {
            samples.push(t.elapsed());
        }
    }
    results.latencies(
        "screening.http",
        "screening over HTTP (/api/v1/screening)",
        samples,
        Some(5.0),
        "one client",
    );

    let mut samples = Vec::new();
    for round in 0..4 {
        for r in refs {
            let t = Instant::now();
            let resp = client
                .get(format!("{base}/api/v1/households/{r}/bundle"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "bundle: {}", resp.status());
            resp.bytes().await.unwrap();
            if round > 0 {
                samples.push(t.elapsed());
            }
        }
    }
    results.latencies(
        "bundle.http",
        "three-list bundle over HTTP",
        samples,
        Some(50.0),
        "one client, 50 households with needs",
    );

    let mut samples = Vec::new();
    for i in 0..603 {
        let t = Instant::now();
        let resp = client.get(format!("{base}/healthz")).send().await.unwrap();
        resp.bytes().await.unwrap();
        if i >= 3 {
            samples.push(t.elapsed());
        }
    }
    results.latencies(
        "healthz.http",
        "/healthz over HTTP (the floor)",
        samples,
        None,
        "one client; takes a database connection too",
    );
}

fn wrk_version() -> Option<String> {
    let out = Command::new("wrk").arg("--version").output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find(|l| l.starts_with("wrk"))
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
}

/// What one `wrk` run reported.
struct WrkRun {
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    errors: u64,
}

fn duration_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let v: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        _ => return None,
    })
}

fn parse_wrk(output: &str) -> Option<WrkRun> {
    let mut run = WrkRun {
        requests_per_s: 0.0,
        p50_ms: 0.0,
        p99_ms: 0.0,
        requests: 0,
        errors: 0,
    };
    for line in output.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => run.requests_per_s = v.parse().ok()?,
            ["50%", v] => run.p50_ms = duration_ms(v)?,
            ["99%", v] => run.p99_ms = duration_ms(v)?,
            [n, "requests", "in", ..] => run.requests = n.parse().ok()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => run.errors += n.parse::<u64>().ok()?,
            ["Socket", "errors:", ..] => {
                // "Socket errors: connect 0, read 0, write 0, timeout 0"
                run.errors += line
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|n| n.parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    (run.requests_per_s > 0.0).then_some(run)
}

/// A Lua script making wrk send `paths` in turn.
fn rotating_script(dir: &Path, name: &str, paths: &[String]) -> std::path::PathBuf {
    let list: Vec<String> = paths.iter().map(|p| format!("{p:?}")).collect();
    let script = format!(
        "local paths = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(nil, paths[(i % #paths) + 1])\nend\n",
        list.join(", ")
    );
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, script).expect("wrk script");
    path
}

fn wrk(cfg: &Config, url: &str, script: Option<&Path>, header: Option<&str>) -> WrkRun {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c64", "--latency", "--timeout", "10s"])
        .arg(format!("-d{}s", cfg.wrk_secs));
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output().expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    parse_wrk(&text).unwrap_or_else(|| panic!("cannot read wrk's output:\n{text}"))
}

fn throughput(
    cfg: &Config,
    base: &str,
    token: &str,
    refs: &[String],
    version: &str,
    results: &mut Results,
) {
    let scripts = tempfile::tempdir().expect("temp dir");
    let search_paths: Vec<String> = queries()
        .iter()
        .map(|q| {
            let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
            format!("/api/v1/resources/search?q={q}")
        })
        .collect();
    let bundle_paths: Vec<String> = refs
        .iter()
        .map(|r| format!("/api/v1/households/{r}/bundle"))
        .collect();
    let search_script = rotating_script(scripts.path(), "search", &search_paths);
    let bundle_script = rotating_script(scripts.path(), "bundle", &bundle_paths);
    let auth = format!("Authorization: Bearer {token}");
    let how = format!(
        "{version}, 2 threads, 64 connections, {} s, on the server's 2 cores",
        cfg.wrk_secs
    );

    let health = wrk(cfg, &format!("{base}/healthz"), None, None);
    let search = wrk(cfg, base, Some(&search_script), None);
    let bundle = wrk(cfg, base, Some(&bundle_script), Some(&auth));
    for (id, name, run) in [
        ("wrk.healthz", "wrk /healthz (the ceiling)", &health),
        ("wrk.search", "wrk search, 30 queries in turn", &search),
        ("wrk.bundle", "wrk bundle, 50 households in turn", &bundle),
    ] {
        assert_eq!(
            run.errors, 0,
            "{name}: {} errors out of {} requests",
            run.errors, run.requests
        );
        results.add(
            &format!("{id}.requests_per_s"),
            &format!("{name}: throughput"),
            run.requests_per_s,
            "req/s",
            Goal::Higher,
            format!("{how}; {} requests, 0 errors", run.requests),
        );
        results.add(
            &format!("{id}.p99_ms"),
            &format!("{name}: p99 under load"),
            run.p99_ms,
            "ms",
            Goal::Lower,
            format!("p50 {:.2} ms", run.p50_ms),
        );
    }
    for (id, name, run) in [
        ("wrk.search", "search", &search),
        ("wrk.bundle", "bundle", &bundle),
    ] {
        results.add(
            &format!("{id}.of_ceiling_pct"),
            &format!("{name} throughput as a share of the /healthz ceiling"),
            run.requests_per_s / health.requests_per_s * 100.0,
            "%",
            Goal::Higher,
            "same server, same load",
        );
    }
}
