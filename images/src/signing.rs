// SPDX-License-Identifier: MIT OR Apache-2.0
//! Package signatures: the canonical form of a package entry, ed25519
//! keys, signing and verification (DESIGN §8, step 1).
//!
//! A signature covers [`canonical_form`]: a byte string that spells every
//! field of the package entry that matters to what gets installed — the
//! architecture, the name, the publisher, the program (its `apps/` name
//! or `debian:PACKAGE/PATH`) with the SHA-256 of its ELF file, whether it
//! is loaded at a fixed address, every shipped file with its mode and SHA-256, every
//! symbolic and hard link, every need, every call, and the launcher's
//! grammar in `launcher_grammar`'s binary form. Each variable field is
//! length-prefixed, so no two entries share a form; the TOML spelling
//! (order of keys, quoting, comments) does not count, the order of lists
//! does. Changing one byte of a file, one grammar option or one need
//! breaks the signature.
//!
//! Keys are ed25519 (crate `ed25519-dalek`): a public key is 64
//! hexadecimal digits in the manifest's trust policy; a secret key file
//! (`PUBLISHER.secret`) holds the 32-byte seed as 64 hexadecimal digits,
//! with `#` comment lines allowed. Signatures are 128 hexadecimal digits
//! and are verified strictly (`verify_strict`: no small-order keys, no
//! malleable signatures).

use anyhow::{bail, Context, Result};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use launcher_grammar::Grammar;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;

use crate::manifest::Package;

/// The first line of every canonical form (and the domain separation of
/// the signatures).
pub const FORM_VERSION: &str = "manux-package-v1";

/// A SHA-256 digest and the length of what it hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileDigest {
    /// SHA-256.
    pub sha256: [u8; 32],
    /// Length in bytes.
    pub size: u64,
}

impl FileDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> FileDigest {
        FileDigest {
            sha256: Sha256::digest(bytes).into(),
            size: bytes.len() as u64,
        }
    }
}

/// Lower-case hexadecimal.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Exactly `N` bytes from hexadecimal `text` (either case).
///
/// Return values: the bytes, or `None` when `text` is not `2 * N`
/// hexadecimal digits.
pub fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut bytes = [0u8; N];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *byte = (high * 16 + low) as u8;
    }
    Some(bytes)
}

/// The public key spelt `text` (64 hexadecimal digits).
///
/// Return values: the key, or `None` if it is not 32 bytes of hex or not
/// a point of the curve.
pub fn parse_public_key(text: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(&from_hex::<32>(text.trim())?).ok()
}

/// A secret key read from a file.
pub struct SecretKey {
    key: SigningKey,
}

impl SecretKey {
    /// The key whose seed is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Reads a key file: `#` comment lines, then one line of 64
    /// hexadecimal digits.
    pub fn read(path: &Path) -> Result<SecretKey> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses the text of a key file.
    pub fn parse(text: &str) -> Result<SecretKey> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'));
        let Some(line) = lines.next() else {
            bail!("no key: expected 64 hexadecimal digits");
        };
        if lines.next().is_some() {
            bail!("more than one key line");
        }
        let Some(seed) = from_hex::<32>(line) else {
            bail!("the key is not 64 hexadecimal digits");
        };
        Ok(SecretKey::from_seed(seed))
    }

    /// A new key from the system's random source.
    pub fn generate() -> Result<SecretKey> {
        use std::io::Read as _;
        let mut seed = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut random| random.read_exact(&mut seed))
            .context("reading /dev/urandom")?;
        Ok(SecretKey::from_seed(seed))
    }

    /// The text of a key file for this key, with a comment.
    pub fn to_file_text(&self, comment: &str) -> String {
        let mut text = String::new();
        for line in comment.lines() {
            text.push_str("# ");
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&to_hex(self.key.as_bytes()));
        text.push('\n');
        text
    }

    /// The public half, as the trust policy spells it.
    pub fn public_hex(&self) -> String {
        to_hex(self.key.verifying_key().as_bytes())
    }

    /// The public half.
    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The signature of `message`, in hexadecimal.
    pub fn sign(&self, message: &[u8]) -> String {
        to_hex(&self.key.sign(message).to_bytes())
    }
}

