//! A datanet version as a job trains on it: every blob fetched from a node and checked against
//! its hash, the set against the version's Merkle root on chain, split into rows, and the
//! held-out rows chosen by each row's hash so that anyone holding the version can recompute the
//! split (and the held-out root the proof commits to).

use crate::artifact::blake2b_256;
use crate::data::{parse_jsonl, Example};
use crate::provenance::index::RowRef;
use anyhow::{bail, ensure, Context, Result};
use attribution_primitives::{merkle, ContributionId, Hash};
use attribution_worker_chain::Chain;
use std::collections::BTreeSet;
use std::path::Path;

/// One verified blob of the version.
#[derive(Debug, Clone)]
pub struct Blob {
    pub contribution: ContributionId,
    pub hash: Hash,
    pub bytes: Vec<u8>,
}

/// A row and where it came from.
#[derive(Debug, Clone)]
pub struct Row {
    pub contribution: ContributionId,
    /// 0-based index of the row among its blob's rows (blank lines are not rows), as retrieval
    /// and the provenance indexes number it.
    pub index: u32,
    /// blake2-256 of the row's line (without its line ending).
    pub hash: Hash,
    pub example: Example,
}

/// The rows of a version, split for training and evaluation.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub train: Vec<Row>,
    pub held_out: Vec<Row>,
    /// The contributions in the version, ascending.
    pub contributions: Vec<ContributionId>,
}

impl Dataset {
    /// Merkle root over the held-out rows' hashes in version order.
    pub fn held_out_root(&self) -> Hash {
        merkle::root(&self.held_out.iter().map(|r| r.hash).collect::<Vec<_>>())
    }

    /// The held-out rows, which the adapter never trained on: what the span and influence
    /// indexes leave out ([`crate::provenance::index::TrainingRows`]).
    pub fn held_out_rows(&self) -> BTreeSet<RowRef> {
        self.held_out
            .iter()
            .map(|r| RowRef {
                contribution: r.contribution,
                row: r.index,
            })
            .collect()
    }
}

/// Fetches every blob of `datanet@version` (reusing verified copies under `cache`), checks each
/// against its hash and the whole set against `expected_root`. A blob that does not match is
/// refused with an error naming it; nothing is trained on.
pub async fn fetch_version(
    chain: &Chain,
    datanet: u32,
    version: u32,
    expected_root: Hash,
    cache: &Path,
) -> Result<Vec<Blob>> {
    let manifest = chain
        .version_manifest(datanet, version)
        .await
        .with_context(|| format!("fetching the manifest of datanet {datanet} version {version}"))?;
    let leaves: Vec<Hash> = manifest.blobs.iter().map(|b| b.hash).collect();
    ensure!(
        merkle::root(&leaves) == expected_root,
        "the node's manifest of datanet {datanet} version {version} does not match the Merkle \
         root on chain"
    );
    std::fs::create_dir_all(cache)?;
    let mut blobs = Vec::with_capacity(manifest.blobs.len());
    for entry in &manifest.blobs {
        let path = cache.join(hex::encode(entry.hash));
        let cached = std::fs::read(&path)
            .ok()
            .filter(|bytes| Hash::from(blake2b_256(bytes)) == entry.hash);
        let bytes = match cached {
            Some(bytes) => bytes,
            None => {
                let bytes = chain.blob(entry.hash).await.with_context(|| {
                    format!(
                        "fetching contribution {} ({:?})",
                        entry.contribution, entry.hash
                    )
                })?;
                verify_blob(entry.contribution, entry.hash, entry.size, &bytes)?;
                std::fs::write(&path, &bytes)?;
                bytes
            }
        };
        blobs.push(Blob {
            contribution: entry.contribution,
            hash: entry.hash,
            bytes,
        });
    }
    tracing::info!(
        datanet,
        version,
        blobs = blobs.len(),
        "version fetched and verified"
    );
    Ok(blobs)
}

/// Refuses bytes whose hash or size is not what the chain announced.
pub fn verify_blob(
    contribution: ContributionId,
    hash: Hash,
    size: u64,
    bytes: &[u8],
) -> Result<()> {
    let actual = Hash::from(blake2b_256(bytes));
    if actual != hash || bytes.len() as u64 != size {
        bail!(
            "refusing contribution {contribution}: the node served {} bytes hashing to {actual:?}, \
             but the chain announced {size} bytes hashing to {hash:?}",
            bytes.len()
        );
    }
    Ok(())
}

/// Splits the blobs into rows (one per non-empty JSONL line) and holds out a row when its hash,
/// read as a fraction of 2⁶⁴, is below `eval_fraction`; at least one row is held out and one is
/// trained on.
pub fn split(blobs: &[Blob], eval_fraction: f64) -> Result<Dataset> {
    let mut rows = Vec::new();
    for blob in blobs {
        let text = std::str::from_utf8(&blob.bytes)
            .with_context(|| format!("contribution {} is not UTF-8", blob.contribution))?;
        let mut index = 0;
        for (line_index, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            let example = parse_jsonl(line)
                .with_context(|| {
                    format!(
                        "contribution {}, line {}",
                        blob.contribution,
                        line_index + 1
                    )
                })?
                .remove(0);
            rows.push(Row {
                contribution: blob.contribution,
                index,
                hash: Hash::from(blake2b_256(line.as_bytes())),
                example,
            });
            index += 1;
        }
    }
    ensure!(
        rows.len() >= 2,
        "the version has {} rows; a job needs at least 2",
        rows.len()
    );
    let position = |hash: &Hash| {
        u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes")) as f64
            / (u64::MAX as f64 + 1.0)
    };
    let (mut held_out, mut train): (Vec<Row>, Vec<Row>) = rows
        .iter()
        .cloned()
        .partition(|row| position(&row.hash) < eval_fraction);
    // Too few rows for the fraction to pick one: hold out the lowest hash (or keep the highest).
    if held_out.is_empty() {
        let lowest = lowest_position(&train, position);
        held_out.push(train.remove(lowest));
    } else if train.is_empty() {
        let highest = (0..held_out.len())
            .max_by(|&a, &b| position(&held_out[a].hash).total_cmp(&position(&held_out[b].hash)))
            .expect("not empty");
        train.push(held_out.remove(highest));
    }
    let mut contributions: Vec<ContributionId> = blobs.iter().map(|b| b.contribution).collect();
    contributions.sort_unstable();
    contributions.dedup();
    Ok(Dataset {
        train,
        held_out,
        contributions,
    })
}

