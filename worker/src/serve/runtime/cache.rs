//! One sequence's key/value cache: per layer and key/value head, the rotated keys and the
//! values of every position so far, `[positions, head_dim]` each, grown a page at a time up to
//! the runtime's `max_positions` (a short request does not reserve a long one's memory).
//!
//! A head's rows are contiguous because attention reads one head at a time: its rows then
//! stream from memory in order, where rows of every head side by side left each head's
//! reads a few cache lines in every few (a third faster at 8 streams, attention alone).

/// Positions reserved at a time.
const PAGE: usize = 256;

#[derive(Clone, Debug)]
pub struct KvCache {
    /// At `layer · kv_heads + head`: keys and values, `[positions, head_dim]` row-major.
    heads: Vec<(Vec<f32>, Vec<f32>)>,
    kv_heads: usize,
    head_dim: usize,
    max_positions: usize,
    len: usize,
}

impl KvCache {
    pub fn new(layers: usize, kv_heads: usize, head_dim: usize, max_positions: usize) -> Self {
        Self {
            heads: vec![(Vec::new(), Vec::new()); layers * kv_heads],
            kv_heads,
            head_dim,
            max_positions,
            len: 0,
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
    /// head_dim]` each); the caller has checked [`KvCache::free`] and calls
    /// [`KvCache::advance`] once every layer has its rows.
    pub fn append(&mut self, layer: usize, keys: &[f32], values: &[f32]) {
        let per_head = keys.len() / self.kv_heads;
        let heads = &mut self.heads[layer * self.kv_heads..(layer + 1) * self.kv_heads];
        for ((k, v), (keys, values)) in heads.iter_mut().zip(
            keys.chunks_exact(per_head)
                .zip(values.chunks_exact(per_head)),
        ) {
            let needed = k.len() + keys.len();
            if needed > k.capacity() {
                let positions = (needed / self.head_dim)
                    .next_multiple_of(PAGE)
                    .min(self.max_positions);
                k.reserve_exact(positions * self.head_dim - k.len());
                v.reserve_exact(positions * self.head_dim - v.len());
            }
            k.extend_from_slice(keys);
            v.extend_from_slice(values);
        }
    }

    /// Marks `n` appended positions as part of the sequence.
    pub fn advance(&mut self, n: usize) {
        self.len += n;
    }

    /// `layer`'s keys and values of key/value head `head`, `[positions, head_dim]` each
    /// (including rows appended in the current pass).
    pub fn head(&self, layer: usize, head: usize) -> (&[f32], &[f32]) {
        let (k, v) = &self.heads[layer * self.kv_heads + head];
        (k, v)
    }

    /// A new cache holding a copy of the first `len` positions.
    pub fn prefix(&self, len: usize) -> Self {
        let rows = len * self.head_dim;
        Self {
            heads: self
                .heads
                .iter()
                .map(|(k, v)| (k[..rows].to_vec(), v[..rows].to_vec()))
                .collect(),
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            max_positions: self.max_positions,
            len,
        }
    }
}
