//! Writes GGUF version 3 files: metadata and tensors whose bytes are already encoded in their
//! ggml type (tests write quantized blocks they built themselves).

use super::{GgmlType, Value, DEFAULT_ALIGNMENT, MAGIC};
use anyhow::{ensure, Context, Result};
use std::io::{BufWriter, Write};
use std::path::Path;

/// A GGUF file being assembled in memory.
#[derive(Debug, Default)]
pub struct GgufWriter {
    metadata: Vec<(String, Value)>,
    tensors: Vec<(String, Vec<u64>, GgmlType, Vec<u8>)>,
}

impl GgufWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the metadata value `key`.
    pub fn metadata(&mut self, key: &str, value: Value) -> &mut Self {
        self.metadata.retain(|(k, _)| k != key);
        self.metadata.push((key.to_string(), value));
        self
    }

    /// Adds a tensor of row-major `shape` (slowest dimension first) whose `bytes` are encoded as
    /// `ggml_type`.
    pub fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        ggml_type: GgmlType,
        bytes: Vec<u8>,
    ) -> Result<&mut Self> {
        let len = shape.iter().product::<usize>();
        let expected = ggml_type.bytes_for(len)?;
        ensure!(
            bytes.len() == expected,
            "tensor `{name}`: {} bytes given, {shape:?} in {ggml_type} needs {expected}",
            bytes.len()
        );
        let ne = shape.iter().rev().map(|&n| n as u64).collect();
        self.tensors.push((name.to_string(), ne, ggml_type, bytes));
        Ok(self)
    }

    /// Adds an `f32` tensor.
    pub fn f32_tensor(&mut self, name: &str, shape: &[usize], values: &[f32]) -> Result<&mut Self> {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensor(name, shape, GgmlType::F32, bytes)
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let alignment = match self.metadata.iter().find(|(k, _)| k == "general.alignment") {
            Some((_, value)) => value
                .as_u64()
                .context("general.alignment is not an integer")?,
            None => DEFAULT_ALIGNMENT,
        };
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = Counting {
            inner: BufWriter::new(file),
            written: 0,
        };
        out.put(&MAGIC.to_le_bytes())?;
        out.put(&3u32.to_le_bytes())?;
        out.put(&(self.tensors.len() as u64).to_le_bytes())?;
        out.put(&(self.metadata.len() as u64).to_le_bytes())?;
        for (key, value) in &self.metadata {
            out.string(key)?;
            out.put(&value.type_id().to_le_bytes())?;
            out.value(value)?;
        }
        let mut offset = 0u64;
        let mut offsets = Vec::with_capacity(self.tensors.len());
        for (name, ne, ggml_type, bytes) in &self.tensors {
            out.string(name)?;
            out.put(&(ne.len() as u32).to_le_bytes())?;
            for n in ne {
                out.put(&n.to_le_bytes())?;
            }
            out.put(&ggml_type.id().to_le_bytes())?;
            out.put(&offset.to_le_bytes())?;
            offsets.push(offset);
            offset = (offset + bytes.len() as u64).next_multiple_of(alignment);
        }
        let data_start = out.written.next_multiple_of(alignment);
        out.pad_to(data_start)?;
        for ((_, _, _, bytes), offset) in self.tensors.iter().zip(offsets) {
            out.pad_to(data_start + offset)?;
            out.put(bytes)?;
        }
        out.inner.flush()?;
        Ok(())
    }
}

struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Counting<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.inner.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad_to(&mut self, position: u64) -> Result<()> {
        let padding = vec![0; (position - self.written) as usize];
        self.put(&padding)
    }

    fn string(&mut self, s: &str) -> Result<()> {
        self.put(&(s.len() as u64).to_le_bytes())?;
        self.put(s.as_bytes())
    }

    fn value(&mut self, value: &Value) -> Result<()> {
        match value {
            Value::U8(v) => self.put(&v.to_le_bytes()),
            Value::I8(v) => self.put(&v.to_le_bytes()),
            Value::U16(v) => self.put(&v.to_le_bytes()),
            Value::I16(v) => self.put(&v.to_le_bytes()),
            Value::U32(v) => self.put(&v.to_le_bytes()),
            Value::I32(v) => self.put(&v.to_le_bytes()),
            Value::U64(v) => self.put(&v.to_le_bytes()),
            Value::I64(v) => self.put(&v.to_le_bytes()),
            Value::F32(v) => self.put(&v.to_le_bytes()),
            Value::F64(v) => self.put(&v.to_le_bytes()),
            Value::Bool(v) => self.put(&[u8::from(*v)]),
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                // GGUF arrays are homogeneous; an empty one is written as an array of u8.
                let item_type = items.first().map_or(0, Value::type_id);
                ensure!(
                    items.iter().all(|item| item.type_id() == item_type),
                    "GGUF arrays must hold values of one type"
                );
                self.put(&item_type.to_le_bytes())?;
                self.put(&(items.len() as u64).to_le_bytes())?;
                items.iter().try_for_each(|item| self.value(item))
            }
        }
    }
}
