//! GGUF, llama.cpp's single-file checkpoint format: a header, typed metadata key/values, tensor
//! descriptions, then the tensors' data, each at an aligned offset.
//!
//! ```text
//! "GGUF" u32 version (2 or 3) · u64 tensor count · u64 metadata count
//! metadata:  string key · u32 value type · value          (strings: u64 length + UTF-8)
//! tensors:   string name · u32 n_dims · u64 ne[n_dims] · u32 ggml type · u64 offset
//! padding to `general.alignment` (default 32), then the data; offsets are relative to it
//! ```
//!
//! `ne[0]` is the fastest-varying dimension, so a Hugging Face `[out, in]` weight is stored with
//! `ne = [in, out]` and the same bytes in the same order. Tensor data is read one tensor at a
//! time ([`GgufFile::read`]), never the whole file at once.
//!
//! - [`quant`]: the tensor types and their dequantizers.
//! - [`matrix`]: a weight matrix kept in its block format (QLoRA's frozen base).
//! - [`llama`]: a Llama-architecture model in GGUF as a [`WeightSource`](crate::checkpoint::WeightSource).
//! - [`tokenizer`]: the tokenizer and chat template stored in the metadata.
//! - [`writer`]: writes GGUF files (tests, exports).

pub mod llama;
pub mod matrix;
pub mod quant;
pub mod tokenizer;
pub mod writer;

pub use llama::GgufLlama;
pub use matrix::BlockMatrix;
pub use quant::GgmlType;
pub use writer::GgufWriter;

use anyhow::{bail, ensure, Context, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// `"GGUF"` read as a little-endian `u32`.
pub const MAGIC: u32 = 0x4655_4747;
/// Data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    /// The GGUF id of this value's type.
    pub fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::String(_) => 8,
            Value::Array(_) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    /// An integer of any width, when it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// A number of any type as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            Value::I8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            Value::I64(v) => Some(v as f64),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
}

/// One tensor's description.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `ne[0]` varies fastest.
    pub ne: Vec<u64>,
    pub ggml_type: GgmlType,
    /// From the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.ne.iter().product::<u64>() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row-major shape, slowest dimension first (the Hugging Face / PyTorch order).
    pub fn shape(&self) -> Vec<usize> {
        self.ne.iter().rev().map(|&n| n as usize).collect()
    }
}

/// An open GGUF file: its metadata and tensor descriptions, with the data left on disk.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    file: File,
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    /// In file order.
    pub tensors: Vec<TensorInfo>,
    data_start: u64,
}