fn lowest_position(rows: &[Row], position: impl Fn(&Hash) -> f64) -> usize {
    (0..rows.len())
        .min_by(|&a, &b| position(&rows[a].hash).total_cmp(&position(&rows[b].hash)))
        .expect("not empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(contribution: ContributionId, rows: &[&str]) -> Blob {
        let bytes = rows.join("\n").into_bytes();
        Blob {
            contribution,
            hash: Hash::from(blake2b_256(&bytes)),
            bytes,
        }
    }

    fn rows(n: usize, tag: &str) -> Vec<String> {
        (0..n)
            .map(|i| format!(r#"{{"prompt": "q{tag}{i}", "completion": "a{i}"}}"#))
            .collect()
    }

    #[test]
    fn the_split_depends_only_on_the_rows() {
        let a = rows(40, "a");
        let b = rows(40, "b");
        let blobs = [
            blob(1, &a.iter().map(String::as_str).collect::<Vec<_>>()),
            blob(2, &b.iter().map(String::as_str).collect::<Vec<_>>()),
        ];
        let first = split(&blobs, 0.25).unwrap();
        let again = split(&blobs, 0.25).unwrap();
        assert_eq!(first.held_out_root(), again.held_out_root());
        assert_eq!(first.train.len() + first.held_out.len(), 80);
        // Roughly the asked share, never all or nothing.
        assert!(
            (8..=32).contains(&first.held_out.len()),
            "{}",
            first.held_out.len()
        );
        assert_eq!(first.contributions, vec![1, 2]);
        // The same row is held out whichever blob it is in.
        let moved = [blobs[1].clone(), blobs[0].clone()];
        let swapped = split(&moved, 0.25).unwrap();
        let names = |d: &Dataset| {
            let mut v: Vec<_> = d.held_out.iter().map(|r| r.hash).collect();
            v.sort();
            v
        };
        assert_eq!(names(&first), names(&swapped));
    }

    #[test]
    fn held_out_rows_are_numbered_as_the_indexes_number_rows() {
        // Blank lines are not rows: the split, retrieval and the provenance indexes must agree
        // on which row is which, or the indexes would leave out the wrong ones.
        let spaced = |tag: &str| -> Vec<String> {
            rows(30, tag)
                .into_iter()
                .flat_map(|row| [row, String::new()])
                .collect()
        };
        let (a, b) = (spaced("a"), spaced("b"));
        let blobs = [
            blob(1, &a.iter().map(String::as_str).collect::<Vec<_>>()),
            blob(2, &b.iter().map(String::as_str).collect::<Vec<_>>()),
        ];
        let dataset = split(&blobs, 0.3).unwrap();
        let held_out = dataset.held_out_rows();
        assert_eq!(held_out.len(), dataset.held_out.len());
        assert!(held_out.len() >= 6, "{}", held_out.len());
        let indexed: Vec<crate::rag::index::Blob<'_>> = blobs
            .iter()
            .map(|b| crate::rag::index::Blob {
                contribution: b.contribution,
                jsonl: &b.bytes,
            })
            .collect();
        let training = crate::provenance::index::TrainingRows {
            blobs: &indexed,
            held_out: &held_out,
        }
        .examples()
        .unwrap();
        let trained: Vec<&Example> = dataset.train.iter().map(|r| &r.example).collect();
        assert_eq!(training.iter().map(|(_, e)| e).collect::<Vec<_>>(), trained);
    }

    #[test]
    fn tiny_versions_still_hold_out_one_row_and_train_on_one() {
        let blobs = [blob(1, &[r#"{"text": "one"}"#, r#"{"text": "two"}"#])];
        let dataset = split(&blobs, 0.01).unwrap();
        assert_eq!((dataset.train.len(), dataset.held_out.len()), (1, 1));
        assert!(split(&[blob(1, &[r#"{"text": "one"}"#])], 0.1).is_err());
    }

    #[test]
    fn wrong_bytes_are_refused_by_name() {
        let good = blob(7, &[r#"{"text": "row"}"#]);
        assert!(verify_blob(7, good.hash, good.bytes.len() as u64, &good.bytes).is_ok());
        let error = verify_blob(
            7,
            good.hash,
            good.bytes.len() as u64,
            b"{\"text\": \"rox\"}",
        )
        .unwrap_err();
        assert!(format!("{error}").contains("refusing contribution 7"));
        assert!(verify_blob(7, good.hash, 1, &good.bytes).is_err());
    }

    #[test]
    fn malformed_rows_name_their_contribution_and_line() {
        let blobs = [blob(3, &[r#"{"text": "fine"}"#, "not json"])];
        let error = split(&blobs, 0.5).unwrap_err();
        assert!(
            format!("{error:#}").contains("contribution 3, line 2"),
            "{error:#}"
        );
    }
}
