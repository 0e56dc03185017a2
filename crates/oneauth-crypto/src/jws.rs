//! Signing keys and compact JWS (RFC 7515) with cached key pairs: a key is
//! parsed once when loaded, not per token (jsonwebtoken re-parses per call,
//! which makes RS256 3× slower). The public halves form the JWKS (RFC 7517).

use crate::b64url;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use bytes::Bytes;
use oneauth_core::config::SigningAlg;
use serde::{Deserialize, Serialize};

/// A private key, parsed and ready to sign.
pub enum KeyMaterial {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A public JWK as published in the JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

impl KeyMaterial {
    /// A new key pair for `alg`, as PKCS#8 v1 DER (the form we store, sealed).
    pub fn generate(alg: SigningAlg) -> anyhow::Result<Vec<u8>> {
        let der = match alg {
            SigningAlg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|k| k.as_der())
                .map(|d| d.as_ref().to_vec()),
            SigningAlg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec()),
            SigningAlg::EdDSA => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec()),
        };
        der.map_err(|_| anyhow::anyhow!("generating a {} key failed", alg.as_str()))
    }

    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> anyhow::Result<Self> {
        let bad =
            |e: aws_lc_rs::error::KeyRejected| anyhow::anyhow!("bad {} key: {e}", alg.as_str());
        Ok(match alg {
            SigningAlg::RS256 => Self::Rsa(RsaKeyPair::from_pkcs8(der).map_err(bad)?),
            SigningAlg::ES256 => Self::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(bad)?,
            ),
            SigningAlg::EdDSA => Self::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(bad)?),
        })
    }

    fn public_jwk(&self, kid: &str, alg: SigningAlg) -> Jwk {
        let mut jwk = Jwk {
            kty: String::new(),
            kid: kid.to_owned(),
            use_: "sig".into(),
            alg: alg.as_str().into(),
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
        };
        match self {
            Self::Rsa(k) => {
                let public = k.public_key();
                jwk.kty = "RSA".into();
                jwk.n = Some(b64url(public.modulus().big_endian_without_leading_zero()));
                jwk.e = Some(b64url(public.exponent().big_endian_without_leading_zero()));
            }
            Self::Ec(k) => {
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = k.public_key().as_ref();
                jwk.kty = "EC".into();
                jwk.crv = Some("P-256".into());
                jwk.x = Some(b64url(&point[1..33]));
                jwk.y = Some(b64url(&point[33..65]));
            }
            Self::Ed(k) => {
                jwk.kty = "OKP".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = Some(b64url(k.public_key().as_ref()));
            }
        }
        jwk
    }

    fn sign(&self, msg: &[u8]) -> anyhow::Result<Vec<u8>> {
        let failed = |_| anyhow::anyhow!("signing failed");
        Ok(match self {
            Self::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
                    .map_err(failed)?;
                sig
            }
            Self::Ec(k) => k
                .sign(&SystemRandom::new(), msg)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Self::Ed(k) => k.sign(msg).as_ref().to_vec(),
        })
    }
}

/// One loaded signing key.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub jwk: Jwk,
    /// Unix seconds; a newer key of the same algorithm supersedes it.
    pub created_at: i64,
    material: KeyMaterial,
}

impl SigningKey {
    pub fn load(
        kid: String,
        alg: SigningAlg,
        created_at: i64,
        pkcs8: &[u8],
    ) -> anyhow::Result<Self> {
        let material = KeyMaterial::from_pkcs8(alg, pkcs8)?;
        let jwk = material.public_jwk(&kid, alg);
        Ok(Self {
            kid,
            alg,
            jwk,
            created_at,
            material,
        })
    }

