//! E-mail through a real SMTP server on loopback (aiosmtpd, started by the
//! test): invitations with their `.ics`, the advisers' digests, the bytes
//! checked after parsing them back; and an SMTP outage in the middle of a
//! batch followed by recovery, after which every message has arrived
//! exactly once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aidmatch::config::Secret;
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{json, Value};

use crate::events::{assert_no_secrets, event_input, family};
use crate::helpers::{spawn_configured, Backend, TestApp};

/// The SMTP server: a Python process (tests/smtp_sink.py) writing every
/// message it accepts into a folder.
struct Sink {
    port: u16,
    dir: PathBuf,
    child: Child,
}

impl Sink {
    fn start(port: u16, dir: &Path, die_after: usize) -> Sink {
        Sink::start_with(port, dir, die_after, 0)
    }

    /// A sink that takes `delay_ms` to answer each message.
    fn start_with(port: u16, dir: &Path, die_after: usize, delay_ms: u64) -> Sink {
        let mut child = Command::new("python3")
            .arg("tests/smtp_sink.py")
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            .args(["--die-after", &die_after.to_string()])
            .args(["--delay-ms", &delay_ms.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd)");
        // Wait for "ready".
        use std::io::BufRead;
        let out = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("sink output");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Sink {
            port,
            dir: dir.to_path_buf(),
            child,
        }
    }

    /// The messages received so far, in order: (raw bytes, recipients).
    fn messages(&self) -> Vec<(Vec<u8>, String)> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.ends_with(".eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|n| {
                let raw = std::fs::read(self.dir.join(n)).expect("message");
                let rcpt = std::fs::read_to_string(self.dir.join(n.replace(".eml", ".rcpt")))
                    .unwrap_or_default();
                (raw, rcpt)
            })
            .collect()
    }

    async fn wait_for(&self, n: usize, secs: u64) -> Vec<(Vec<u8>, String)> {
        let start = Instant::now();
        loop {
            let got = self.messages();
            if got.len() >= n || start.elapsed() > Duration::from_secs(secs) {
                return got;
            }
            actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn spawn_with_smtp(backend: Backend, port: u16) -> Option<TestApp> {
    spawn_configured(backend, true, |s| {
        s.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}")));
    })
    .await
}

/// A published event on street 310118-003 with one family's needs; returns
/// its ref and the family's personal data.
async fn published_event(app: &TestApp) -> (String, Vec<String>) {
    let admin = app.token("admin").await;
    let f = family(app, 0, &[("employment", "为残障成员寻找实习岗位", "high")]).await;
    let (status, event) = app
        .post("/api/v1/events", Some(&admin), &event_input())
        .await;
    assert_eq!(status, 201, "{event}");
    let r = event["ref"].as_str().unwrap().to_string();
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/need-list"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/status"),
            Some(&admin),
            &json!({"status": "published"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (r, f.secrets)
}

async fn outbox(app: &TestApp) -> Vec<Value> {
    let admin = app.token("admin").await;
    let (status, page) = app.get("/api/v1/outbox?per_page=200", Some(&admin)).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn mail_reaches_a_real_smtp_server_sqlite() {
    mail_reaches_a_real_smtp_server(Backend::Sqlite).await;
}

#[actix_web::test]
async fn mail_reaches_a_real_smtp_server_postgres() {
    mail_reaches_a_real_smtp_server(Backend::Postgres).await;
}

async fn mail_reaches_a_real_smtp_server(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(free_port(), dir.path(), 0);
    let Some(app) = spawn_with_smtp(backend, sink.port).await else {
        eprintln!("skipped: AIDMATCH_TEST_POSTGRES is not set");
        return;
    };
    let (r, secrets) = published_event(&app).await;
    // The family qualifies for this policy: its adviser gets a digest.
    let admin = app.token("admin").await;
    let (status, body) = app
        .post(
            "/api/v1/resources",
            Some(&admin),
            &crate::helpers::policy("P-T-DIBAO"),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let got = sink.wait_for(3, 30).await;
    let invitations: Vec<_> = got
        .iter()
        .filter(|(_, rcpt)| rcpt.ends_with(".test") && !rcpt.contains("advisers"))
        .collect();
    assert_eq!(
        invitations.len(),
        2,
        "{:?} {:?}",
        got.iter().map(|g| &g.1).collect::<Vec<_>>(),
        outbox(&app).await
    );
    let rows = outbox(&app).await;
    for (raw, rcpt) in &invitations {
        let text = String::from_utf8(raw.clone()).expect("7-bit message");
        // Headers: encoded UTF-8 subject, multipart with an attachment.
        assert!(text.contains("Subject: =?utf-8?"), "{text}");
        assert!(text.contains("Content-Type: multipart/mixed"), "{text}");
        assert!(text.contains("Message-ID: <"), "{text}");
        let m = MessageParser::default().parse(raw).expect("parses");
        let subject = m.subject().unwrap();
        assert!(subject.starts_with("资源对接会邀请："), "{subject}");
        assert!(subject.contains("资源对接会"), "{subject}");
        assert_eq!(
            m.to().unwrap().first().unwrap().address(),
            Some(rcpt.trim())
        );
        assert_eq!(
            m.from().unwrap().first().unwrap().address(),
            Some("noreply@aidmatch.local")
        );
        let body = m.body_text(0).unwrap().to_string();
        let html = m.body_html(0).unwrap().to_string();
        assert!(
            body.contains("实习岗位") && body.contains(&format!("/events/{r}")),
            "{body}"
        );
        assert!(html.contains("<table"), "{html}");
        assert_no_secrets("invitation text", &body, &secrets);
        assert_no_secrets("invitation html", &html, &secrets);
        // The calendar file parses back to the event.
        let ics = m.attachments().next().expect("an attachment");
        assert!(ics.attachment_name().unwrap().ends_with(".ics"));
        assert!(ics.is_content_type("text", "calendar"));
        let ics_text = std::str::from_utf8(ics.contents()).unwrap();
        assert_no_secrets("calendar", ics_text, &secrets);
        let cal: icalendar::Calendar = ics_text.parse().expect("valid iCalendar");
        use icalendar::{Component, EventLike};
        let e = cal.events().next().expect("one event");
        assert_eq!(e.get_location(), Some("香花桥街道社区事务受理服务中心三楼"));
        assert_eq!(e.get_uid(), Some(format!("{r}@aidmatch.local").as_str()));
        let start = e.get_start().expect("start");
        let expected = crate::events::today()
            .and_hms_opt(6, 0, 0)
            .unwrap()
            .and_utc();
        assert_eq!(
            start,
            icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::Utc(expected)),
            "14:00 in Shanghai is 06:00 UTC"
        );
        // The outbox knows it as sent, under the same Message-ID.
        let id = m.message_id().unwrap();
        let row = rows
            .iter()
            .find(|row| row["message_id"] == format!("<{id}>"))
            .unwrap_or_else(|| panic!("no outbox row for {id}: {rows:?}"));
        assert_eq!(row["status"], "sent");
        assert_eq!(row["attempts"], 1);
    }
    // The adviser's digest: masked name, the policy, a link.
    let digest = got
        .iter()
        .find(|(_, rcpt)| rcpt.trim() == "adviser@advisers.test")
        .expect("a digest for the adviser");
    let m = MessageParser::default().parse(&digest.0).unwrap();
    assert!(
        m.subject().unwrap().starts_with("政策找人："),
        "{:?}",
        m.subject()
    );
    let body = m.body_text(0).unwrap().to_string();
    assert!(body.contains("上海市最低生活保障"), "{body}");
    assert!(
        body.contains("H-000001（陈**）"),
        "masked head of household: {body}"
    );
    assert!(!body.contains("陈志强"), "{body}");
    // Nothing more arrives: each message once.
    actix_web::rt::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(sink.messages().len(), got.len());
}

#[actix_web::test]
async fn an_smtp_outage_mid_batch_loses_and_repeats_nothing_sqlite() {
    an_smtp_outage_mid_batch_loses_and_repeats_nothing(Backend::Sqlite).await;
}

#[actix_web::test]
async fn an_smtp_outage_mid_batch_loses_and_repeats_nothing_postgres() {
    an_smtp_outage_mid_batch_loses_and_repeats_nothing(Backend::Postgres).await;
}

async fn an_smtp_outage_mid_batch_loses_and_repeats_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The server dies right after accepting its third message.
    let mut sink = Sink::start(port, dir.path(), 3);
    let Some(app) = spawn_with_smtp(backend, port).await else {
        eprintln!("skipped: AIDMATCH_TEST_POSTGRES is not set");
        return;
    };
    let admin = app.token("admin").await;
    for i in 0..10 {
        let (status, body) = app
            .post(
                "/api/v1/organisations",
                Some(&admin),
                &json!({"name": format!("爱心机构{i}"), "kind": "charity", "region": "310118",
                        "email": format!("org{i}@many.test")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    published_event(&app).await;
    // 12 invitations: the ten, charity A and company B.
    let start = Instant::now();
    while sink.child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the sink never died"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sink.messages().len(), 3);
    // While it is down: nothing lost, nothing given up.
    actix_web::rt::time::sleep(Duration::from_millis(1_500)).await;
    let rows = outbox(&app).await;
    let invitations: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "invitation").collect();
    assert_eq!(invitations.len(), 12);
    assert_eq!(
        invitations.iter().filter(|r| r["status"] == "sent").count(),
        3
    );
    assert_eq!(
        invitations
            .iter()
            .filter(|r| r["status"] == "failed")
            .count(),
        0
    );
    // The rest wait their turn; the one tried says why it is waiting.
    assert!(invitations
        .iter()
        .filter(|r| r["status"] != "sent")
        .all(|r| r["status"] == "pending" || r["status"] == "sending"));
    assert!(invitations
        .iter()
        .any(|r| r["status"] == "pending" && !r["last_error"].as_str().unwrap().is_empty()));

    // The server comes back on the same port.
    drop(std::mem::replace(
        &mut sink,
        Sink::start(port, dir.path(), 0),
    ));
    let got = sink.wait_for(12, 40).await;
    actix_web::rt::time::sleep(Duration::from_millis(3_000)).await;
    let got_after = sink.messages();
    assert_eq!(got_after.len(), got.len(), "nothing arrives twice later");
    let mut ids: Vec<String> = got_after
        .iter()
        .filter_map(|(raw, _)| {
            let m = MessageParser::default().parse(raw)?;
            m.subject()
                .filter(|s| s.starts_with("资源对接会邀请"))
                .and(m.message_id().map(|id| format!("<{id}>")))
        })
        .collect();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "an invitation arrived twice");
    assert_eq!(ids.len(), 12, "every invitation arrived");
    let rows = outbox(&app).await;
    let mut sent: Vec<String> = rows
        .iter()
        .filter(|r| r["kind"] == "invitation")
        .map(|r| {
            assert_eq!(r["status"], "sent", "{r}");
            r["message_id"].as_str().unwrap().to_string()
        })
        .collect();
    sent.sort();
    assert_eq!(sent, ids);
}

/// A server process, killed and reaped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the real binary as a server on this test's database and data
/// directory, sending mail to `smtp_port`; waits until it answers.
async fn serve(app: &TestApp, port: u16, smtp_port: u16) -> Server {
    let child = Server(
        app.command(["serve"])
            .env("AIDMATCH_BIND", format!("127.0.0.1:{port}"))
            .env("SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
            .env("AIDMATCH_MAIL_RETRY_SECS", "1")
            .env("AIDMATCH_MAIL_PLAN_SECS", "1")
            .env("AIDMATCH_BACKGROUND_SCAN", "false")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(app.data_dir().join("serve.log")).expect("log"))
            .spawn()
            .expect("start aidmatch serve"),
    );
    let started = Instant::now();
    loop {
        let up = app
            .client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if up {
            return child;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A server killed (SIGKILL) in the middle of an outbox batch, then
/// restarted: no message arrives twice; every message queued is sent, or —
/// the one whose send was cut off — marked failed for an admin to check.
#[actix_web::test]
async fn a_server_killed_mid_batch_sends_nothing_twice() {
    // This in-process server only prepares the data: the real binary,
    // started below, does the mail.
    let mut app = spawn_configured(Backend::Sqlite, true, |s| {
        s.background_mail = false;
        s.background_scan = false;
    })
    .await
    .unwrap();
    let admin = app.token("admin").await;
    for i in 0..20 {
        let (status, body) = app
            .post(
                "/api/v1/organisations",
                Some(&admin),
                &json!({"name": format!("爱心机构{i}"), "kind": "charity", "region": "310118",
                        "email": format!("org{i}@many.test")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    family(&app, 0, &[("employment", "为残障成员寻找实习岗位", "high")]).await;
    let (status, event) = app
        .post("/api/v1/events", Some(&admin), &event_input())
        .await;
    assert_eq!(status, 201, "{event}");
    let r = event["ref"].as_str().unwrap().to_string();
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/need-list"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The real binary takes over the data directory.
    app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start_with(free_port(), dir.path(), 0, 150);
    let port = free_port();
    let mut server = serve(&app, port, sink.port).await;
    let (address, handle) = (format!("http://127.0.0.1:{port}"), app.handle.clone());
    app.moved_to(address, handle);
    let admin = app.token("admin").await;
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{r}/status"),
            Some(&admin),
            &json!({"status": "published"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // 22 invitations, about 150 ms each: kill the server after the fifth.
    let got = sink.wait_for(5, 30).await;
    assert!(
        got.len() >= 5,
        "{:?}",
        outbox(&app)
            .await
            .iter()
            .map(|r| (r["status"].clone(), r["last_error"].clone()))
            .collect::<Vec<_>>()
    );
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    let at_kill = sink.messages().len();
    assert!(at_kill < 22, "the kill came too late to test anything");

    let server = serve(&app, port, sink.port).await;
    let admin = app.token("admin").await;
    let started = Instant::now();
    let rows = loop {
        let rows = outbox(&app).await;
        let open = rows
            .iter()
            .filter(|r| r["status"] == "pending" || r["status"] == "sending")
            .count();
        if open == 0 {
            break rows;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "{open} still open"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    actix_web::rt::time::sleep(Duration::from_millis(1_500)).await;
    drop(server);
    let _ = admin;

    let received: Vec<String> = sink
        .messages()
        .iter()
        .filter_map(|(raw, _)| {
            MessageParser::default()
                .parse(raw)?
                .message_id()
                .map(|id| format!("<{id}>"))
        })
        .collect();
    let mut unique = received.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), received.len(), "a message arrived twice");
    let invitations: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "invitation").collect();
    assert_eq!(invitations.len(), 22);
    for row in &invitations {
        let id = row["message_id"].as_str().unwrap().to_string();
        match row["status"].as_str().unwrap() {
            "sent" => assert!(received.contains(&id), "sent but not received: {row}"),
            "failed" => assert!(
                row["last_error"].as_str().unwrap().contains("interrupted"),
                "{row}"
            ),
            other => panic!("{other}: {row}"),
        }
    }
    let sent = invitations.iter().filter(|r| r["status"] == "sent").count();
    let cut_off = invitations.len() - sent;
    assert!(
        cut_off <= 1,
        "at most the message in flight is in doubt: {cut_off}"
    );
}