impl GgufFile {
    /// Reads the header, metadata and tensor descriptions of `path`, checking that every tensor's
    /// data lies inside the file.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let file_len = file.metadata()?.len();
        let mut reader = Reader {
            inner: BufReader::new(&file),
            position: 0,
            file_len,
        };
        let context = || format!("reading GGUF header of {}", path.display());
        let magic = reader.u32().with_context(context)?;
        ensure!(
            magic == MAGIC,
            "{} is not a GGUF file (magic {magic:#010x})",
            path.display()
        );
        let version = reader.u32().with_context(context)?;
        ensure!(
            matches!(version, 2 | 3),
            "{}: GGUF version {version} is not supported (expected 2 or 3)",
            path.display()
        );
        let tensor_count = reader.count().with_context(context)?;
        let kv_count = reader.count().with_context(context)?;
        let mut metadata = BTreeMap::new();
        for _ in 0..kv_count {
            let key = reader.string().with_context(context)?;
            let value_type = reader.u32().with_context(context)?;
            let value = reader
                .value(value_type)
                .with_context(|| format!("metadata `{key}` in {}", path.display()))?;
            metadata.insert(key, value);
        }
        let mut tensors = Vec::with_capacity(tensor_count);
        for _ in 0..tensor_count {
            let name = reader.string().with_context(context)?;
            let n_dims = reader.u32().with_context(context)?;
            ensure!(
                n_dims <= 4,
                "tensor `{name}` has {n_dims} dimensions (ggml has at most 4)"
            );
            let ne = (0..n_dims)
                .map(|_| reader.u64())
                .collect::<Result<Vec<_>>>()
                .with_context(context)?;
            let ggml_type = GgmlType::from_id(reader.u32().with_context(context)?);
            let offset = reader.u64().with_context(context)?;
            tensors.push(TensorInfo {
                name,
                ne,
                ggml_type,
                offset,
            });
        }
        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(value) => value
                .as_u64()
                .filter(|a| a.is_power_of_two())
                .with_context(|| format!("general.alignment {value:?} is not a power of two"))?,
        };
        let data_start = reader.position.next_multiple_of(alignment);
        for tensor in &tensors {
            ensure!(
                tensor.offset.is_multiple_of(alignment),
                "tensor `{}` starts at offset {}, not a multiple of the alignment {alignment}",
                tensor.name,
                tensor.offset
            );
            // Unsupported types are refused when read, so a file can still be inspected.
            if let Ok(bytes) = tensor.ggml_type.bytes_for(tensor.len()) {
                let end = data_start + tensor.offset + bytes as u64;
                ensure!(
                    end <= file_len,
                    "tensor `{}` ends at byte {end}, past the end of {} ({file_len} bytes)",
                    tensor.name,
                    path.display()
                );
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            version,
            metadata,
            tensors,
            data_start,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The metadata value `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// The metadata string `key`, which must be present.
    pub fn string(&self, key: &str) -> Result<&str> {
        self.require(key)?
            .as_str()
            .with_context(|| format!("GGUF metadata `{key}` is not a string"))
    }

    /// The metadata integer `key`, which must be present.
    pub fn usize(&self, key: &str) -> Result<usize> {
        let value = self.require(key)?;
        value
            .as_u64()
            .and_then(|v| usize::try_from(v).ok())
            .with_context(|| format!("GGUF metadata `{key}` is not a count: {value:?}"))
    }

    /// The metadata integer `key` if present.
    pub fn optional_usize(&self, key: &str) -> Result<Option<usize>> {
        self.get(key).map(|_| self.usize(key)).transpose()
    }

    /// The metadata number `key` if present.
    pub fn optional_f64(&self, key: &str) -> Result<Option<f64>> {
        self.get(key)
            .map(|value| {
                value
                    .as_f64()
                    .with_context(|| format!("GGUF metadata `{key}` is not a number: {value:?}"))
            })
            .transpose()
    }

    fn require(&self, key: &str) -> Result<&Value> {
        self.get(key)
            .with_context(|| format!("{} has no metadata `{key}`", self.path.display()))
    }

    /// The description of tensor `name`.
    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Tensor `name` decoded to `f32`, in row-major order of [`TensorInfo::shape`].
    pub fn read(&self, name: &str) -> Result<Vec<f32>> {
        let info = self
            .tensor_info(name)
            .with_context(|| format!("{} has no tensor `{name}`", self.path.display()))?;
        let bytes = self.raw(info)?;
        info.ggml_type
            .dequantize(&bytes)
            .with_context(|| format!("decoding tensor `{name}`"))
    }

    /// The stored bytes of a tensor.
    pub fn raw(&self, info: &TensorInfo) -> Result<Vec<u8>> {
        let len = info
            .ggml_type
            .bytes_for(info.len())
            .with_context(|| format!("tensor `{}` in {}", info.name, self.path.display()))?;
        let mut bytes = vec![0; len];
        self.file
            .read_exact_at(&mut bytes, self.data_start + info.offset)
            .with_context(|| format!("reading tensor `{}`", info.name))?;
        Ok(bytes)
    }
}

/// Little-endian reads that know how much of the file is left, so a corrupt length is refused
/// before anything that large is allocated.
struct Reader<R> {
    inner: R,
    position: u64,
    file_len: u64,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut buf = [0; N];
        self.inner
            .read_exact(&mut buf)
            .context("unexpected end of file")?;
        self.position += N as u64;
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    /// A count of items that each take at least one byte.
    fn count(&mut self) -> Result<usize> {
        let count = self.u64()?;
        ensure!(
            count <= self.file_len - self.position.min(self.file_len),
            "count {count} exceeds the file's remaining bytes"
        );
        Ok(count as usize)
    }

    fn string(&mut self) -> Result<String> {
        let len = self.count()?;
        let mut buf = vec![0; len];
        self.inner
            .read_exact(&mut buf)
            .context("unexpected end of file")?;
        self.position += len as u64;
        String::from_utf8(buf).context("string is not UTF-8")
    }

    fn value(&mut self, value_type: u32) -> Result<Value> {
        Ok(match value_type {
            0 => Value::U8(u8::from_le_bytes(self.bytes()?)),
            1 => Value::I8(i8::from_le_bytes(self.bytes()?)),
            2 => Value::U16(u16::from_le_bytes(self.bytes()?)),
            3 => Value::I16(i16::from_le_bytes(self.bytes()?)),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.bytes()?)),
            6 => Value::F32(f32::from_le_bytes(self.bytes()?)),
            7 => match u8::from_le_bytes(self.bytes()?) {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                other => bail!("boolean byte {other} is neither 0 nor 1"),
            },
            8 => Value::String(self.string()?),
            9 => {
                let item_type = self.u32()?;
                let len = self.count()?;
                let items = (0..len)
                    .map(|_| self.value(item_type))
                    .collect::<Result<Vec<_>>>()?;
                Value::Array(items)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.bytes()?)),
            12 => Value::F64(f64::from_le_bytes(self.bytes()?)),
            other => bail!("unknown metadata value type {other}"),
        })
    }
}
