//! Where messages go: an SMTP server (`SMTP_URL`, e.g.
//! `smtp://127.0.0.1:2525` plain, `smtp://host:587?tls=required` with
//! STARTTLS, `smtps://host:465`), or, without one, `.eml` files in
//! `<data_dir>/outbox/`.

use std::path::PathBuf;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::{SmtpTransport, Transport};

use crate::config::Settings;

/// Why a delivery attempt failed.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    /// The server refused this message for good (a 5xx reply): retrying
    /// will not help.
    pub permanent: bool,
    /// The server could not be reached at all: the rest of the batch
    /// would fail the same way.
    pub unreachable: bool,
}

pub enum Mailer {
    Smtp(Box<SmtpTransport>),
    /// One `.eml` file per message, named after its Message-ID, so a
    /// message written twice is still one file.
    Files(PathBuf),
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> Result<Mailer, String> {
        match settings.smtp_url.as_ref().map(|s| s.expose().trim()) {
            Some(url) if !url.is_empty() => {
                let transport = SmtpTransport::from_url(url)
                    .map_err(|e| format!("SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(30)))
                    .build();
                Ok(Mailer::Smtp(Box::new(transport)))
            }
            _ => Ok(Mailer::Files(settings.data_dir.join("outbox"))),
        }
    }

    /// What the logs and the admin page say about where mail goes.
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(_) => "SMTP".into(),
            Mailer::Files(dir) => format!("files in {}", dir.display()),
        }
    }

    pub fn send(
        &self,
        message_id: &str,
        recipient: &str,
        from: &str,
        raw: &[u8],
    ) -> Result<(), SendError> {
        let envelope = envelope(from, recipient).map_err(|message| SendError {
            message,
            permanent: true,
            unreachable: false,
        })?;
        match self {
            Mailer::Smtp(smtp) => smtp
                .send_raw(&envelope, raw)
                .map(|_| ())
                .map_err(|e| classify(&e)),
            Mailer::Files(dir) => write_file(dir, message_id, raw).map_err(|e| SendError {
                message: format!("{}: {e}", dir.display()),
                permanent: false,
                unreachable: true,
            }),
        }
    }
}

/// How a failed SMTP attempt counts.
/// - Unreachable (the message was never offered, no attempt is counted):
///   the connection could not be made (lettre's connection errors, raised
///   only while connecting), or the server said 421 (closing, try later).
/// - Permanent: any other 5xx reply.
/// - Otherwise (4xx, a connection lost mid-session, a timeout waiting for a
///   reply) an attempt is counted and retried after the backoff; after the
///   last attempt the message is marked failed for an admin to see.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let message = e.to_string();
    let closing = e.status().is_some_and(|c| c.to_string() == "421");
    SendError {
        permanent: e.is_permanent(),
        unreachable: closing || message.starts_with("Connection error"),
        message,
    }
}

fn envelope(from: &str, to: &str) -> Result<Envelope, String> {
    let from: lettre::message::Mailbox = from.parse().map_err(|e| format!("sender {from}: {e}"))?;
    let to: lettre::Address = to.parse().map_err(|e| format!("recipient {to}: {e}"))?;
    Envelope::new(Some(from.email), vec![to]).map_err(|e| e.to_string())
}

/// Writes the message atomically: a temporary file renamed into place.
fn write_file(dir: &std::path::Path, message_id: &str, raw: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let name: String = message_id
        .trim_matches(|c| c == '<' || c == '>')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, raw)?;
    std::fs::rename(&tmp, dir.join(format!("{name}.eml")))
}
