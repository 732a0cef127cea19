//! One sequence's key/value cache: per layer, the rotated keys and the values of every
//! position so far, `[positions, kv_heads·head_dim]` each, grown a page at a time up to the
//! runtime's `max_positions` (a short request does not reserve a long one's memory).

/// Positions reserved at a time.
const PAGE: usize = 256;

#[derive(Clone, Debug)]
pub struct KvCache {
    /// Per layer: keys and values, `[positions, kv_dim]` row-major.
    layers: Vec<(Vec<f32>, Vec<f32>)>,
    kv_dim: usize,
    max_positions: usize,
    len: usize,
}

impl KvCache {
    pub fn new(layers: usize, kv_dim: usize, max_positions: usize) -> Self {
        Self {
            layers: vec![(Vec::new(), Vec::new()); layers],
            kv_dim,
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

    /// Appends the keys and values of new positions (`[n, kv_dim]` each) to `layer`; the
    /// caller has checked [`KvCache::free`] and calls [`KvCache::advance`] once every layer has
    /// its rows.
    pub fn append(&mut self, layer: usize, keys: &[f32], values: &[f32]) {
        let (k, v) = &mut self.layers[layer];
        let needed = k.len() + keys.len();
        if needed > k.capacity() {
            let positions = (needed / self.kv_dim)
                .next_multiple_of(PAGE)
                .min(self.max_positions);
            k.reserve_exact(positions * self.kv_dim - k.len());
            v.reserve_exact(positions * self.kv_dim - v.len());
        }
        k.extend_from_slice(keys);
        v.extend_from_slice(values);
    }

    /// Marks `n` appended positions as part of the sequence.
    pub fn advance(&mut self, n: usize) {
        self.len += n;
    }

    /// `layer`'s keys and values, `[positions, kv_dim]` each (including rows appended in the
    /// current pass).
    pub fn layer(&self, layer: usize) -> (&[f32], &[f32]) {
        let (k, v) = &self.layers[layer];
        (k, v)
    }

    /// A new cache holding a copy of the first `len` positions.
    pub fn prefix(&self, len: usize) -> Self {
        let rows = len * self.kv_dim;
        Self {
            layers: self
                .layers
                .iter()
                .map(|(k, v)| (k[..rows].to_vec(), v[..rows].to_vec()))
                .collect(),
            kv_dim: self.kv_dim,
            max_positions: self.max_positions,
            len,
        }
    }
}
