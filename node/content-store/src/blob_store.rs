//! Content-addressed blob files with atomic writes.
//!
//! A blob lives in `<dir>/<64 lowercase hex digits of its blake2-256 hash>`. It is written to a
//! temporary file in the same directory (`.tmp-…`, never a valid blob name), flushed to disk,
//! renamed over its final name and the directory flushed: a rename is atomic, so after a crash a
//! blob is either whole or absent, never half-written. Leftover temporary files are deleted when
//! the store is opened. Reads re-hash the bytes, so a file damaged on disk is reported, not served.

use attribution_primitives::Hash;
use sp_runtime::traits::{BlakeTwo256, Hash as _};
use std::{
    fs, io,
    io::Write,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

/// Prefix of temporary files.
const TEMP_PREFIX: &str = ".tmp-";

/// The blake2-256 hash of `bytes`: a blob's name and the hash contributions announce.
pub fn content_hash(bytes: &[u8]) -> Hash {
    BlakeTwo256::hash(bytes)
}

/// The CIDv1 of a blob with this hash (raw codec, blake2b-256 multihash, base32 lower), as the
/// worker names the same bytes.
pub use attribution_primitives::cid::cid_v1 as cid;

/// Blobs named by their hash under one directory.
#[derive(Debug)]
pub struct BlobStore {
    dir: PathBuf,
    next_temp: AtomicU64,
}

impl BlobStore {
    /// Opens (creating it if needed) the store under `dir` and deletes temporary files a crash
    /// left behind.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(Self {
            dir,
            next_temp: AtomicU64::new(0),
        })
    }

    /// The directory blobs live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, hash: &Hash) -> PathBuf {
        self.dir.join(hex::encode(hash.as_bytes()))
    }

    /// Whether the blob with this hash is stored.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.path(hash).is_file()
    }

    /// Stores `bytes` (once: storing the same bytes again changes nothing) and returns their hash.
    pub fn put(&self, bytes: &[u8]) -> io::Result<Hash> {
        let hash = content_hash(bytes);
        let path = self.path(&hash);
        if path.is_file() {
            return Ok(hash);
        }
        let temp = self.dir.join(format!(
            "{TEMP_PREFIX}{}-{}-{}",
            hex::encode(hash.as_bytes()),
            std::process::id(),
            self.next_temp.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = fs::File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temp, &path)
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
        // The rename is durable once the directory entry is.
        fs::File::open(&self.dir)?.sync_all()?;
        Ok(hash)
    }

    /// Deletes the blob with this hash; returns whether it was stored. The directory is flushed,
    /// so a deletion survives a crash.
    pub fn remove(&self, hash: &Hash) -> io::Result<bool> {
        match fs::remove_file(self.path(hash)) {
            Ok(()) => {
                fs::File::open(&self.dir)?.sync_all()?;
                Ok(true)
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The blob with this hash, `None` if it is not stored. A stored file whose bytes no longer
    /// hash to its name is an `InvalidData` error.
    pub fn get(&self, hash: &Hash) -> io::Result<Option<Vec<u8>>> {
        let bytes = match fs::read(self.path(hash)) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        if content_hash(&bytes) != *hash {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("blob {hash:?} is damaged on disk"),
            ));
        }
        Ok(Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_files(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(TEMP_PREFIX))
            .collect()
    }

    #[test]
    fn cid_matches_known_vectors() {
        // Computed independently: base32lower(0x01 0x55 varint(0xb220) 0x20 || blake2b-256(bytes)).
        assert_eq!(
            hex::encode(content_hash(b"").as_bytes()),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
        );
        assert_eq!(
            cid(&content_hash(b"")),
            "bafk2bzaceahfouoae3suhmxivmxlayez3kq5dzo7i53y654h7kvultprf7r2q"
        );
        assert_eq!(
            cid(&content_hash(b"hello world")),
            "bafk2bzaceaswza5ss4iu2ia3galz6pyo6dfm5f4dmiw2lf2de22dmf4k533ba"
        );
    }

    #[test]
    fn stores_by_hash_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let hash = store.put(b"row one\n").unwrap();
        assert_eq!(hash, content_hash(b"row one\n"));
        assert!(store.contains(&hash));
        assert_eq!(store.get(&hash).unwrap(), Some(b"row one\n".to_vec()));
        assert!(dir.path().join(hex::encode(hash.as_bytes())).is_file());
        assert_eq!(store.get(&content_hash(b"other")).unwrap(), None);
        assert!(
            temp_files(dir.path()).is_empty(),
            "no temporary file outlives a write"
        );
    }

    #[test]
    fn removes_a_blob_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let kept = store.put(b"kept").unwrap();
        let dropped = store.put(b"dropped").unwrap();
        assert!(store.remove(&dropped).unwrap());
        assert!(!store.contains(&dropped));
        assert_eq!(store.get(&dropped).unwrap(), None);
        assert!(!store.remove(&dropped).unwrap(), "already gone");
        assert_eq!(store.get(&kept).unwrap(), Some(b"kept".to_vec()));
    }

    #[test]
    fn storing_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let first = store.put(b"same").unwrap();
        let second = store.put(b"same").unwrap();
        assert_eq!(first, second);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn blobs_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let hashes: Vec<Hash> = {
            let store = BlobStore::open(dir.path()).unwrap();
            (0..5u8).map(|n| store.put(&[n; 100]).unwrap()).collect()
        };
        let reopened = BlobStore::open(dir.path()).unwrap();
        for (n, hash) in hashes.iter().enumerate() {
            assert_eq!(reopened.get(hash).unwrap(), Some(vec![n as u8; 100]));
        }
    }

    #[test]
    fn a_write_cut_short_by_a_crash_leaves_no_blob_and_is_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = b"the whole blob".to_vec();
        let hash = content_hash(&bytes);
        // What a crash between create and rename leaves: a partial temporary file.
        let partial = dir
            .path()
            .join(format!("{TEMP_PREFIX}{}-1-0", hex::encode(hash.as_bytes())));
        fs::write(&partial, &bytes[..5]).unwrap();

        let store = BlobStore::open(dir.path()).unwrap();
        assert!(!partial.exists(), "opening removes leftovers");
        assert!(!store.contains(&hash));
        assert_eq!(store.get(&hash).unwrap(), None);
        store.put(&bytes).unwrap();
        assert_eq!(store.get(&hash).unwrap(), Some(bytes));
    }

    #[test]
    fn a_blob_damaged_on_disk_is_reported_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let hash = store.put(b"original").unwrap();
        fs::write(dir.path().join(hex::encode(hash.as_bytes())), b"tampered").unwrap();
        assert_eq!(
            store.get(&hash).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
