//! Attribution Chain worker: fine-tunes Llama-architecture models with burn.
//!
//! Following one training job through the modules:
//!
//! - [`job`]: the TOML job file, and running it end to end.
//! - [`checkpoint`], [`gguf`], [`chat_template`], [`data`]: model weights from a Hugging Face
//!   directory (`config.json`, `model.safetensors`, `tokenizer.json`) or a GGUF file, chat
//!   templates, and JSONL training rows.
//! - [`model`]: the Llama causal LM, built from a checkpoint for one [`tuning::Method`].
//! - [`lora`], [`nf4`], [`ptuning`]: LoRA adapters, NF4 storage for QLoRA, P-tuning v2 prefixes.
//! - [`train`], [`loss`], [`layerwise`], [`clipping`]: AdamW with warmup + cosine, clipping,
//!   accumulation, seeded runs; the loss through the output head in chunks; block-by-block
//!   backpropagation for QLoRA.
//! - [`artifact`], [`peft`]: checkpoints with their BLAKE2b-256 hashes, PEFT adapters.
//! - [`eval`], [`rouge`]: held-out loss, perplexity and ROUGE.
//! - [`device`]: CUDA when present, else the CPU.
//! - [`rag`]: retrieval over a datanet version and the causal attribution of answers to its
//!   contributions (ContextCite).
//! - [`provenance`]: which training rows an answer reuses verbatim (a suffix array over the
//!   version's tokens), and their contributions' share.
//! - [`bench`], [`memory`], [`synthetic`]: the side-by-side benchmark and its synthetic data;
//!   [`influence_bench`]: training-data influence against re-training.

pub mod artifact;
pub mod attribution_bench;
pub mod bench;
pub mod chat;
pub mod chat_template;
pub mod checkpoint;
pub mod clipping;
pub mod daemon;
pub mod data;
pub mod decode_bench;
pub mod device;
pub mod eval;
pub mod gguf;
pub mod influence_bench;
pub mod job;
pub mod layerwise;
pub mod lora;
pub mod loss;
pub mod memory;
pub mod model;
pub mod nf4;
pub mod peft;
pub mod provenance;
pub mod ptuning;
pub mod rag;
pub mod retrieval_bench;
pub mod rouge;
pub mod serve;
pub mod synthetic;
pub mod train;
pub mod tuning;
