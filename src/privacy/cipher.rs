//! Personal data at rest: AES-256-GCM for the values (ID numbers, phone
//! numbers, addresses) and a keyed hash (HMAC-SHA256) to find a record by
//! one of them without decrypting anything. Both keys are derived (HKDF) from
//! one 32-byte data key, taken from the configuration or generated into the
//! data directory on first start.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::AppError;

/// Prefix of every ciphertext this version writes (a later key or cipher
/// gets a new one).
const VERSION: &str = "v1:";
const NONCE_LEN: usize = 12;

/// The keys personal data is protected with.
#[derive(Clone)]
pub struct DataCipher {
    aead: Aes256Gcm,
    lookup_key: [u8; 32],
}

impl std::fmt::Debug for DataCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataCipher(<keys>)")
    }
}

impl DataCipher {
    /// Derives the cipher's keys from the 32-byte data key.
    pub fn from_key(data_key: &[u8; 32]) -> DataCipher {
        let hk = Hkdf::<Sha256>::new(Some(b"aidmatch personal data"), data_key);
        let mut aead_key = [0u8; 32];
        let mut lookup_key = [0u8; 32];
        hk.expand(b"aead v1", &mut aead_key)
            .expect("32 bytes is a valid HKDF length");
        hk.expand(b"lookup v1", &mut lookup_key)
            .expect("32 bytes is a valid HKDF length");
        DataCipher {
            aead: Aes256Gcm::new(&aead_key.into()),
            lookup_key,
        }
    }

    /// Parses a data key written as 64 hexadecimal digits.
    pub fn from_hex(hex_key: &str) -> Result<DataCipher, AppError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| bad_key())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| bad_key())?;
        Ok(DataCipher::from_key(&key))
    }

    /// Encrypts `plain` for the column `purpose` (bound into the ciphertext,
    /// so a value copied into another column does not decrypt).
    pub fn encrypt(&self, purpose: &str, plain: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: purpose.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short value cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{VERSION}{}", BASE64.encode(out))
    }

    /// Decrypts what [`encrypt`](Self::encrypt) wrote for `purpose`.
    pub fn decrypt(&self, purpose: &str, sealed: &str) -> Result<String, AppError> {
        let fail = || {
            AppError::Internal(format!(
                "encrypted {purpose} cannot be read with the configured data key"
            ))
        };
        let body = sealed.strip_prefix(VERSION).ok_or_else(fail)?;
        let bytes = BASE64.decode(body).map_err(|_| fail())?;
        if bytes.len() <= NONCE_LEN {
            return Err(fail());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        let plain = self
            .aead
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| fail())?;
        String::from_utf8(plain).map_err(|_| fail())
    }

    /// The keyed hash a value is found by (hex); equal values of the same
    /// `purpose` hash alike, and nobody without the key can test a guess.
    pub fn lookup_hash(&self, purpose: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup_key)
            .expect("HMAC takes a key of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A value that identifies the key without revealing it: stored in the
    /// database on first use, so that an instance started with another key
    /// refuses to run instead of writing data nobody can read.
    pub fn key_check(&self) -> String {
        self.lookup_hash("key check", "aidmatch")[..32].to_string()
    }
}

fn bad_key() -> AppError {
    AppError::Internal(
        "the data key must be 64 hexadecimal digits (32 bytes); 数据密钥须为 64 位十六进制数"
            .into(),
    )
}

/// A new random data key, as 64 hexadecimal digits.
pub fn generate_key_hex() -> String {
    use rand::RngCore;
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    hex::encode(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> DataCipher {
        DataCipher::from_key(&[byte; 32])
    }

    #[test]
    fn round_trips_and_never_shows_the_value() {
        let c = cipher(7);
        let sealed = c.encrypt("member.id_number", "310104195003021234");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("310104"));
        assert_ne!(sealed, c.encrypt("member.id_number", "310104195003021234"));
        assert_eq!(
            c.decrypt("member.id_number", &sealed).unwrap(),
            "310104195003021234"
        );
    }

    #[test]
    fn another_key_or_column_cannot_read_it() {
        let sealed = cipher(7).encrypt("member.phone", "13812345678");
        assert!(cipher(8).decrypt("member.phone", &sealed).is_err());
        assert!(cipher(7).decrypt("household.address", &sealed).is_err());
        assert!(cipher(7).decrypt("member.phone", "v1:AAAA").is_err());
        assert!(cipher(7).decrypt("member.phone", "garbage").is_err());
    }

    #[test]
    fn lookup_hashes_are_keyed_and_per_purpose() {
        let a = cipher(7).lookup_hash("id", "310104195003021234");
        assert_eq!(a, cipher(7).lookup_hash("id", "310104195003021234"));
        assert_ne!(a, cipher(8).lookup_hash("id", "310104195003021234"));
        assert_ne!(a, cipher(7).lookup_hash("phone", "310104195003021234"));
        assert_ne!(cipher(7).key_check(), cipher(8).key_check());
    }

    #[test]
    fn keys_parse_from_hex() {
        let hex_key = generate_key_hex();
        assert_eq!(hex_key.len(), 64);
        assert!(DataCipher::from_hex(&hex_key).is_ok());
        assert!(DataCipher::from_hex("abcd").is_err());
        assert!(DataCipher::from_hex(&"zz".repeat(32)).is_err());
    }
}
