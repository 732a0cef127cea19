//! One sequence's key/value cache: per layer and key/value head, the rotated keys and the
//! values of every position so far, `[positions, head_dim]` each, grown a page at a time up to
//! the runtime's `max_positions` (a short request does not reserve a long one's memory).
//!
//! A head's rows are contiguous because attention reads one head at a time: its rows then
//! stream from memory in order, where rows of every head side by side left each head's
//! reads a few cache lines in every few (a third faster at 8 streams, attention alone).
//!
//! The rows are kept in `f32` or `f16` ([`KvFormat`]); attention widens them as it reads.

use super::attention::KeyValues;
use super::lane::KvValue;
use half::f16;
use std::borrow::Cow;

/// Positions reserved at a time.
const PAGE: usize = 256;

/// What a cache keeps its keys and values in (`--kv-cache`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum KvFormat {
    /// `f32`: the values as the projections computed them.
    #[default]
    F32,
    /// IEEE half precision, each key and value rounded to the nearest (ties to even) when it
    /// is computed: half the cache's memory and of what attention reads.
    F16,
}

impl KvFormat {
    /// The format's name, as `--kv-cache` takes it.
    pub fn name(self) -> &'static str {
        match self {
            KvFormat::F32 => "f32",
            KvFormat::F16 => "f16",
        }
    }

    /// `x` as the cache would give it back.
    pub fn round(self, x: &[f32]) -> Cow<'_, [f32]> {
        match self {
            KvFormat::F32 => Cow::Borrowed(x),
            KvFormat::F16 => x.iter().map(|&x| f16::from_f32(x).to_f32()).collect(),
        }
    }
}

/// One layer's and key/value head's keys and values, `[positions, head_dim]` row-major each.
type Rows<E> = (Vec<E>, Vec<E>);

/// Every head's rows, in the cache's format.
#[derive(Clone, Debug)]
enum Store {
    F32(Vec<Rows<f32>>),
    F16(Vec<Rows<f16>>),
}

/// A head's cached rows, in the cache's format.
#[derive(Clone, Copy, Debug)]
pub enum HeadRows<'a> {
    F32(KeyValues<'a, f32>),
    F16(KeyValues<'a, f16>),
}

impl<'a> HeadRows<'a> {
    /// The first `values` of the keys, as `f32`.
    pub fn widened_keys(self, values: usize) -> Cow<'a, [f32]> {
        match self {
            HeadRows::F32((keys, _)) => Cow::Borrowed(&keys[..values]),
            HeadRows::F16((keys, _)) => keys[..values].iter().map(|k| k.to_f32()).collect(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct KvCache {
    /// At `layer · kv_heads + head`.
    store: Store,
    kv_heads: usize,
    head_dim: usize,
    max_positions: usize,
    len: usize,
}

impl KvCache {
    pub fn new(
        format: KvFormat,
        layers: usize,
        kv_heads: usize,
        head_dim: usize,
        max_positions: usize,
    ) -> Self {
        let heads = layers * kv_heads;
        let store = match format {
            KvFormat::F32 => Store::F32(vec![(Vec::new(), Vec::new()); heads]),
            KvFormat::F16 => Store::F16(vec![(Vec::new(), Vec::new()); heads]),
        };
        Self {
            store,
            kv_heads,
            head_dim,
            max_positions,
            len: 0,
        }
    }

    /// What the cache keeps its rows in.
    pub fn format(&self) -> KvFormat {
        match self.store {
            Store::F32(_) => KvFormat::F32,
            Store::F16(_) => KvFormat::F16,
        }
    }

    /// Positions held (after the last completed pass).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Room left before `max_positions`.
    pub fn free(&self) -> usize {
        self.max_positions - self.len
    }

    /// Appends the keys and values of new positions to `layer`, head by head (`[kv_heads, n,
    /// head_dim]` each), narrowed to the cache's format; the caller has checked
    /// [`KvCache::free`] and calls [`KvCache::advance`] once every layer has its rows.
    pub fn append(&mut self, layer: usize, keys: &[f32], values: &[f32]) {
        let heads = layer * self.kv_heads..(layer + 1) * self.kv_heads;
        let (head_dim, max_positions) = (self.head_dim, self.max_positions);
        match &mut self.store {
            Store::F32(rows) => append(&mut rows[heads], keys, values, head_dim, max_positions),
            Store::F16(rows) => append(&mut rows[heads], keys, values, head_dim, max_positions),
        }
    }

    /// Marks `n` appended positions as part of the sequence.
    pub fn advance(&mut self, n: usize) {
        self.len += n;
    }

    /// `layer`'s keys and values of key/value head `head`, `[positions, head_dim]` each
    /// (including rows appended in the current pass).
    pub fn head(&self, layer: usize, head: usize) -> HeadRows<'_> {
        let at = layer * self.kv_heads + head;
        match &self.store {
            Store::F32(rows) => HeadRows::F32((&rows[at].0, &rows[at].1)),
            Store::F16(rows) => HeadRows::F16((&rows[at].0, &rows[at].1)),
        }
    }

    /// A new cache holding a copy of the first `len` positions.
    pub fn prefix(&self, len: usize) -> Self {
        let values = len * self.head_dim;
        let store = match &self.store {
            Store::F32(rows) => Store::F32(prefix(rows, values)),
            Store::F16(rows) => Store::F16(prefix(rows, values)),
        };
        Self {
            store,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            max_positions: self.max_positions,
            len,
        }
    }
}

/// [`KvCache::append`] to one layer's heads.
fn append<E: KvValue>(
    heads: &mut [Rows<E>],
    keys: &[f32],
    values: &[f32],
    head_dim: usize,
    max_positions: usize,
) {
    let per_head = keys.len() / heads.len();
    for ((k, v), (keys, values)) in heads.iter_mut().zip(
        keys.chunks_exact(per_head)
            .zip(values.chunks_exact(per_head)),
    ) {
        let needed = k.len() + keys.len();
        if needed > k.capacity() {
            let positions = (needed / head_dim)
                .next_multiple_of(PAGE)
                .min(max_positions);
            k.reserve_exact(positions * head_dim - k.len());
            v.reserve_exact(positions * head_dim - v.len());
        }
        E::extend_narrowed(k, keys);
        E::extend_narrowed(v, values);
    }
}

/// The first `values` of each head's rows.
fn prefix<E: KvValue>(rows: &[Rows<E>], values: usize) -> Vec<Rows<E>> {
    rows.iter()
        .map(|(k, v)| (k[..values].to_vec(), v[..values].to_vec()))
        .collect()
}
