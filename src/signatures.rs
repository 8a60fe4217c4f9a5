//! Discord's request signatures, checked together when requests arrive together: one batch
//! of Ed25519 checks costs about half as much per signature as checking each alone.

use std::sync::Mutex;

use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use tokio::sync::oneshot;

/// Checks signatures made with one public key.
pub struct Signatures {
    key: VerifyingKey,
    pending: Mutex<Vec<Pending>>,
}

/// A signature waiting for its batch.
struct Pending {
    message: Vec<u8>,
    signature: Signature,
    answer: oneshot::Sender<bool>,
}

impl Signatures {
    /// `None` when `public_key` is not an Ed25519 key.
    pub fn new(public_key: &[u8; 32]) -> Option<Signatures> {
        Some(Signatures {
            key: VerifyingKey::from_bytes(public_key).ok()?,
            pending: Mutex::default(),
        })
    }

    /// Whether `signature` (hex, as Discord sends it) signs `timestamp` followed by `body`.
    pub async fn verify(&self, signature: &str, timestamp: &str, body: &[u8]) -> bool {
        let Some(signature) = parse_hex(signature).map(|bytes| Signature::from_bytes(&bytes))
        else {
            return false;
        };
        let (answer, answered) = oneshot::channel();
        self.lock().push(Pending {
            message: [timestamp.as_bytes(), body].concat(),
            signature,
            answer,
        });
        // Requests already read on other tasks get a turn to join this batch; whichever
        // task looks first checks everything waiting, its own signature included or not.
        tokio::task::yield_now().await;
        let mut batch = std::mem::take(&mut *self.lock());
        // A request dropped while it waited needs no answer.
        batch.retain(|pending| !pending.answer.is_closed());
        self.check(batch);
        answered.await.unwrap_or(false)
    }

    /// Answers every signature of `batch`: all good when the library's batch check passes,
    /// and each checked alone when it does not, so a forged one fails only its own request.
    fn check(&self, batch: Vec<Pending>) {
        let all_good = batch.len() > 1 && {
            let messages: Vec<&[u8]> = batch.iter().map(|p| p.message.as_slice()).collect();
            let signatures: Vec<Signature> = batch.iter().map(|p| p.signature).collect();
            let keys = vec![self.key; batch.len()];
            ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
        };
        for pending in batch {
            let good = all_good
                || self
                    .key
                    .verify(&pending.message, &pending.signature)
                    .is_ok();
            let _ = pending.answer.send(good);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        // The list stays whole if a holder panicked: pushing and taking cannot stop halfway.
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The 64 bytes a signature's 128 hex digits spell.
fn parse_hex(text: &str) -> Option<[u8; 64]> {
    let mut bytes = [0; 64];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer as _, SigningKey};

    use super::*;

    fn hex(signature: &Signature) -> String {
        hex::encode(signature.to_bytes())
    }

    #[tokio::test]
    async fn a_forged_signature_among_good_ones_fails_alone() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let signatures = Signatures::new(&key.verifying_key().to_bytes()).unwrap();
        let sign = |timestamp: &str, body: &str| {
            hex(&key.sign(&[timestamp.as_bytes(), body.as_bytes()].concat()))
        };
        let good = sign("1780000000", "{\"type\":1}");
        let other = sign("1780000001", "{\"type\":2}");
        let answers = tokio::join!(
            signatures.verify(&good, "1780000000", b"{\"type\":1}"),
            signatures.verify(&good, "1780000000", b"{\"type\":3}"),
            signatures.verify(&other, "1780000001", b"{\"type\":2}"),
            signatures.verify(&good, "1780000009", b"{\"type\":1}"),
        );
        assert_eq!(answers, (true, false, true, false));
        let answers = tokio::join!(
            signatures.verify(&good, "1780000000", b"{\"type\":1}"),
            signatures.verify(&other, "1780000001", b"{\"type\":2}"),
        );
        assert_eq!(answers, (true, true), "a batch of good signatures passes");
        assert!(
            signatures
                .verify(&other, "1780000001", b"{\"type\":2}")
                .await
        );
        assert!(!signatures.verify(&other, "1780000001", b"{}").await);
    }

    #[tokio::test]
    async fn a_signature_that_is_not_128_hex_digits_fails() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let signatures = Signatures::new(&key.verifying_key().to_bytes()).unwrap();
        let good = hex(&key.sign(b"1780000000{}"));
        assert!(signatures.verify(&good, "1780000000", b"{}").await);
        assert!(!signatures.verify(&good[..126], "1780000000", b"{}").await);
        assert!(
            !signatures
                .verify(&format!("{good}00"), "1780000000", b"{}")
                .await
        );
        let bad_digit = format!("zz{}", &good[2..]);
        assert!(!signatures.verify(&bad_digit, "1780000000", b"{}").await);
        assert!(!signatures.verify("", "1780000000", b"{}").await);
    }
}
