//! Discord's request signatures, checked together when requests arrive together: one batch
//! of Ed25519 checks costs about half as much per signature as checking each alone.

use std::sync::Mutex;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _};
use curve25519_dalek::Scalar;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use rand::Rng as _;
use sha2::{Digest as _, Sha512};
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

    /// Answers every signature of `batch`: all good when the batch checks out, and each
    /// checked alone when it does not, so a forged one fails only its own request.
    fn check(&self, batch: Vec<Pending>) {
        let all_good = batch.len() > 1
            && all_signed_by(
                &self.key,
                batch.iter().map(|p| (p.message.as_slice(), &p.signature)),
            );
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

/// Whether every `(message, signature)` is signed by `key`, checked as one batch: the check of
/// `ed25519_dalek::verify_batch`, with a fresh random 128-bit `z` per signature,
///
/// `-(Σ z·s)·B + Σ z·R + (Σ z·H(R‖A‖M))·A = 0`,
///
/// except that every signature has the same key `A`, so its terms add up to one multiple of
/// `A` and the multiscalar multiplication takes n + 2 points instead of 2n + 1. As there, a
/// signature whose `R` is not a point or whose `s` is not reduced fails the batch.
fn all_signed_by<'a>(
    key: &VerifyingKey,
    signed: impl Iterator<Item = (&'a [u8], &'a Signature)>,
) -> bool {
    let a = key.as_bytes();
    let mut rng = rand::thread_rng();
    let (mut b_coefficient, mut a_coefficient) = (Scalar::ZERO, Scalar::ZERO);
    let mut zs = Vec::new();
    let mut rs = Vec::new();
    for (message, signature) in signed {
        let (Some(r), Some(s)) = (
            CompressedEdwardsY(*signature.r_bytes()).decompress(),
            Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes())),
        ) else {
            return false;
        };
        let hram = Sha512::new()
            .chain_update(signature.r_bytes())
            .chain_update(a)
            .chain_update(message)
            .finalize();
        let z = Scalar::from(rng.gen::<u128>());
        b_coefficient += z * s;
        a_coefficient += z * Scalar::from_bytes_mod_order_wide(&hram.into());
        zs.push(z);
        rs.push(r);
    }
    let a_point = EdwardsPoint::from(*key);
    EdwardsPoint::vartime_multiscalar_mul(
        std::iter::once(-b_coefficient)
            .chain(zs)
            .chain(std::iter::once(a_coefficient)),
        std::iter::once(ED25519_BASEPOINT_POINT)
            .chain(rs)
            .chain(std::iter::once(a_point)),
    )
    .is_identity()
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

    /// A message and its signature.
    type Signed = (Vec<u8>, Signature);

    /// Eight messages and their signatures by `key`.
    fn signed_by(key: &SigningKey) -> Vec<Signed> {
        (0..8)
            .map(|n| {
                let message = format!("17800000{n:02}{{\"type\":3,\"n\":{n}}}").into_bytes();
                let signature = key.sign(&message);
                (message, signature)
            })
            .collect()
    }

    fn check(key: &SigningKey, batch: &[Signed]) -> bool {
        all_signed_by(
            &key.verifying_key(),
            batch.iter().map(|(m, s)| (m.as_slice(), s)),
        )
    }

    #[test]
    fn a_batch_signed_by_the_key_checks_out_as_the_library_s_batch_does() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let batch = signed_by(&key);
        assert!(check(&key, &batch));
        assert!(check(&key, &batch[..1]), "a batch of one");
        let messages: Vec<&[u8]> = batch.iter().map(|(m, _)| m.as_slice()).collect();
        let signatures: Vec<Signature> = batch.iter().map(|(_, s)| *s).collect();
        let keys = vec![key.verifying_key(); batch.len()];
        assert!(ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok());
    }

    #[test]
    fn one_signature_that_does_not_check_out_fails_the_batch() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let good = signed_by(&key);
        let with = |change: &dyn Fn(&mut Signed)| {
            let mut batch = good.clone();
            change(&mut batch[5]);
            check(&key, &batch)
        };
        let other_key = SigningKey::from_bytes(&[8; 32]);
        assert!(!with(&|(_, s)| *s = other_key.sign(b"17800000{}")));
        assert!(
            !with(&|(m, s)| *s = other_key.sign(m)),
            "signed by another key"
        );
        assert!(!with(&|(m, _)| m.push(b' ')), "the message was changed");
        let other_r = *good[2].1.r_bytes();
        assert!(!with(
            &|(_, s)| *s = Signature::from_components(other_r, *s.s_bytes())
        ));
        // An `s` of 2^255 or more is not reduced modulo the group order.
        let mut unreduced = *good[5].1.s_bytes();
        unreduced[31] |= 0x80;
        assert!(!with(
            &|(_, s)| *s = Signature::from_components(*s.r_bytes(), unreduced)
        ));
        let not_a_point = (0..=255u8)
            .map(|byte| [byte; 32])
            .find(|bytes| CompressedEdwardsY(*bytes).decompress().is_none())
            .expect("some 32 bytes are not a point");
        assert!(!with(
            &|(_, s)| *s = Signature::from_components(not_a_point, *s.s_bytes())
        ));
        assert!(with(&|_| ()), "the batch as signed still checks out");
    }

    #[test]
    fn two_wrong_signatures_whose_errors_cancel_in_a_plain_sum_fail_the_batch() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let mut batch = signed_by(&key);
        let shift = |signature: &mut Signature, by: Scalar| {
            let s = Scalar::from_canonical_bytes(*signature.s_bytes()).unwrap();
            *signature = Signature::from_components(*signature.r_bytes(), (s + by).to_bytes());
        };
        shift(&mut batch[1].1, Scalar::ONE);
        shift(&mut batch[6].1, -Scalar::ONE);
        assert!(
            !check(&key, &batch),
            "each signature is weighed by its own random factor"
        );
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
