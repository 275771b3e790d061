//! E-mail: every message is composed from templates (plain text and HTML,
//! UTF-8), written to the outbox table in the transaction that caused it,
//! and delivered by a background worker with retries and backoff — over
//! SMTP when `SMTP_URL` is set, otherwise as `.eml` files under
//! `<data_dir>/outbox/`.

pub mod compose;
pub mod digest;
pub mod outbox;
pub mod transport;
pub mod worker;

pub use compose::{Attachment, Letter};

/// Who messages are from, and where their links point.
#[derive(Debug, Clone)]
pub struct Sender {
    /// `Name <address>`
    pub from: String,
    /// Links start with this (`https://aidmatch.example.org`).
    pub public_url: String,
}

impl Sender {
    pub fn of(settings: &crate::config::Settings) -> Sender {
        Sender {
            from: settings.mail_from.clone(),
            public_url: settings.public_url(),
        }
    }

    /// The sender address's domain (for Message-IDs and calendar UIDs).
    pub fn domain(&self) -> String {
        self.from
            .parse::<lettre::message::Mailbox>()
            .map(|m| m.email.domain().to_string())
            .unwrap_or_else(|_| "aidmatch.local".into())
    }
}