/// Why a signature does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureProblem {
    /// Not 128 hexadecimal digits.
    Malformed,
    /// Well formed, but not by this key over this package.
    Mismatch,
}

/// Checks hexadecimal `signature` of `message` by `key`.
///
/// Return values: `Ok(())`, [`SignatureProblem::Malformed`] or
/// [`SignatureProblem::Mismatch`].
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &str) -> Result<(), SignatureProblem> {
    let bytes = from_hex::<64>(signature.trim()).ok_or(SignatureProblem::Malformed)?;
    let signature = Signature::from_bytes(&bytes);
    key.verify_strict(message, &signature)
        .map_err(|_| SignatureProblem::Mismatch)
}

/// What a package's files hash to, in the order the entry lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageDigests {
    /// The program's ELF file.
    pub program: FileDigest,
    /// One per `files` entry: `Some` for regular files (`source` or
    /// `text`), `None` for links.
    pub files: Vec<Option<FileDigest>>,
}

/// Appends `tag`, a length-prefixed `value`, and a new line.
fn field(form: &mut Vec<u8>, tag: &str, value: &[u8]) {
    form.extend_from_slice(tag.as_bytes());
    form.extend_from_slice(format!(" {}:", value.len()).as_bytes());
    form.extend_from_slice(value);
}

fn digest_text(digest: &FileDigest) -> String {
    format!(" sha256 {} size {}", to_hex(&digest.sha256), digest.size)
}

