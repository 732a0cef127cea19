//! QLoRA from a 4-bit GGUF never holds the base model in `f32`: each projection is kept in the
//! file's own blocks, or (asked for NF4) decoded, packed to NF4 and dropped before the next is
//! read. Measured with the counting allocator (its own test binary, so no other test's
//! allocations are counted).

use attribution_worker::checkpoint::{Checkpoint, WeightSource};
use attribution_worker::gguf::{GgmlType, GgufLlama, GgufWriter, Value};
use attribution_worker::lora::{LoraConfig, QloraBase, TargetModule};
use attribution_worker::memory::PeakAllocator;
use attribution_worker::model::{BaseWeight, Llama, LlamaConfig};
use attribution_worker::tuning::Method;
use burn::tensor::Device;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

#[global_allocator]
static ALLOCATOR: PeakAllocator = PeakAllocator::new();

/// Held by each test while it measures: the allocator counts every thread, so measurements run
/// one at a time.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn measuring() -> std::sync::MutexGuard<'static, ()> {
    MEASURING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Hidden 256, SwiGLU 1024, 4 layers: 16 MiB of projections in `f32`, stored as Q4_0.
fn write_q4_0_model(path: &std::path::Path) -> LlamaConfig {
    let config = LlamaConfig::small(64, 256, 1024, 4, 4, 4);
    let mut rng = StdRng::seed_from_u64(5);
    let mut w = GgufWriter::new();
    let u32_value = |v: usize| Value::U32(v as u32);
    w.metadata("general.architecture", Value::String("llama".into()))
        .metadata("llama.block_count", u32_value(config.num_hidden_layers))
        .metadata("llama.embedding_length", u32_value(config.hidden_size))
        .metadata(
            "llama.feed_forward_length",
            u32_value(config.intermediate_size),
        )
        .metadata(
            "llama.attention.head_count",
            u32_value(config.num_attention_heads),
        )
        .metadata("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5))
        .metadata("llama.vocab_size", u32_value(config.vocab_size))
        .metadata("llama.context_length", u32_value(64));
    for (name, shape) in config.tensor_shapes() {
        let gguf = attribution_worker::gguf::llama::gguf_name(&name).unwrap();
        let len: usize = shape.iter().product();
        if shape.len() == 1 {
            w.f32_tensor(&gguf, &shape, &vec![1.0; len]).unwrap();
            continue;
        }
        let scale = half::f16::from_f32(0.01).to_le_bytes();
        let bytes: Vec<u8> = (0..len / 32)
            .flat_map(|_| {
                let mut block = scale.to_vec();
                block.extend((0..16).map(|_| rng.random::<u8>()));
                block
            })
            .collect();
        w.tensor(&gguf, &shape, GgmlType::Q4_0, bytes).unwrap();
    }
    w.write(path).unwrap();
    config
}

/// Bytes of every projection of `config` in `f32`.
fn projections_f32_bytes(config: &LlamaConfig) -> usize {
    config
        .tensor_shapes()
        .iter()
        .filter(|(name, _)| name.contains("_proj"))
        .map(|(_, shape)| 4 * shape.iter().product::<usize>())
        .sum()
}

/// Builds a QLoRA model over `source`'s stored blocks and checks that every projection holds
/// them, packed, never an `f32` copy: the build's allocation peak stays under the `f32`
/// projections' size over `under`. Returns the blocks' bytes.
fn stored_blocks_build(source: &impl WeightSource, ggml_type: GgmlType, under: usize) -> usize {
    let projections_f32 = projections_f32_bytes(source.config());
    let qlora = Method::Qlora(LoraConfig::new(4, 8.0));
    let before = ALLOCATOR.reset_peak();
    let model = Llama::from_checkpoint(source, &qlora, &Device::default()).unwrap();
    let peak = ALLOCATOR.peak() - before;
    let mut stored = 0;
    for layer in &model.layers {
        for target in TargetModule::ALL {
            match &layer.projection(target).base {
                BaseWeight::Blocks(packed) => {
                    assert_eq!(packed.matrix.ggml_type(), ggml_type);
                    stored += packed.matrix.stored_bytes();
                }
                other => panic!("{target:?} is not kept in blocks: {other:?}"),
            }
        }
    }
    eprintln!(
        "projections in f32: {projections_f32} bytes; kept as {ggml_type} blocks: {stored} bytes; \
         QLoRA build peak {peak} bytes"
    );
    assert!(
        peak < projections_f32 / under,
        "build peak {peak} bytes, f32 projections {projections_f32}"
    );
    stored
}

#[test]
fn qlora_from_a_4_bit_gguf_keeps_the_file_s_blocks() {
    let _measuring = measuring();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q4_0.gguf");
    let config = write_q4_0_model(&path);
    let gguf = GgufLlama::open(&path).unwrap();
    // Q4_0: 18 bytes per 32 weights against 128 in f32.
    let stored = stored_blocks_build(&gguf, GgmlType::Q4_0, 4);
    assert_eq!(stored * 128, projections_f32_bytes(&config) * 18);
}

/// The real checkpoint (Q4_1, `scripts/fetch-model`), when the model cache holds it.
#[test]
fn qlora_from_smollm2_keeps_its_q4_1_blocks() {
    let Some(path) = std::env::var_os("HOME")
        .map(|home| {
            std::path::PathBuf::from(home)
                .join(".cache/attribution-chain/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        })
        .filter(|path| path.exists())
    else {
        eprintln!(
            "SKIPPED qlora_from_smollm2_keeps_its_q4_1_blocks: SmolLM2-135M-Instruct.Q4_1.gguf \
             is not in the model cache (run scripts/fetch-model)"
        );
        return;
    };
    let _measuring = measuring();
    let gguf = GgufLlama::open(&path).unwrap();
    // Q4_1: 20 bytes per 32 weights against 128 in f32; the tied embedding (Q8_0, decoded to
    // f32: 113 MB) is most of the build's peak, so the bound is the projections' f32 size.
    let stored = stored_blocks_build(&gguf, GgmlType::Q4_1, 1);
    assert_eq!(stored * 128, projections_f32_bytes(gguf.config()) * 20);
}

#[test]
fn qlora_from_a_4_bit_gguf_streams_the_base_into_nf4() {
    let _measuring = measuring();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q4_0.gguf");
    let config = write_q4_0_model(&path);
    let projections_f32: usize = config
        .tensor_shapes()
        .iter()
        .filter(|(name, _)| name.contains("_proj"))
        .map(|(_, shape)| 4 * shape.iter().product::<usize>())
        .sum();
    let device = Device::default();
    let qlora = Method::Qlora(LoraConfig::new(4, 8.0).with_base(QloraBase::Nf4));
    let gguf = GgufLlama::open(&path).unwrap();

    let before = ALLOCATOR.reset_peak();
    let model = Llama::from_checkpoint(&gguf, &qlora, &device).unwrap();
    let streamed = ALLOCATOR.peak() - before;
    assert!(model.layers.iter().all(|layer| TargetModule::ALL
        .iter()
        .all(|&t| matches!(layer.projection(t).base, BaseWeight::Nf4(_)))));
    drop(model);

    // The same build after decoding every tensor first, as a Hugging Face directory is held.
    let before = ALLOCATOR.reset_peak();
    let tensors: BTreeMap<_, _> = config
        .tensor_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let tensor = gguf.read(&name, &shape).unwrap();
            (name, tensor)
        })
        .collect();
    let decoded = Checkpoint {
        config: config.clone(),
        tensors,
    };
    let model = Llama::from_checkpoint(&decoded, &qlora, &device).unwrap();
    let whole = ALLOCATOR.peak() - before;
    drop(model);

    let mib = |bytes: usize| bytes as f64 / (1 << 20) as f64;
    eprintln!(
        "projections in f32: {:.1} MiB; QLoRA build peak streamed from GGUF {:.1} MiB, \
         after decoding the whole file {:.1} MiB",
        mib(projections_f32),
        mib(streamed),
        mib(whole)
    );
    assert!(
        streamed < projections_f32 / 2,
        "streamed peak {streamed} bytes, f32 projections {projections_f32}"
    );
    assert!(whole > projections_f32, "whole-file peak {whole}");
}
