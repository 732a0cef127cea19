//! The inference journal: every record a worker served, the batches it put them in and which
//! batches settled, as an append-only file synced after each entry. A record is written before
//! its answer leaves the worker, so a crash after answering never loses it; a batch is written
//! before it is submitted, so a crash after submitting resubmits the same batch (same nonce),
//! which the chain settles at most once.

use anyhow::{bail, Context, Result};
use attribution_primitives::attribution::{InferenceRecord, SignedInferenceBatch};
use attribution_primitives::AccountId;
use codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// One line of the journal.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "snake_case")]
enum Entry {
    /// A served request: its record, SCALE-encoded as hex, and when (Unix seconds).
    Record { seq: u64, at: u64, record: String },
    /// A batch about to be submitted: its records and the signed batch (hex SCALE).
    Batch {
        nonce: u64,
        records: Vec<u64>,
        signed: String,
    },
    /// A batch the chain settled; `rejected` lists the indexes of records it refused.
    Settled {
        nonce: u64,
        rejected: Vec<(u32, String)>,
    },
}

/// A record not yet in a settled batch.
#[derive(Clone, Debug)]
pub struct Pending {
    pub seq: u64,
    pub at: u64,
    pub record: InferenceRecord,
}

/// A batch written and maybe submitted, not yet known settled.
#[derive(Clone, Debug)]
pub struct OpenBatch {
    pub nonce: u64,
    pub records: Vec<u64>,
    pub signed: SignedInferenceBatch,
}

/// Counters over the journal's whole history.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    pub records: u64,
    pub records_settled: u64,
    pub records_rejected: u64,
    pub batches_settled: u64,
}

pub struct Journal {
    path: PathBuf,
    file: File,
    next_seq: u64,
    /// Records in no batch yet.
    unbatched: BTreeMap<u64, Pending>,
    /// Records in an open batch.
    batched: BTreeMap<u64, Pending>,
    open: BTreeMap<u64, OpenBatch>,
    last_nonce: Option<u64>,
    totals: Totals,
}

impl Journal {
    /// Opens (or creates) the journal in `dir` and replays it.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("journal.jsonl");
        let mut journal = Self {
            file: OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("opening {}", path.display()))?,
            path: path.clone(),
            next_seq: 0,
            unbatched: BTreeMap::new(),
            batched: BTreeMap::new(),
            open: BTreeMap::new(),
            last_nonce: None,
            totals: Totals::default(),
        };
        let reader = BufReader::new(File::open(&path)?);
        for (number, line) in reader.lines().enumerate() {
            let line = line?;
            // A crash mid-write leaves at most a partial last line: what it held was never
            // acknowledged (the answer waits for the sync), so it is dropped.
            let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
                tracing::warn!(line = number + 1, path = %path.display(), "ignoring a torn journal line");
                continue;
            };
            journal.apply(entry)?;
        }
        Ok(journal)
    }

    fn apply(&mut self, entry: Entry) -> Result<()> {
        match entry {
            Entry::Record { seq, at, record } => {
                let record = decode::<InferenceRecord>(&record)?;
                self.next_seq = self.next_seq.max(seq + 1);
                self.totals.records += 1;
                self.unbatched.insert(seq, Pending { seq, at, record });
            }
            Entry::Batch {
                nonce,
                records,
                signed,
            } => {
                for seq in &records {
                    let pending = self
                        .unbatched
                        .remove(seq)
                        .with_context(|| format!("batch {nonce} holds unknown record {seq}"))?;
                    self.batched.insert(*seq, pending);
                }
                self.last_nonce = Some(self.last_nonce.map_or(nonce, |n| n.max(nonce)));
                let signed = decode::<SignedInferenceBatch>(&signed)?;
                self.open.insert(
                    nonce,
                    OpenBatch {
                        nonce,
                        records,
                        signed,
                    },
                );
            }
            Entry::Settled { nonce, rejected } => {
                let Some(batch) = self.open.remove(&nonce) else {
                    bail!("settled batch {nonce} was never written");
                };
                for seq in &batch.records {
                    self.batched.remove(seq);
                }
                self.totals.batches_settled += 1;
                self.totals.records_rejected += rejected.len() as u64;
                self.totals.records_settled += (batch.records.len() - rejected.len()) as u64;
            }
        }
        Ok(())
    }

    fn append(&mut self, entry: &Entry) -> Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file
            .sync_data()
            .with_context(|| format!("syncing {}", self.path.display()))
    }

    /// Writes a served request's record; returns its sequence number.
    pub fn record(&mut self, record: InferenceRecord) -> Result<u64> {
        let seq = self.next_seq;
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        self.append(&Entry::Record {
            seq,
            at,
            record: hex(&record),
        })?;
        self.apply(Entry::Record {
            seq,
            at,
            record: hex(&record),
        })?;
        Ok(seq)
    }

    /// Writes a batch before it is submitted.
    pub fn batch(&mut self, records: Vec<u64>, signed: SignedInferenceBatch) -> Result<()> {
        let entry = Entry::Batch {
            nonce: signed.batch.nonce,
            records,
            signed: hex(&signed),
        };
        self.append(&entry)?;
        self.apply(entry)
    }

    /// Writes that batch `nonce` settled, with the records the chain rejected.
    pub fn settled(&mut self, nonce: u64, rejected: Vec<(u32, String)>) -> Result<()> {
        let entry = Entry::Settled { nonce, rejected };
        self.append(&entry)?;
        self.apply(entry)
    }

    /// Records waiting for a batch, oldest first.
    pub fn unbatched(&self) -> impl Iterator<Item = &Pending> {
        self.unbatched.values()
    }

    pub fn open_batches(&self) -> impl Iterator<Item = &OpenBatch> {
        self.open.values()
    }

    /// The highest batch nonce ever written.
    pub fn last_nonce(&self) -> Option<u64> {
        self.last_nonce
    }

    /// Fees of `user`'s records for this operator not yet settled.
    pub fn unsettled_fees(&self, user: &AccountId) -> u128 {
        self.unbatched
            .values()
            .chain(self.batched.values())
            .filter(|p| &p.record.authorization.user == user)
            .map(|p| p.record.fee)
            .sum()
    }

    /// Whether `user`'s nonce is in a record not yet settled.
    pub fn holds_nonce(&self, user: &AccountId, nonce: u64) -> bool {
        self.unbatched
            .values()
            .chain(self.batched.values())
            .any(|p| &p.record.authorization.user == user && p.record.authorization.nonce == nonce)
    }

    pub fn totals(&self) -> Totals {
        let mut totals = self.totals.clone();
        totals.records_settled = totals.records_settled.min(totals.records);
        totals
    }

    pub fn unsettled(&self) -> usize {
        self.unbatched.len() + self.batched.len()
    }
}

fn hex(value: &impl Encode) -> String {
    format!("0x{}", hex::encode(value.encode()))
}

fn decode<T: Decode>(text: &str) -> Result<T> {
    let bytes = hex::decode(text.trim_start_matches("0x"))?;
    let mut input = bytes.as_slice();
    let value =
        T::decode(&mut input).map_err(|e| anyhow::anyhow!("decoding a journal entry: {e}"))?;
    if !input.is_empty() {
        bail!("a journal entry has trailing bytes");
    }
    Ok(value)
}