/// The bytes a signature of `package`, built for `arch`, covers (see the
/// module documentation). `grammar` is the package's checked grammar and
/// `digests` its files' hashes.
pub fn canonical_form(
    package: &Package,
    arch: &str,
    grammar: &Grammar,
    digests: &PackageDigests,
) -> Vec<u8> {
    let mut form = Vec::new();
    form.extend_from_slice(FORM_VERSION.as_bytes());
    form.push(b'\n');
    field(&mut form, "arch", arch.as_bytes());
    form.push(b'\n');
    field(&mut form, "name", package.name.as_bytes());
    form.push(b'\n');
    field(&mut form, "publisher", package.publisher.as_bytes());
    form.push(b'\n');
    field(&mut form, "program", package.program().as_bytes());
    form.extend_from_slice(digest_text(&digests.program).as_bytes());
    form.push(b'\n');
    // Spelled only when set, so the forms of packages without it (and
    // their signatures) are what they were before the field existed.
    if package.fixed_address {
        form.extend_from_slice(b"fixed-address\n");
    }
    for (file, digest) in package.files.iter().zip(&digests.files) {
        field(&mut form, "file", file.path.as_bytes());
        if let Some(target) = &file.symlink {
            field(&mut form, " symlink", target.as_bytes());
        } else if let Some(target) = &file.link {
            field(&mut form, " link", target.as_bytes());
        } else {
            form.extend_from_slice(format!(" mode {:o}", file.mode.unwrap_or(0o644)).as_bytes());
            if let Some(digest) = digest {
                form.extend_from_slice(digest_text(digest).as_bytes());
            }
        }
        form.push(b'\n');
    }
    for need in &package.needs {
        field(&mut form, "need", need.path.as_bytes());
        field(&mut form, " at", need.root_path().as_bytes());
        form.push(b'\n');
    }
    for call in &package.calls {
        field(&mut form, "call", call.as_bytes());
        form.push(b'\n');
    }
    // Spelled only when declared, as `fixed-address`.
    for device in &package.devices {
        field(&mut form, "device", device.name().as_bytes());
        form.push(b'\n');
    }
    let grammar_bytes = launcher_grammar::to_bytes(grammar);
    form.extend_from_slice(format!("grammar {}\n", to_hex(&grammar_bytes)).as_bytes());
    form
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Need, PackageFile};

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_seed([byte; 32])
    }

    fn package() -> Package {
        Package {
            name: "cat".into(),
            publisher: "manux".into(),
            program: None,
            fixed_address: false,
            files: vec![
                PackageFile {
                    path: "etc/catrc".into(),
                    text: Some("x".into()),
                    ..PackageFile::default()
                },
                PackageFile {
                    path: "etc/alias".into(),
                    link: Some("etc/catrc".into()),
                    ..PackageFile::default()
                },
            ],
            needs: vec![Need {
                path: "/etc/motd".into(),
                at: None,
            }],
            calls: vec!["ls".into()],
            devices: vec![crate::manifest::DeviceFile::Null],
            grammar: None,
            signature: Default::default(),
        }
    }

    fn digests() -> PackageDigests {
        PackageDigests {
            program: FileDigest::of(b"\x7fELF cat"),
            files: vec![Some(FileDigest::of(b"x")), None],
        }
    }

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        assert_eq!(to_hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(from_hex::<3>("00ABff"), Some([0, 0xab, 0xff]));
        assert_eq!(from_hex::<3>("00abf"), None);
        assert_eq!(from_hex::<2>("0g00"), None);
        assert_eq!(from_hex::<1>("+1"), None);
    }

    #[test]
    fn the_form_spells_every_field() {
        let form = canonical_form(&package(), "aarch64", &Grammar::empty(), &digests());
        let text = String::from_utf8(form).unwrap();
        assert!(text.starts_with("manux-package-v1\narch 7:aarch64\nname 3:cat\n"));
        assert!(text.contains("publisher 5:manux\n"));
        assert!(text.contains(&format!(
            "program 3:cat sha256 {} size 8\n",
            to_hex(&FileDigest::of(b"\x7fELF cat").sha256)
        )));
        assert!(text.contains("file 9:etc/catrc mode 644 sha256 2d711642"));
        assert!(text.contains("file 9:etc/alias link 9:etc/catrc\n"));
        assert!(text.contains("need 9:/etc/motd at 8:etc/motd\n"));
        assert!(text.contains("call 2:ls\n"));
        assert!(text.contains("device 4:null\n"));
        assert!(
            text.ends_with("grammar 03010000000000ffff000000\n"),
            "{text}"
        );
    }

    #[test]
    fn signatures_verify_and_break() {
        let signer = key(7);
        let form = canonical_form(&package(), "aarch64", &Grammar::empty(), &digests());
        let signature = signer.sign(&form);
        assert_eq!(signature.len(), 128);
        assert_eq!(verify(&signer.public(), &form, &signature), Ok(()));
        // Another architecture, another key, a changed file, a malformed
        // signature.
        let other_arch = canonical_form(&package(), "x86_64", &Grammar::empty(), &digests());
        assert_eq!(
            verify(&signer.public(), &other_arch, &signature),
            Err(SignatureProblem::Mismatch)
        );
        assert_eq!(
            verify(&key(8).public(), &form, &signature),
            Err(SignatureProblem::Mismatch)
        );
        let mut changed = digests();
        changed.files[0] = Some(FileDigest::of(b"y"));
        let changed = canonical_form(&package(), "aarch64", &Grammar::empty(), &changed);
        assert_eq!(
            verify(&signer.public(), &changed, &signature),
            Err(SignatureProblem::Mismatch)
        );
        assert_eq!(
            verify(&signer.public(), &form, "abcd"),
            Err(SignatureProblem::Malformed)
        );
    }

    #[test]
    fn key_files_round_trip() {
        let signer = key(9);
        let text = signer.to_file_text("development only\nnever for a release");
        assert!(text.starts_with("# development only\n# never for a release\n"));
        let again = SecretKey::parse(&text).unwrap();
        assert_eq!(again.public_hex(), signer.public_hex());
        assert_eq!(
            parse_public_key(&signer.public_hex()).unwrap(),
            signer.public()
        );
        assert!(SecretKey::parse("# nothing\n").is_err());
        assert!(SecretKey::parse("abc\n").is_err());
        assert!(parse_public_key("00").is_none());
    }
}
