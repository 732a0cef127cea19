//! Model weights on disk and the [`WeightSource`] a model is built from.
//!
//! - Hugging Face directories: `config.json` + `model.safetensors` (`f32`, `f16` or `bf16`),
//!   held on the host as `f32` in the file's own layout and names ([`Checkpoint`]).
//! - GGUF files (llama.cpp), decoded one tensor at a time ([`GgufLlama`]).
//!
//! [`ModelWeights::open`] takes either and gives tensors under the Hugging Face names and layout.

use crate::gguf::{self, BlockMatrix, GgufLlama};
use crate::model::LlamaConfig;
use anyhow::{bail, ensure, Context, Result};
use half::{bf16, f16};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Where a model's tensors come from, one at a time, under their Hugging Face names and layout
/// (linear weights `[out, in]`).
pub trait WeightSource {
    fn config(&self) -> &LlamaConfig;

    /// The tensor `name`, decoded to `f32` and checked to have `shape`.
    fn read(&self, name: &str, shape: &[usize]) -> Result<HostTensor>;

    /// The 2-D tensor `name` (checked to have `shape`) in the block format it is stored in, when
    /// it is stored block-quantized (a GGUF's Q4_0, Q4_1, Q8_0, ... tensors); `None` for a
    /// tensor stored as floats.
    fn read_blocks(&self, name: &str, shape: &[usize]) -> Result<Option<BlockMatrix>> {
        let _ = (name, shape);
        Ok(None)
    }
}

/// A tensor on the host: row-major `f32` values and the file's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl HostTensor {
    /// The transpose of a 2-D tensor (Hugging Face stores linear weights as `[out, in]`).
    pub fn transposed(&self) -> HostTensor {
        let [rows, cols] = [self.shape[0], self.shape[1]];
        let mut values = vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                values[c * rows + r] = self.values[r * cols + c];
            }
        }
        HostTensor {
            shape: vec![cols, rows],
            values,
        }
    }
}

/// Storage precision of a written checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoredDtype {
    F32,
    F16,
    Bf16,
}

/// A model's configuration and named weights.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub config: LlamaConfig,
    pub tensors: BTreeMap<String, HostTensor>,
}

impl Checkpoint {
    /// Reads `dir/config.json` and `dir/model.safetensors`.
    pub fn load(dir: &Path) -> Result<Self> {
        let config_path = dir.join("config.json");
        let config: LlamaConfig = serde_json::from_slice(
            &std::fs::read(&config_path)
                .with_context(|| format!("reading {}", config_path.display()))?,
        )
        .with_context(|| format!("parsing {}", config_path.display()))?;
        config.validate()?;
        let tensors = read_safetensors(&dir.join("model.safetensors"))?;
        Ok(Self { config, tensors })
    }

    /// Writes `config.json` and `model.safetensors` into `dir`.
    pub fn save(&self, dir: &Path, dtype: StoredDtype) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_vec_pretty(&self.config)?,
        )?;
        write_safetensors(&self.tensors, dtype, &dir.join("model.safetensors"))
    }

    /// A randomly initialised model for tests and benchmarks where no pretrained checkpoint can
    /// be downloaded: uniform weights with standard deviation 0.02 in the projections and
    /// `1/sqrt(hidden_size)` in the embeddings and head (so logits can reach a useful range
    /// through a frozen head), norms 1.
    pub fn random(config: LlamaConfig, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let vocab_std = 1.0 / (config.hidden_size as f32).sqrt();
        let mut tensors = BTreeMap::new();
        for (name, shape) in config.tensor_shapes() {
            let len = shape.iter().product();
            let std = if shape[0] == config.vocab_size {
                vocab_std
            } else {
                0.02
            };
            let bound = std * 3f32.sqrt();
            let values = if shape.len() == 1 {
                vec![1.0; len]
            } else {
                (0..len).map(|_| rng.random_range(-bound..bound)).collect()
            };
            tensors.insert(name, HostTensor { shape, values });
        }
        Self { config, tensors }
    }

    /// The tensor `name`, checked to have `shape`.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<&HostTensor> {
        let tensor = self
            .tensors
            .get(name)
            .with_context(|| format!("checkpoint has no tensor `{name}`"))?;
        ensure!(
            tensor.shape == shape,
            "checkpoint tensor `{name}` has shape {:?}, but config.json implies {:?}",
            tensor.shape,
            shape
        );
        Ok(tensor)
    }
}

impl WeightSource for Checkpoint {
    fn config(&self) -> &LlamaConfig {
        &self.config
    }

    fn read(&self, name: &str, shape: &[usize]) -> Result<HostTensor> {
        self.tensor(name, shape).cloned()
    }
}

/// A model's weights as stored: a Hugging Face directory (decoded to `f32` when opened) or a
/// GGUF file (decoded tensor by tensor as a model is built, so a 4-bit file is never resident
/// in `f32` as a whole).
#[derive(Debug)]
pub struct ModelWeights {
    pub config: LlamaConfig,
    stored: Stored,
}

#[derive(Debug)]
enum Stored {
    HuggingFace(Checkpoint),
    Gguf(GgufLlama),
}