    /// Checks a signature with this key's public half.
    fn verify(&self, signing_input: &[u8], sig: &[u8]) -> bool {
        use aws_lc_rs::signature::{self, UnparsedPublicKey};
        let (alg, public): (&'static dyn signature::VerificationAlgorithm, &[u8]) = match &self
            .material
        {
            KeyMaterial::Rsa(k) => (
                &signature::RSA_PKCS1_2048_8192_SHA256,
                k.public_key().as_ref(),
            ),
            KeyMaterial::Ec(k) => (&signature::ECDSA_P256_SHA256_FIXED, k.public_key().as_ref()),
            KeyMaterial::Ed(k) => (&signature::ED25519, k.public_key().as_ref()),
        };
        UnparsedPublicKey::new(alg, public)
            .verify(signing_input, sig)
            .is_ok()
    }

    /// Compact JWS of `claims` with `typ` (e.g. `JWT`, `at+jwt`).
    pub fn sign_compact(&self, typ: &str, claims: &serde_json::Value) -> anyhow::Result<String> {
        let header = serde_json::json!({ "alg": self.alg.as_str(), "kid": self.kid, "typ": typ });
        let mut out = b64url(serde_json::to_vec(&header)?);
        out.push('.');
        out.push_str(&b64url(serde_json::to_vec(claims)?));
        let sig = self.material.sign(out.as_bytes())?;
        out.push('.');
        out.push_str(&b64url(sig));
        Ok(out)
    }
}

/// The keys in use: the newest key of each algorithm signs; an older key
/// stays published until everything it signed has expired, so tokens
/// signed before a rotation still verify.
pub struct Keyring {
    keys: Vec<SigningKey>,
    /// Served as is: a clone shares the buffer.
    jwks_json: Bytes,
}

impl Keyring {
    /// `keys` newest first. A key superseded at time T (the creation of the
    /// next key of its algorithm) is published until T + `retention_secs`.
    pub fn new(keys: Vec<SigningKey>, now: i64, retention_secs: i64) -> Self {
        let published: Vec<&Jwk> = keys
            .iter()
            .filter(|k| {
                let superseded_at = keys
                    .iter()
                    .filter(|n| n.alg == k.alg && n.created_at > k.created_at)
                    .map(|n| n.created_at)
                    .min();
                superseded_at.is_none_or(|t| now < t + retention_secs)
            })
            .map(|k| &k.jwk)
            .collect();
        let jwks = serde_json::json!({ "keys": published });
        Self {
            jwks_json: Bytes::from(jwks.to_string()),
            keys,
        }
    }

    /// The newest key for `alg`.
    pub fn signer(&self, alg: SigningAlg) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.alg == alg)
    }

    pub fn algorithms(&self) -> Vec<SigningAlg> {
        SigningAlg::ALL
            .into_iter()
            .filter(|a| self.signer(*a).is_some())
            .collect()
    }

    /// The JWKS document, serialised once.
    pub fn jwks_json(&self) -> Bytes {
        self.jwks_json.clone()
    }

    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    /// The claims of a compact JWS of type `typ` signed by one of our keys.
    /// The key, and so the algorithm, comes from our registry by `kid`,
    /// never from the header's `alg` (no algorithm confusion, no `none`).
    /// The same keys sign id_tokens (`JWT`) and RFC 9068 access tokens
    /// (`at+jwt`), so the type is checked too: one never passes for the
    /// other.
    pub fn verify_compact(&self, jws: &str, typ: &str) -> Option<serde_json::Value> {
        let (signing_input, sig) = jws.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        let header: serde_json::Value =
            serde_json::from_slice(&crate::b64url_decode(header)?).ok()?;
        if !header.get("typ")?.as_str()?.eq_ignore_ascii_case(typ) {
            return None;
        }
        let kid = header.get("kid")?.as_str()?;
        let key = self.keys.iter().find(|k| k.kid == kid)?;
        if header.get("alg")?.as_str()? != key.alg.as_str() {
            return None;
        }
        key.verify(signing_input.as_bytes(), &crate::b64url_decode(sig)?)
            .then(|| serde_json::from_slice(&crate::b64url_decode(payload)?).ok())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{self, UnparsedPublicKey};

    fn split(jws: &str) -> (String, Vec<u8>) {
        let (signing_input, sig) = jws.rsplit_once('.').unwrap();
        (signing_input.to_owned(), crate::b64url_decode(sig).unwrap())
    }

    #[test]
    fn every_algorithm_signs_what_its_jwk_verifies() {
        for alg in SigningAlg::ALL {
            let der = KeyMaterial::generate(alg).unwrap();
            let key = SigningKey::load("k1".into(), alg, 0, &der).unwrap();
            let jws = key
                .sign_compact("JWT", &serde_json::json!({"sub": "u"}))
                .unwrap();
            let (input, sig) = split(&jws);
            let jwk = &key.jwk;
            let d = |s: &Option<String>| crate::b64url_decode(s.as_deref().unwrap()).unwrap();
            let ok = match alg {
                SigningAlg::RS256 => signature::RsaPublicKeyComponents {
                    n: d(&jwk.n),
                    e: d(&jwk.e),
                }
                .verify(
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                    input.as_bytes(),
                    &sig,
                )
                .is_ok(),
                SigningAlg::ES256 => {
                    let mut point = vec![4u8];
                    point.extend(d(&jwk.x));
                    point.extend(d(&jwk.y));
                    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                        .verify(input.as_bytes(), &sig)
                        .is_ok()
                }
                SigningAlg::EdDSA => UnparsedPublicKey::new(&signature::ED25519, d(&jwk.x))
                    .verify(input.as_bytes(), &sig)
                    .is_ok(),
            };
            assert!(ok, "{alg:?} signature does not verify with its JWK");
        }
    }
}

