//! A message as the outbox stores it: built once into RFC 5322 bytes with a
//! fixed Message-ID, so every delivery attempt sends the same message.

use lettre::message::header::ContentType;
use lettre::message::{Attachment as LettreAttachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use rand::RngCore;

use crate::error::AppError;

/// A file sent with a message.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    /// e.g. `text/calendar; charset=utf-8; method=REQUEST`
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What to send: one recipient, a subject, the text and HTML bodies.
#[derive(Debug, Clone)]
pub struct Letter {
    pub to: String,
    /// The recipient's name, shown beside the address.
    pub to_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

/// A message ready for the outbox.
#[derive(Debug, Clone)]
pub struct Composed {
    pub message_id: String,
    pub raw: String,
}

/// Checks an e-mail address; the error is for the field `field`.
pub fn check_address(field: &str, address: &str) -> Result<(), AppError> {
    address.parse::<lettre::Address>().map(|_| ()).map_err(|_| {
        AppError::field(
            field,
            format!("“{address}”不是有效的电子邮件地址 (not a valid e-mail address)"),
        )
    })
}

fn mailbox(name: &str, address: &str) -> Result<Mailbox, AppError> {
    let address = address
        .parse::<lettre::Address>()
        .map_err(|e| AppError::Internal(format!("bad address {address}: {e}")))?;
    Ok(Mailbox::new(
        (!name.is_empty()).then(|| name.to_string()),
        address,
    ))
}

/// Builds the message: `multipart/alternative` (text, then HTML), inside
/// `multipart/mixed` when there are attachments.
pub fn compose(from: &str, letter: &Letter) -> Result<Composed, AppError> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| AppError::Internal(format!("bad sender address {from}: {e}")))?;
    let mut id = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut id);
    let domain = from.email.domain().to_string();
    let message_id = format!("<{}@{}>", hex::encode(id), domain);
    let alternative = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(letter.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(letter.html.clone()),
        );
    let body = if letter.attachments.is_empty() {
        alternative
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for a in &letter.attachments {
            let content_type = ContentType::parse(&a.content_type)
                .map_err(|e| AppError::Internal(format!("bad content type: {e}")))?;
            mixed = mixed.singlepart(
                LettreAttachment::new(a.filename.clone()).body(a.bytes.clone(), content_type),
            );
        }
        mixed
    };
    let message = Message::builder()
        .from(from)
        .to(mailbox(&letter.to_name, &letter.to)?)
        .subject(letter.subject.clone())
        .message_id(Some(message_id.clone()))
        .date_now()
        .multipart(body)
        .map_err(|e| AppError::Internal(format!("message: {e}")))?;
    let raw = String::from_utf8(message.formatted())
        .map_err(|e| AppError::Internal(format!("message is not 7-bit: {e}")))?;
    Ok(Composed { message_id, raw })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_letter_is_encoded_and_keeps_its_parts() {
        let letter = Letter {
            to: "org@example.org".into(),
            to_name: "青浦区慈善基金会".into(),
            subject: "资源对接会邀请：2026 年第四季度".into(),
            text: "您好，诚邀参加。".into(),
            html: "<p>您好，诚邀参加。</p>".into(),
            attachments: vec![Attachment {
                filename: "event.ics".into(),
                content_type: "text/calendar; charset=utf-8; method=REQUEST".into(),
                bytes: b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_vec(),
            }],
        };
        let c = compose("aidmatch <noreply@aidmatch.local>", &letter).unwrap();
        assert!(c.raw.is_ascii(), "headers and bodies are encoded");
        assert!(c.raw.contains("Subject: =?utf-8?"), "{}", &c.raw[..400]);
        assert!(c.raw.contains(&format!("Message-ID: {}", c.message_id)));
        assert!(c.raw.contains("multipart/mixed"));
        assert!(c.raw.contains("multipart/alternative"));
        assert!(c.raw.contains("text/calendar"));
        assert!(c.message_id.ends_with("@aidmatch.local>"));
    }

    #[test]
    fn addresses_are_checked() {
        assert!(check_address("email", "a@b.org").is_ok());
        assert!(check_address("email", "not an address").is_err());
    }
}
