//! Keys: the operator's account (signs transactions, holds the stake) and the worker's key (signs
//! training proofs; registered on chain, rotatable). Both are sr25519 and come from a secret URI
//! (`//Alice`, a BIP-39 phrase with optional `//hard/soft` derivations, or a `0x` seed) given
//! directly or in a file. A secret is never logged or printed: [`Secret`]'s `Debug` hides it.

use anyhow::{bail, Context, Result};
use sp_core::crypto::{Ss58Codec, Zeroize};
use sp_core::{sr25519, Pair as _};
use std::path::Path;
use std::str::FromStr;

/// A secret URI, read from the command line or a file.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Secret {
    /// `source` is a secret URI (`//Alice`, `0x…` seed, a phrase) or the path of a file holding one.
    pub fn parse(source: &str) -> Result<Self> {
        let trimmed = source.trim();
        if trimmed.starts_with("//") || trimmed.starts_with("0x") || trimmed.contains(' ') {
            return Ok(Self(trimmed.to_string()));
        }
        let path = Path::new(trimmed);
        if path.is_file() {
            return Self::read(path);
        }
        bail!(
            "a key must be a secret URI (`//Alice`, a `0x` seed, a phrase) or an existing key file; \
             `{}` is neither",
            path.display()
        )
    }

    /// Reads a key file (its first non-empty line).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading key file {}", path.display()))?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .with_context(|| format!("key file {} is empty", path.display()))?;
        Ok(Self(line.to_string()))
    }

    /// The sr25519 pair, for signing proofs.
    pub fn pair(&self) -> Result<sr25519::Pair> {
        sr25519::Pair::from_string(&self.0, None)
            .map_err(|e| anyhow::anyhow!("not a valid sr25519 secret URI: {e:?}"))
    }

    /// The same key as a subxt signer, for transactions.
    pub fn signer(&self) -> Result<subxt_signer::sr25519::Keypair> {
        let uri = subxt_signer::SecretUri::from_str(&self.0)
            .map_err(|e| anyhow::anyhow!("not a valid secret URI: {e}"))?;
        subxt_signer::sr25519::Keypair::from_uri(&uri)
            .map_err(|e| anyhow::anyhow!("cannot derive an sr25519 key: {e}"))
    }

    /// Generates a new key (a 24-word phrase) and writes it to `path` (mode 0600), refusing to
    /// overwrite an existing file.
    pub fn generate(path: &Path) -> Result<Self> {
        let (_, mut phrase, _) = sr25519::Pair::generate_with_phrase(None);
        let secret = Self(phrase.clone());
        phrase.zeroize();
        write_private(path, secret.0.as_bytes())?;
        Ok(secret)
    }
}

/// What may be shown of a key: its public key and SS58 address (generic prefix 42).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublicInfo {
    /// `0x`-prefixed hex of the 32-byte public key (= the account id).
    pub public_key: String,
    pub ss58_address: String,
}

impl PublicInfo {
    pub fn of(public: &sr25519::Public) -> Self {
        Self {
            public_key: format!("0x{}", hex::encode(public.0)),
            ss58_address: public.to_ss58check(),
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating key file {} (it must not exist)", path.display()))?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_and_file_give_the_same_key_for_both_signers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "//Alice\n").unwrap();
        let from_uri = Secret::parse("//Alice").unwrap();
        let from_file = Secret::parse(path.to_str().unwrap()).unwrap();
        let public = from_uri.pair().unwrap().public();
        assert_eq!(public, from_file.pair().unwrap().public());
        assert_eq!(public.0, from_uri.signer().unwrap().public_key().0);
        assert_eq!(
            PublicInfo::of(&public).ss58_address,
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        );
    }

    #[test]
    fn generated_keys_are_private_files_that_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("worker.key");
        let secret = Secret::generate(&path).unwrap();
        let loaded = Secret::read(&path).unwrap();
        assert_eq!(
            secret.pair().unwrap().public(),
            loaded.pair().unwrap().public()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            Secret::generate(&path).is_err(),
            "an existing key is never overwritten"
        );
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        let secret = Secret::parse("//Alice").unwrap();
        assert!(!format!("{secret:?}").contains("Alice"));
        let error = Secret::parse("not-a-key-or-file").unwrap_err();
        assert!(format!("{error:#}").contains("neither"));
        let bad = Secret::parse("0xnothex").unwrap();
        let Err(error) = bad.pair() else {
            panic!("`0xnothex` is not a key");
        };
        let message = format!("{error:#}");
        assert!(!message.contains("nothex"), "{message}");
    }
}