impl ModelWeights {
    /// Opens a `.gguf` file, a Hugging Face directory (`config.json` + `model.safetensors`), or a
    /// directory holding exactly one `.gguf` file and no `config.json`.
    pub fn open(path: &Path) -> Result<Self> {
        if path.is_dir() && !path.join("config.json").exists() {
            return Self::open_gguf(&single_gguf(path)?);
        }
        if path.is_dir() {
            let checkpoint = Checkpoint::load(path)?;
            return Ok(Self {
                config: checkpoint.config.clone(),
                stored: Stored::HuggingFace(checkpoint),
            });
        }
        Self::open_gguf(path)
    }

    fn open_gguf(path: &Path) -> Result<Self> {
        let model = GgufLlama::open(path)?;
        Ok(Self {
            config: model.config().clone(),
            stored: Stored::Gguf(model),
        })
    }

    /// The GGUF file, when the weights come from one (its metadata holds the tokenizer).
    pub fn gguf(&self) -> Option<&gguf::GgufFile> {
        match &self.stored {
            Stored::Gguf(model) => Some(model.file()),
            Stored::HuggingFace(_) => None,
        }
    }
}

impl WeightSource for ModelWeights {
    fn config(&self) -> &LlamaConfig {
        &self.config
    }

    fn read(&self, name: &str, shape: &[usize]) -> Result<HostTensor> {
        match &self.stored {
            Stored::HuggingFace(checkpoint) => checkpoint.read(name, shape),
            Stored::Gguf(model) => model.read(name, shape),
        }
    }

    fn read_blocks(&self, name: &str, shape: &[usize]) -> Result<Option<BlockMatrix>> {
        match &self.stored {
            Stored::HuggingFace(checkpoint) => checkpoint.read_blocks(name, shape),
            Stored::Gguf(model) => model.read_blocks(name, shape),
        }
    }
}

/// The one `.gguf` file in `dir`.
fn single_gguf(dir: &Path) -> Result<PathBuf> {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "{} has neither config.json (a Hugging Face model) nor a .gguf file",
            dir.display()
        ),
        many => bail!(
            "{} holds {} .gguf files and no config.json: name the file to use",
            dir.display(),
            many.len()
        ),
    }
}

/// Reads every tensor of a safetensors file as `f32`.
pub fn read_safetensors(path: &Path) -> Result<BTreeMap<String, HostTensor>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_safetensors(&bytes).with_context(|| format!("in {}", path.display()))
}

/// Every tensor of safetensors `bytes` (a file already in memory) as `f32`.
pub fn parse_safetensors(bytes: &[u8]) -> Result<BTreeMap<String, HostTensor>> {
    let file = SafeTensors::deserialize(bytes).context("parsing safetensors")?;
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = decode(&view).with_context(|| format!("tensor `{name}`"))?;
            Ok((
                name,
                HostTensor {
                    shape: view.shape().to_vec(),
                    values,
                },
            ))
        })
        .collect()
}

/// Writes `tensors` as a safetensors file in `dtype`.
pub fn write_safetensors(
    tensors: &BTreeMap<String, HostTensor>,
    dtype: StoredDtype,
    path: &Path,
) -> Result<()> {
    let encoded: Vec<(&String, Vec<u8>, &HostTensor)> = tensors
        .iter()
        .map(|(name, tensor)| (name, encode(&tensor.values, dtype), tensor))
        .collect();
    let st_dtype = match dtype {
        StoredDtype::F32 => Dtype::F32,
        StoredDtype::F16 => Dtype::F16,
        StoredDtype::Bf16 => Dtype::BF16,
    };
    let views = encoded
        .iter()
        .map(|(name, bytes, tensor)| {
            Ok((
                name.as_str(),
                TensorView::new(st_dtype, tensor.shape.clone(), bytes)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    // Transformers refuses a safetensors file whose metadata does not name its format.
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(views, Some(metadata), path)
        .with_context(|| format!("writing {}", path.display()))
}

/// A tensor's values as `f32`, in the file's layout.
pub(crate) fn decode(view: &TensorView<'_>) -> Result<Vec<f32>> {
    let mut values = vec![0.0; view.shape().iter().product()];
    decode_into(view, &mut values)?;
    Ok(values)
}

/// [`decode`] into `out`, which must hold exactly the tensor's values: every entry is written,
/// so `out` may hold anything before.
pub(crate) fn decode_into(view: &TensorView<'_>, out: &mut [f32]) -> Result<()> {
    let data = view.data();
    let width = match view.dtype() {
        Dtype::F32 => 4,
        Dtype::F16 | Dtype::BF16 => 2,
        other => bail!("unsupported dtype {other:?} (expected F32, F16 or BF16)"),
    };
    ensure!(
        data.len() == out.len() * width,
        "the tensor has {} bytes of {:?}, not {} values",
        data.len(),
        view.dtype(),
        out.len()
    );
    let values = out.iter_mut().zip(data.chunks_exact(width));
    match view.dtype() {
        Dtype::F16 => values.for_each(|(v, b)| *v = f16::from_le_bytes([b[0], b[1]]).to_f32()),
        Dtype::BF16 => values.for_each(|(v, b)| *v = bf16::from_le_bytes([b[0], b[1]]).to_f32()),
        _ => values.for_each(|(v, b)| *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    }
    Ok(())
}

fn encode(values: &[f32], dtype: StoredDtype) -> Vec<u8> {
    match dtype {
        StoredDtype::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        StoredDtype::F16 => values
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes())
            .collect(),
        StoredDtype::Bf16 => values
            .iter()
            .flat_map(|v| bf16::from_f32(*v).to_le_bytes())
            .collect(),
    }
}