#[cfg(test)]
mod keyring_tests {
    use super::*;

    fn key(kid: &str, alg: SigningAlg, created_at: i64) -> SigningKey {
        SigningKey::load(
            kid.into(),
            alg,
            created_at,
            &KeyMaterial::generate(alg).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn superseded_keys_stay_published_for_the_retention_then_go() {
        let keys = || {
            vec![
                key("new", SigningAlg::ES256, 100),
                key("old", SigningAlg::ES256, 10),
            ]
        };
        let ring = Keyring::new(keys(), 150, 60);
        assert_eq!(ring.signer(SigningAlg::ES256).unwrap().kid, "new");
        let text = |r: &Keyring| String::from_utf8(r.jwks_json().to_vec()).unwrap();
        assert!(text(&ring).contains("\"old\""));
        let later = Keyring::new(keys(), 161, 60);
        assert!(!text(&later).contains("\"old\""));
        assert!(text(&later).contains("\"new\""));
    }

    #[test]
    fn verify_takes_the_key_by_kid_and_refuses_tampering() {
        let ring = Keyring::new(
            vec![
                key("a", SigningAlg::EdDSA, 0),
                key("b", SigningAlg::ES256, 0),
            ],
            0,
            60,
        );
        let jws = ring
            .signer(SigningAlg::EdDSA)
            .unwrap()
            .sign_compact("JWT", &serde_json::json!({"sub": "x"}))
            .unwrap();
        assert_eq!(ring.verify_compact(&jws, "JWT").unwrap()["sub"], "x");
        let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
        parts[1] = crate::b64url(br#"{"sub":"y"}"#);
        assert!(ring.verify_compact(&parts.join("."), "JWT").is_none());
        let none_alg = format!(
            "{}.{}.",
            crate::b64url(br#"{"alg":"none","kid":"a","typ":"JWT"}"#),
            crate::b64url(br#"{"sub":"x"}"#)
        );
        assert!(ring.verify_compact(&none_alg, "JWT").is_none());
    }

    #[test]
    fn verify_refuses_a_token_of_another_type() {
        let ring = Keyring::new(vec![key("a", SigningAlg::ES256, 0)], 0, 60);
        let signer = ring.signer(SigningAlg::ES256).unwrap();
        let claims = serde_json::json!({"sub": "x"});
        let access_token = signer.sign_compact("at+jwt", &claims).unwrap();
        assert!(ring.verify_compact(&access_token, "JWT").is_none());
        assert!(ring.verify_compact(&access_token, "at+jwt").is_some());
        let id_token = signer.sign_compact("JWT", &claims).unwrap();
        assert!(ring.verify_compact(&id_token, "at+jwt").is_none());
    }
}
