//! GGUF checkpoints: the dequantizers against blocks packed here from known contents, the same
//! weights from a GGUF file (written with llama.cpp's q/k row order) and from a Hugging Face
//! directory, the tokenizer and chat template from the metadata, transformers 5 configs, the
//! `eval` command on a `.gguf`, and the real SmolLM2 model when it is in the cache.

mod common;

use attribution_worker::chat_template::{ChatMessage, ChatTemplate};
use attribution_worker::checkpoint::{Checkpoint, ModelWeights, StoredDtype, WeightSource};
use attribution_worker::data::{encode, Example};
use attribution_worker::eval::{generate, held_out_loss};
use attribution_worker::gguf::{
    self, BlockMatrix, GgmlType, GgufFile, GgufLlama, GgufWriter, Value,
};
use attribution_worker::job::ModelDir;
use attribution_worker::lora::{LoraConfig, QloraBase, TargetModule};
use attribution_worker::model::fused::packed_matmul;
use attribution_worker::model::BaseWeight;
use attribution_worker::model::{Llama, LlamaConfig};
use attribution_worker::peft;
use attribution_worker::serve::runtime::{QMatrix, WeightFormat};
use attribution_worker::train::{TrainConfig, Trainer};
use attribution_worker::tuning::Method;
use burn::module::Module;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use common::*;
use half::{bf16, f16};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::Command;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::Tokenizer;

// ---- dequantizers: blocks packed from chosen codes and scales, expected values from the
// ---- same choices (never from unpacking the bytes)

fn f16_bytes(v: f32) -> [u8; 2] {
    f16::from_f32(v).to_le_bytes()
}

/// A scale that survives the round trip through `f16`.
fn f16_scale(rng: &mut StdRng) -> f32 {
    f16::from_f32(rng.random_range(0.001..0.1)).to_f32()
}

/// One packed block and the values it must decode to.
struct Block {
    bytes: Vec<u8>,
    expected: Vec<f32>,
}

fn q8_0(rng: &mut StdRng) -> Block {
    let d = f16_scale(rng);
    let q: Vec<i8> = (0..32).map(|_| rng.random()).collect();
    let mut bytes = f16_bytes(d).to_vec();
    bytes.extend(q.iter().map(|&q| q as u8));
    let expected = q.iter().map(|&q| d * f32::from(q)).collect();
    Block { bytes, expected }
}

/// Q4_0 (`with_min = false`) or Q4_1: value `j` and value `j + 16` share byte `j`.
fn q4(rng: &mut StdRng, with_min: bool) -> Block {
    let d = f16_scale(rng);
    let m = f16::from_f32(rng.random_range(-0.5..0.5)).to_f32();
    let q: Vec<u8> = (0..32).map(|_| rng.random_range(0..16)).collect();
    let mut bytes = f16_bytes(d).to_vec();
    if with_min {
        bytes.extend(f16_bytes(m));
    }
    bytes.extend((0..16).map(|j| q[j] | (q[j + 16] << 4)));
    let expected = q
        .iter()
        .map(|&q| {
            if with_min {
                d * f32::from(q) + m
            } else {
                d * (f32::from(q) - 8.0)
            }
        })
        .collect();
    Block { bytes, expected }
}

/// Q5_0 or Q5_1: bit `v` of the 32-bit `qh` is the fifth bit of value `v`.
fn q5(rng: &mut StdRng, with_min: bool) -> Block {
    let d = f16_scale(rng);
    let m = f16::from_f32(rng.random_range(-0.5..0.5)).to_f32();
    let q: Vec<u8> = (0..32).map(|_| rng.random_range(0..32)).collect();
    let qh: u32 = (0..32).map(|v| u32::from(q[v] >> 4) << v).sum();
    let mut bytes = f16_bytes(d).to_vec();
    if with_min {
        bytes.extend(f16_bytes(m));
    }
    bytes.extend(qh.to_le_bytes());
    bytes.extend((0..16).map(|j| (q[j] & 15) | ((q[j + 16] & 15) << 4)));
    let expected = q
        .iter()
        .map(|&q| {
            if with_min {
                d * f32::from(q) + m
            } else {
                d * (f32::from(q) - 16.0)
            }
        })
        .collect();
    Block { bytes, expected }
}

/// The 12 bytes holding eight 6-bit scales and eight 6-bit minima of Q4_K/Q5_K.
fn pack_k4_scales(sc: &[u8; 8], mn: &[u8; 8]) -> Vec<u8> {
    let mut out = vec![0u8; 12];
    for s in 0..4 {
        out[s] = sc[s] | ((sc[s + 4] >> 4) << 6);
        out[s + 4] = mn[s] | ((mn[s + 4] >> 4) << 6);
        out[s + 8] = (sc[s + 4] & 15) | ((mn[s + 4] & 15) << 4);
    }
    out
}

/// Q4_K (`five_bits = false`) or Q5_K: eight sub-blocks of 32; value `v` is in sub-block
/// `v / 32`, at byte `32·(v / 64) + v % 32` of the codes, low nibble for even sub-blocks; for
/// Q5_K its fifth bit is bit `v / 32` of `qh[v % 32]`.
fn q_k(rng: &mut StdRng, five_bits: bool) -> Block {
    let (d, dmin) = (f16_scale(rng), f16_scale(rng));
    let sc: [u8; 8] = std::array::from_fn(|_| rng.random_range(0..64));
    let mn: [u8; 8] = std::array::from_fn(|_| rng.random_range(0..64));
    let top = if five_bits { 32 } else { 16 };
    let q: Vec<u8> = (0..256).map(|_| rng.random_range(0..top)).collect();
    let mut codes = vec![0u8; 128];
    let mut qh = vec![0u8; 32];
    for (v, &code) in q.iter().enumerate() {
        let sub = v / 32;
        let at = 32 * (v / 64) + v % 32;
        codes[at] |= (code & 15) << (4 * (sub % 2));
        qh[v % 32] |= (code >> 4) << sub;
    }
    let mut bytes = f16_bytes(d).to_vec();
    bytes.extend(f16_bytes(dmin));
    bytes.extend(pack_k4_scales(&sc, &mn));
    if five_bits {
        bytes.extend(qh);
    }
    bytes.extend(codes);
    let expected = q
        .iter()
        .enumerate()
        .map(|(v, &code)| {
            let sub = v / 32;
            d * f32::from(sc[sub]) * f32::from(code) - dmin * f32::from(mn[sub])
        })
        .collect();
    Block { bytes, expected }
}

/// Q6_K: value `v = 128·h + 32·quarter + l` has its low nibble in `ql[64·h + l + 32·(quarter % 2)]`
/// (high nibble for quarters 2 and 3), its two high bits at bit `2·quarter` of `qh[32·h + l]`,
/// and the `i8` scale of sub-block `v / 16`.
fn q6_k(rng: &mut StdRng) -> Block {
    let d = f16_scale(rng);
    let scales: [i8; 16] = std::array::from_fn(|_| rng.random());
    let q: Vec<u8> = (0..256).map(|_| rng.random_range(0..64)).collect();
    let (mut ql, mut qh) = (vec![0u8; 128], vec![0u8; 64]);
    for (v, &code) in q.iter().enumerate() {
        let (h, quarter, l) = (v / 128, (v % 128) / 32, v % 32);
        ql[64 * h + l + 32 * (quarter % 2)] |= (code & 15) << (4 * (quarter / 2));
        qh[32 * h + l] |= (code >> 4) << (2 * quarter);
    }
    let mut bytes = ql;
    bytes.extend(qh);
    bytes.extend(scales.iter().map(|&s| s as u8));
    bytes.extend(f16_bytes(d));
    let expected = q
        .iter()
        .enumerate()
        .map(|(v, &code)| d * f32::from(scales[v / 16]) * (f32::from(code) - 32.0))
        .collect();
    Block { bytes, expected }
}

type Packer = fn(&mut StdRng) -> Block;

/// Every block type, with a packer of one block.
fn packers() -> [(GgmlType, Packer); 8] {
    [
        (GgmlType::Q8_0, q8_0),
        (GgmlType::Q4_0, |r| q4(r, false)),
        (GgmlType::Q4_1, |r| q4(r, true)),
        (GgmlType::Q5_0, |r| q5(r, false)),
        (GgmlType::Q5_1, |r| q5(r, true)),
        (GgmlType::Q4K, |r| q_k(r, false)),
        (GgmlType::Q5K, |r| q_k(r, true)),
        (GgmlType::Q6K, q6_k),
    ]
}

#[test]
fn dequantizers_match_blocks_packed_from_known_codes() {
    let mut rng = StdRng::seed_from_u64(3);
    for (ggml_type, pack) in packers() {
        let blocks: Vec<Block> = (0..3).map(|_| pack(&mut rng)).collect();
        let bytes: Vec<u8> = blocks.iter().flat_map(|b| b.bytes.clone()).collect();
        let expected: Vec<f32> = blocks.iter().flat_map(|b| b.expected.clone()).collect();
        assert_eq!(
            bytes.len(),
            3 * ggml_type.block_bytes().unwrap(),
            "{ggml_type}"
        );
        let decoded = ggml_type.dequantize(&bytes).unwrap();
        assert_eq!(decoded.len(), expected.len(), "{ggml_type}");
        for (i, (got, want)) in decoded.iter().zip(&expected).enumerate() {
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{ggml_type} value {i}: {got} != {want}"
            );
        }
    }

    let values = [1.5f32, -0.25, 3.0e-3, 65504.0];
    let cases: [(GgmlType, Vec<u8>, Vec<f32>); 3] = [
        (
            GgmlType::F32,
            values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            values.to_vec(),
        ),
        (
            GgmlType::F16,
            values.iter().flat_map(|&v| f16_bytes(v)).collect(),
            values.iter().map(|&v| f16::from_f32(v).to_f32()).collect(),
        ),
        (
            GgmlType::Bf16,
            values
                .iter()
                .flat_map(|&v| bf16::from_f32(v).to_le_bytes())
                .collect(),
            values.iter().map(|&v| bf16::from_f32(v).to_f32()).collect(),
        ),
    ];
    for (ggml_type, bytes, expected) in cases {
        assert_eq!(ggml_type.dequantize(&bytes).unwrap(), expected);
    }
}

#[test]
fn unsupported_tensor_types_are_named() {
    let err = GgmlType::from_id(10).dequantize(&[0; 84]).unwrap_err();
    assert_eq!(err.to_string(), "Q2_K (type 10) tensors are not supported");
    let err = GgmlType::from_id(77).block_len().unwrap_err();
    assert_eq!(err.to_string(), "ggml type 77 tensors are not supported");
}

// ---- QLoRA's frozen base kept in the file's blocks

/// `max |a − b| / max |a|`, asserted to be at most 1e-5 (and `a` not all zero).
fn assert_close(a: &[f32], b: &[f32], what: &str) {
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: all zero");
    let relative = max_abs_diff(a, b) / scale;
    assert!(relative <= 1e-5, "{what}: relative difference {relative}");
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().unwrap()
}

/// A `[rows, cols]` matrix of packed blocks and the values they were packed from.
fn packed_matrix(
    ggml_type: GgmlType,
    pack: Packer,
    [rows, cols]: [usize; 2],
    rng: &mut StdRng,
) -> (Vec<u8>, Vec<f32>) {
    let blocks: Vec<Block> = (0..rows * cols / ggml_type.block_len().unwrap())
        .map(|_| pack(rng))
        .collect();
    (
        blocks.iter().flat_map(|b| b.bytes.clone()).collect(),
        blocks.iter().flat_map(|b| b.expected.clone()).collect(),
    )
}

/// `x · Wᵀ` over a weight kept in ggml blocks (`[d_out, d_in]`), forward and backward, against
/// burn's matmul over the values the blocks were packed from.
#[test]
fn block_matmul_matches_the_dequantized_weight() {
    let mut rng = StdRng::seed_from_u64(8);
    let [d_out, d_in] = [24, 256];
    for (ggml_type, pack) in packers() {
        let (bytes, expected) = packed_matrix(ggml_type, pack, [d_out, d_in], &mut rng);
        let matrix = BlockMatrix::new(ggml_type, bytes.clone(), d_out, d_in).unwrap();
        assert_eq!(matrix.shape(), [d_out, d_in]);
        assert_eq!(matrix.stored_bytes(), bytes.len());
        // Rows decoded in parallel give what one sequential pass gives.
        assert_eq!(
            matrix.dequantize(),
            ggml_type.dequantize(&bytes).unwrap(),
            "{ggml_type}"
        );

        let device = Device::flex().autodiff();
        device.seed(5);
        let x =
            Tensor::<2>::random([6, d_in], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let upstream = Tensor::<2>::random([6, d_out], Distribution::Normal(0.0, 1.0), &device);
        let weight =
            Tensor::<2>::from_data(TensorData::new(expected, [d_out, d_in]), &device).transpose();
        let fused = packed_matmul(x.clone(), &matrix);
        let reference = x.clone().matmul(weight.clone());
        let what = |part: &str| format!("{ggml_type} {part}");
        assert_close(
            &values(reference.clone()),
            &values(fused.clone()),
            &what("values"),
        );
        let fused_grads = (fused * upstream.clone()).sum().backward();
        let reference_grads = (reference * upstream).sum().backward();
        assert_close(
            &values(x.grad(&reference_grads).unwrap()),
            &values(x.grad(&fused_grads).unwrap()),
            &what("dx"),
        );

        let x = x.inner();
        assert_close(
            &values(x.clone().matmul(weight.inner())),
            &values(packed_matmul(x, &matrix)),
            &what("untracked values"),
        );
    }
}

#[test]
fn block_matrices_refuse_what_they_cannot_hold() {
    let q4_1 = GgmlType::Q4_1;
    let error = |r: anyhow::Result<BlockMatrix>| format!("{:#}", r.unwrap_err());
    assert_eq!(
        error(BlockMatrix::new(GgmlType::F16, vec![0; 64], 1, 32)),
        "F16 is not a block-quantized type"
    );
    assert_eq!(
        error(BlockMatrix::new(q4_1, vec![0; 40], 2, 16)),
        "Q4_1 rows need whole blocks of 32 values, but a row has 16"
    );
    assert_eq!(
        error(BlockMatrix::new(q4_1, vec![0; 39], 1, 64)),
        "a [1, 64] Q4_1 matrix takes 40 bytes, not 39"
    );
    assert!(
        error(BlockMatrix::new(GgmlType::from_id(10), vec![0; 84], 1, 256))
            .contains("not a block-quantized type")
    );
    let matrix = BlockMatrix::new(q4_1, vec![0; 60], 3, 32).unwrap();
    for order in [&[0, 1][..], &[0, 1, 3], &[0, 1, 2, 0]] {
        assert_eq!(
            error(matrix.permute_rows(order)),
            "a row order for 3 rows must name each of them"
        );
    }
    let mut bytes = vec![0u8; 60];
    bytes[20] = 7;
    let permuted = BlockMatrix::new(q4_1, bytes, 3, 32)
        .unwrap()
        .permute_rows(&[1, 2, 0])
        .unwrap();
    assert_eq!(
        BlockMatrix::new(q4_1, [&[7u8][..], &[0; 59]].concat(), 3, 32)
            .unwrap()
            .dequantize(),
        permuted.dequantize()
    );
    let err = ggml_error(GgmlType::Q8_0.dequantize_into(&[0; 34], &mut [0.0; 31]));
    assert_eq!(err, "34 bytes of Q8_0 hold 32 values, not 31");
}

fn ggml_error(result: anyhow::Result<()>) -> String {
    format!("{:#}", result.unwrap_err())
}

// ---- a model written as GGUF the way llama.cpp's converter writes it

/// A small byte-level BPE vocabulary in the layout SmolLM2 has: control tokens first, then
/// the 256 byte symbols, then merged tokens. Returns the tokens and the merges.
fn vocabulary() -> (Vec<String>, Vec<String>) {
    let mut tokens: Vec<String> = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        .map(String::from)
        .to_vec();
    let mut alphabet: Vec<char> = ByteLevel::alphabet().into_iter().collect();
    alphabet.sort_unstable();
    tokens.extend(alphabet.iter().map(char::to_string));
    let mut merges = Vec::new();
    // "12" lets the test see whether digits are split before BPE (SmolLM2 splits them).
    for word in [
        "Ġthe",
        "Ġcapital",
        "Ġof",
        "ĠFrance",
        "ĠParis",
        "What",
        "Ġis",
        "user",
        "12",
    ] {
        let chars: Vec<String> = word.chars().map(String::from).collect();
        let mut merged = chars[0].clone();
        for next in &chars[1..] {
            merges.push(format!("{merged} {next}"));
            merged.push_str(next);
            if !tokens.contains(&merged) {
                tokens.push(merged.clone());
            }
        }
    }
    (tokens, merges)
}

const SMOLLM2_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Writes `checkpoint` as a Llama GGUF with the tokenizer of [`vocabulary`], the linear weights
/// and embeddings in `ggml_type` (F32, F16, Q8_0 or Q4_1, quantized as llama.cpp's reference
/// quantizers do; norms stay F32, as llama.cpp keeps them).
fn write_gguf(checkpoint: &Checkpoint, ggml_type: GgmlType, path: &Path) {
    let config = &checkpoint.config;
    let (tokens, merges) = vocabulary();
    assert_eq!(tokens.len(), config.vocab_size);
    let strings =
        |items: &[String]| Value::Array(items.iter().cloned().map(Value::String).collect());
    let mut w = GgufWriter::new();
    w.metadata("general.architecture", Value::String("llama".into()))
        .metadata("general.alignment", Value::U32(64))
        .metadata(
            "llama.block_count",
            Value::U32(config.num_hidden_layers as u32),
        )
        .metadata(
            "llama.embedding_length",
            Value::U32(config.hidden_size as u32),
        )
        .metadata(
            "llama.feed_forward_length",
            Value::U32(config.intermediate_size as u32),
        )
        .metadata(
            "llama.attention.head_count",
            Value::U32(config.num_attention_heads as u32),
        )
        .metadata(
            "llama.attention.head_count_kv",
            Value::U32(config.kv_heads() as u32),
        )
        .metadata("llama.rope.freq_base", Value::F32(config.rope_theta as f32))
        .metadata(
            "llama.attention.layer_norm_rms_epsilon",
            Value::F32(config.rms_norm_eps as f32),
        )
        .metadata(
            "llama.context_length",
            Value::U32(config.max_position_embeddings as u32),
        )
        .metadata("tokenizer.ggml.model", Value::String("gpt2".into()))
        .metadata("tokenizer.ggml.pre", Value::String("smollm".into()))
        .metadata("tokenizer.ggml.tokens", strings(&tokens))
        .metadata("tokenizer.ggml.merges", strings(&merges))
        .metadata(
            "tokenizer.ggml.token_type",
            Value::Array(
                (0..tokens.len())
                    .map(|i| Value::I32(if i < 3 { 3 } else { 1 }))
                    .collect(),
            ),
        )
        .metadata("tokenizer.ggml.bos_token_id", Value::U32(1))
        .metadata("tokenizer.ggml.eos_token_id", Value::U32(2))
        .metadata("tokenizer.ggml.add_bos_token", Value::Bool(false))
        .metadata(
            "tokenizer.chat_template",
            Value::String(SMOLLM2_TEMPLATE.into()),
        );
    for (name, tensor) in &checkpoint.tensors {
        let gguf_name = gguf::llama::gguf_name(name).unwrap();
        let heads = if name.ends_with("q_proj.weight") {
            Some(config.num_attention_heads)
        } else if name.ends_with("k_proj.weight") {
            Some(config.kv_heads())
        } else {
            None
        };
        let values = match heads {
            Some(heads) => common::llama_cpp_permute(&tensor.values, heads, tensor.shape[1]),
            None => tensor.values.clone(),
        };
        let format = match ggml_type {
            GgmlType::Q8_0 => Some(WeightFormat::Q8_0),
            GgmlType::Q4_1 => Some(WeightFormat::Q4),
            _ => None,
        };
        if tensor.shape.len() == 1 || ggml_type == GgmlType::F32 {
            w.f32_tensor(&gguf_name, &tensor.shape, &values).unwrap();
        } else if let Some(format) = format {
            let [rows, cols] = [tensor.shape[0], tensor.shape[1]];
            let bytes = QMatrix::quantize(&values, rows, cols, format)
                .unwrap()
                .ggml_bytes()
                .unwrap();
            w.tensor(&gguf_name, &tensor.shape, ggml_type, bytes)
                .unwrap();
        } else {
            let bytes = values.iter().flat_map(|&v| f16_bytes(v)).collect();
            w.tensor(&gguf_name, &tensor.shape, GgmlType::F16, bytes)
                .unwrap();
        }
    }
    w.write(path).unwrap();
}

/// A random model over [`vocabulary`]: 4 query heads on 2 key/value heads, head_dim 8.
fn gguf_model(tied: bool) -> Checkpoint {
    let mut config = LlamaConfig::small(vocabulary().0.len(), 32, 64, 2, 4, 2);
    config.tie_word_embeddings = tied;
    config.rope_theta = 100_000.0;
    config.rms_norm_eps = 1e-5;
    config.bos_token_id = Some(1);
    config.eos_token_id = Some(2);
    Checkpoint::random(config, 11)
}

fn input(device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = vec![1, 40, 77, 250, 5, 99, 258, 2, 1, 12, 255, 251, 60, 33, 3, 2];
    Tensor::from_data(TensorData::new(ids, [2, 8]), device)
}

fn flat(logits: Tensor<3>) -> Vec<f32> {
    logits.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn gguf_and_safetensors_of_the_same_weights_agree() {
    let device = Device::default();
    for (tied, ggml_type, stored) in [
        (false, GgmlType::F32, StoredDtype::F32),
        (true, GgmlType::F16, StoredDtype::F16),
    ] {
        let checkpoint = gguf_model(tied);
        let dir = tempfile::tempdir().unwrap();
        let hf = dir.path().join("hf");
        checkpoint.save(&hf, stored).unwrap();
        let file = dir.path().join("model.gguf");
        write_gguf(&checkpoint, ggml_type, &file);

        let from_hf =
            Llama::from_checkpoint(&Checkpoint::load(&hf).unwrap(), &Method::Full, &device)
                .unwrap();
        let weights = ModelWeights::open(&file).unwrap();
        assert_eq!(weights.config.tie_word_embeddings, tied);
        assert_eq!(
            weights.config.max_position_embeddings,
            checkpoint.config.max_position_embeddings
        );
        let from_gguf = Llama::from_checkpoint(&weights, &Method::Full, &device).unwrap();
        let diff = max_abs_diff(
            &flat(from_hf.forward(input(&device))),
            &flat(from_gguf.forward(input(&device))),
        );
        assert!(diff < 1e-3, "{ggml_type}: max |logit diff| {diff}");
        let prompt = [1, 40, 77, 250, 5];
        assert_eq!(
            generate(&from_hf, &prompt, 8, None, &device),
            generate(&from_gguf, &prompt, 8, None, &device),
            "{ggml_type}"
        );
    }
}

/// QLoRA over a Q4_1 or Q8_0 file keeps each projection in the file's blocks, so its base is
/// LoRA's `f32` base value for value (q/k rows reordered as `read` reorders them): the same
/// logits and the same adapter gradients. Asked for NF4, it rounds the decoded values again.
#[test]
fn qlora_over_a_quantized_gguf_trains_on_lora_s_base_values() {
    for ggml_type in [GgmlType::Q4_1, GgmlType::Q8_0] {
        let checkpoint = gguf_model(true);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.gguf");
        write_gguf(&checkpoint, ggml_type, &file);
        let weights = ModelWeights::open(&file).unwrap();
        let lora = LoraConfig::new(4, 8.0).with_targets(
            TargetModule::ALL
                .iter()
                .map(|t| t.hf_name().to_string())
                .collect(),
        );
        let device = Device::flex().autodiff();
        let build = |method: Method| {
            device.seed(3);
            Llama::from_checkpoint(&weights, &method, &device).unwrap()
        };
        let models = [
            build(Method::Lora(lora.clone())),
            build(Method::Qlora(lora.clone())),
            build(Method::Qlora(lora.clone().with_base(QloraBase::Nf4))),
        ];
        for layer in &models[1].layers {
            for target in TargetModule::ALL {
                match &layer.projection(target).base {
                    BaseWeight::Blocks(packed) => assert_eq!(packed.matrix.ggml_type(), ggml_type),
                    other => panic!("{ggml_type} {target:?}: {other:?}"),
                }
            }
        }
        assert!(models[2].layers.iter().all(|layer| TargetModule::ALL
            .iter()
            .all(|&t| matches!(layer.projection(t).base, BaseWeight::Nf4(_)))));

        let upstream = Tensor::<3>::random(
            [2, 8, checkpoint.config.vocab_size],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let run = |model: &Llama| {
            let logits = model.forward(input(&device));
            let grads = (logits.clone() * upstream.clone()).sum().backward();
            let b_grads: Vec<f32> = model
                .layers
                .iter()
                .flat_map(|layer| {
                    TargetModule::ALL.map(|t| {
                        let b = layer.projection(t).lora.as_ref().unwrap().b.val();
                        values(b.grad(&grads).unwrap())
                    })
                })
                .flatten()
                .collect();
            (flat(logits), b_grads)
        };
        let [lora_run, stored_run, nf4_run] = models.each_ref().map(run);
        assert_close(&lora_run.0, &stored_run.0, &format!("{ggml_type} logits"));
        assert_close(&lora_run.1, &stored_run.1, &format!("{ggml_type} ∂L/∂B"));
        let scale = lora_run.0.iter().fold(0f32, |m, v| m.max(v.abs()));
        let nf4_error = max_abs_diff(&lora_run.0, &nf4_run.0) / scale;
        assert!(
            nf4_error > 1e-3,
            "{ggml_type}: NF4 rounds the base again, relative logit difference {nf4_error}"
        );
    }
}

/// What `verify` does with a QLoRA adapter: the same hyper-parameters (so the same `base`) over
/// the same file rebuild the base the adapter trained on, and the PEFT file reloaded onto it
/// gives the trained model's logits; reloaded onto the NF4 base it gives another model's.
#[test]
fn a_qlora_adapter_over_stored_blocks_reloads_onto_the_base_it_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.gguf");
    write_gguf(&gguf_model(true), GgmlType::Q4_1, &file);
    let model_dir = ModelDir::load(&file).unwrap();
    let examples: Vec<Example> = ["paris", "rome", "bern", "oslo"]
        .iter()
        .map(|city| Example {
            prompt: format!("capital {city}"),
            completion: format!(" is {city}"),
        })
        .collect();
    let rows = model_dir.encode(&examples, 16).unwrap();
    let lora = LoraConfig::new(4, 8.0).with_targets(vec!["q".into(), "k".into(), "down".into()]);
    let method = Method::Qlora(lora.clone());
    let device = Device::flex().autodiff();
    let model = Llama::from_checkpoint(&model_dir.checkpoint, &method, &device).unwrap();
    let config = TrainConfig {
        steps: 4,
        batch_size: 4,
        learning_rate: 1e-2,
        warmup_steps: 1,
        progress: false,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(model, &rows, model_dir.special.pad, &config, &device).unwrap();
    for _ in 0..config.steps {
        trainer.step();
    }
    let trained = trainer.into_model();
    let adapter = dir.path().join("adapter");
    peft::save_adapter(&trained, &lora, None, &adapter).unwrap();

    let plain = Device::flex();
    let logits = |model: &Llama| flat(model.valid().forward(input(&plain)));
    let reload = |method: &Method| {
        let base = Llama::from_checkpoint(&model_dir.checkpoint, method, &device).unwrap();
        peft::load_adapter(base, &adapter).unwrap().0
    };
    let expected = logits(&trained);
    let untrained =
        logits(&Llama::from_checkpoint(&model_dir.checkpoint, &method, &device).unwrap());
    assert!(
        max_abs_diff(&expected, &untrained) > 1e-3,
        "training moved the logits"
    );
    assert_eq!(logits(&reload(&method)), expected);
    let nf4 = logits(&reload(&Method::Qlora(lora.with_base(QloraBase::Nf4))));
    assert!(max_abs_diff(&expected, &nf4) > 1e-3);
}

#[test]
fn config_and_unsupported_features_from_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.gguf");
    write_gguf(&gguf_model(false), GgmlType::F32, &file);
    let config = GgufLlama::open(&file).unwrap().config().clone();
    assert_eq!(
        (
            config.vocab_size,
            config.hidden_size,
            config.intermediate_size,
            config.num_hidden_layers,
            config.num_attention_heads,
            config.kv_heads(),
            config.rope_theta,
            config.bos_token_id,
            config.eos_token_id
        ),
        (
            vocabulary().0.len(),
            32,
            64,
            2,
            4,
            2,
            100_000.0,
            Some(1),
            Some(2)
        )
    );

    // Rewrites one metadata value or tensor type in a copy of the file and opens it.
    let edit = |key: &str, value: Value| -> String {
        let source = GgufFile::open(&file).unwrap();
        let mut w = GgufWriter::new();
        for (k, v) in &source.metadata {
            w.metadata(k, v.clone());
        }
        w.metadata(key, value);
        for info in &source.tensors {
            let bytes = source.raw(info).unwrap();
            w.tensor(&info.name, &info.shape(), info.ggml_type, bytes)
                .unwrap();
        }
        let edited = dir.path().join("edited.gguf");
        w.write(&edited).unwrap();
        format!("{:#}", ModelDir::load(&edited).err().unwrap())
    };
    let err = edit("general.architecture", Value::String("qwen2".into()));
    assert!(
        err.contains("GGUF architecture `qwen2` is not supported"),
        "{err}"
    );
    let err = edit("llama.rope.scaling.type", Value::String("yarn".into()));
    assert!(err.contains("RoPE scaling `yarn`"), "{err}");
    let err = edit("tokenizer.ggml.model", Value::String("llama".into()));
    assert!(
        err.contains("tokenizer.ggml.model `llama` is not supported"),
        "{err}"
    );
    let err = edit("tokenizer.ggml.pre", Value::String("deepseek-llm".into()));
    assert!(
        err.contains("tokenizer.ggml.pre `deepseek-llm` is not supported"),
        "{err}"
    );

    // A tensor type this worker cannot decode is named when the tensor is read.
    let mut bytes = std::fs::read(&file).unwrap();
    let name = b"blk.0.ffn_up.weight";
    let at = bytes.windows(name.len()).position(|w| w == name).unwrap() + name.len();
    let type_at = at + 4 + 2 * 8; // n_dims, then two dims
    bytes[type_at..type_at + 4].copy_from_slice(&10u32.to_le_bytes());
    let patched = dir.path().join("q2k.gguf");
    std::fs::write(&patched, bytes).unwrap();
    let weights = ModelWeights::open(&patched).unwrap();
    let err = format!(
        "{:#}",
        Llama::from_checkpoint(&weights, &Method::Full, &Device::default()).unwrap_err()
    );
    assert!(
        err.contains("tensor `blk.0.ffn_up.weight`") && err.contains("Q2_K (type 10)"),
        "{err}"
    );
}

// ---- tokenizer and chat template

/// The tokenizer.json a Hugging Face SmolLM2 directory would carry for [`vocabulary`].
fn tokenizer_json(pre_tokenizer: serde_json::Value) -> Tokenizer {
    let (tokens, merges) = vocabulary();
    let added: Vec<serde_json::Value> = tokens[..3]
        .iter()
        .enumerate()
        .map(|(id, content)| {
            serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let vocab: serde_json::Map<String, serde_json::Value> = tokens
        .iter()
        .enumerate()
        .map(|(id, t)| (t.clone(), id.into()))
        .collect();
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": merges},
    });
    Tokenizer::from_bytes(serde_json::to_vec(&json).unwrap()).unwrap()
}

#[test]
fn gguf_tokenizer_encodes_like_tokenizer_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.gguf");
    write_gguf(&gguf_model(false), GgmlType::F32, &file);
    let model = ModelDir::load(&file).unwrap();
    let smollm2 = tokenizer_json(serde_json::json!({"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": true},
        {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]}));
    let texts = [
        "What is the capital of France?",
        "<|im_start|>user\nWhat is 12 + 123?<|im_end|>\n<|im_start|>assistant\n",
        "  Paris, the capital:\tthé 12€ ",
        "<|im_end|><|im_start|>",
    ];
    for text in texts {
        let ours = model.tokenizer.encode(text, false).unwrap();
        let reference = smollm2.encode(text, false).unwrap();
        assert_eq!(ours.get_ids(), reference.get_ids(), "{text:?}");
        assert_eq!(model.tokenizer.decode(ours.get_ids(), false).unwrap(), text);
    }
    // Control tokens are one id each and skipped when decoding special tokens away.
    let ids = model
        .tokenizer
        .encode("<|im_start|>user\nWhat<|im_end|>", false)
        .unwrap()
        .get_ids()
        .to_vec();
    assert_eq!(ids[0], 1);
    assert_eq!(*ids.last().unwrap(), 2);
    assert_eq!(model.tokenizer.decode(&ids, true).unwrap(), "user\nWhat");
    // Digits are split one by one, as SmolLM2's pre-tokenizer does: the "12" merge never applies.
    let twelve = model.tokenizer.encode("12", false).unwrap();
    assert_eq!(twelve.get_ids().len(), 2);
    assert_eq!(
        (model.special.bos, model.special.eos, model.special.pad),
        (None, Some(2), 2)
    );
}

#[test]
fn chat_template_renders_from_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.gguf");
    write_gguf(&gguf_model(false), GgmlType::F32, &file);
    let model = ModelDir::load(&file).unwrap();
    let template = model.chat_template.as_ref().unwrap();
    assert_eq!(template.source(), SMOLLM2_TEMPLATE);
    let prompt = template
        .render(
            &[ChatMessage::new("user", "What is the capital of France?")],
            true,
        )
        .unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    );

    // Hugging Face conventions: trimmed blocks, Python string methods, raise_exception.
    let template = ChatTemplate::new(
        "{% for m in messages %}\n{% if m.role not in ['user', 'assistant'] %}{{ raise_exception('bad role ' + m.role) }}{% endif %}\n{{ bos_token }}{{ m.content.strip() }}{{ eos_token }}\n{% endfor %}",
        "<s>",
        "</s>",
    )
    .unwrap();
    let messages = [
        ChatMessage::new("user", "  hi "),
        ChatMessage::new("assistant", "hello"),
    ];
    // As in Jinja: a block tag's own line is dropped, text after an expression is kept.
    assert_eq!(
        template.render(&messages, false).unwrap(),
        "<s>hi</s>\n<s>hello</s>\n"
    );
    let err = template
        .render(&[ChatMessage::new("tool", "x")], false)
        .unwrap_err();
    assert!(format!("{err:#}").contains("bad role tool"), "{err:#}");
}

// ---- Hugging Face configs

#[test]
fn transformers_5_configs_read_rope_parameters_and_refuse_scaling_by_name() {
    let base = serde_json::json!({
        "model_type": "llama", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5, "tie_word_embeddings": true, "eos_token_id": [2, 3],
        "dtype": "bfloat16", "transformers_version": "5.0.0",
    });
    let with = |extra: serde_json::Value| {
        let mut config = base.clone();
        config
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value::<LlamaConfig>(config)
    };
    let config = with(serde_json::json!({
        "rope_parameters": {"rope_theta": 100000.0, "rope_type": "default"}
    }))
    .unwrap();
    assert_eq!(
        (config.rope_theta, config.eos_token_id),
        (100_000.0, Some(2))
    );
    let legacy = with(serde_json::json!({"rope_theta": 500000.0, "rope_scaling": null})).unwrap();
    assert_eq!(legacy.rope_theta, 500_000.0);
    // Written back in the transformers 4 form, which both versions read.
    let again: LlamaConfig =
        serde_json::from_value(serde_json::to_value(&config).unwrap()).unwrap();
    assert_eq!(again, config);

    for (extra, name) in [
        (
            serde_json::json!({"rope_parameters": {"rope_theta": 5e5, "rope_type": "llama3", "factor": 8.0}}),
            "rope_parameters.rope_type `llama3`",
        ),
        (
            serde_json::json!({"rope_scaling": {"type": "yarn", "factor": 4.0}}),
            "rope_scaling.rope_type `yarn`",
        ),
        (
            serde_json::json!({"attention_bias": true}),
            "attention_bias",
        ),
        (
            serde_json::json!({"hidden_act": "gelu"}),
            "hidden_act `gelu`",
        ),
    ] {
        let err = with(extra).unwrap_err().to_string();
        assert!(err.contains(name), "{err}");
    }
}

// ---- the command line on a .gguf

#[test]
fn eval_without_generation_on_a_gguf_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.gguf");
    write_gguf(&gguf_model(false), GgmlType::F16, &file);
    let rows = dir.path().join("rows.jsonl");
    std::fs::write(
        &rows,
        "{\"prompt\": \"What is the capital of France?\", \"completion\": \" Paris\"}\n\
         {\"text\": \"the capital of France is Paris\"}\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_attribution-worker"))
        .args(["--cpu", "eval", "--model-dir"])
        .arg(&file)
        .arg("--data")
        .arg(&rows)
        .args(["--max-new-tokens", "0"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let loss = report["loss"].as_f64().unwrap();
    assert!(loss.is_finite() && loss > 0.0, "{report}");
    assert!((report["perplexity"].as_f64().unwrap() - loss.exp()).abs() < 1e-6 * loss.exp());
    for rouge in ["rouge1", "rouge2", "rouge_l"] {
        assert!(report[rouge].is_null(), "{report}");
    }
}

// ---- the real model (scripts/fetch-model puts it in the cache)

fn cached_smollm2() -> Option<PathBuf> {
    let cache = std::env::var_os("ATTRIBUTION_MODEL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/attribution-chain/models")
        });
    let path = cache.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    path.exists().then_some(path)
}

#[test]
fn smollm2_answers_and_scores_sanely() {
    let Some(path) = cached_smollm2() else {
        eprintln!(
            "SKIPPED smollm2_answers_and_scores_sanely: SmolLM2-135M-Instruct.Q4_1.gguf is not in \
             the model cache (run scripts/fetch-model)"
        );
        return;
    };
    let device = Device::default();
    let model_dir = ModelDir::load(&path).unwrap();
    let config = &model_dir.checkpoint.config;
    assert_eq!(
        (
            config.num_hidden_layers,
            config.hidden_size,
            config.intermediate_size,
            config.num_attention_heads,
            config.kv_heads(),
            config.vocab_size,
            config.rope_theta,
            config.tie_word_embeddings
        ),
        (30, 576, 1536, 9, 3, 49152, 100_000.0, true)
    );
    let model = Llama::from_checkpoint(&model_dir.checkpoint, &Method::Full, &device).unwrap();
    let template = model_dir.chat_template.as_ref().unwrap();
    let prompt = template
        .render(
            &[ChatMessage::new("user", "What is the capital of France?")],
            true,
        )
        .unwrap();
    let ids = model_dir
        .tokenizer
        .encode(prompt.as_str(), false)
        .unwrap()
        .get_ids()
        .to_vec();
    let answer_ids = generate(&model, &ids, 12, model_dir.special.eos, &device);
    let answer = model_dir.tokenizer.decode(&answer_ids, true).unwrap();
    eprintln!("prompt ids {ids:?}\nanswer ids {answer_ids:?}: {answer:?}");
    assert!(answer.contains("Paris"), "{answer:?}");

    let rows = [
        (
            "What is the capital of France?",
            "The capital of France is Paris.",
        ),
        ("Name a primary colour.", "Red is a primary colour."),
        ("", "The quick brown fox jumps over the lazy dog."),
    ];
    let encoded: Vec<_> = rows
        .iter()
        .map(|(prompt, completion)| {
            let example = Example {
                prompt: prompt.to_string(),
                completion: completion.to_string(),
            };
            encode(&model_dir.tokenizer, &example, model_dir.special, 64).unwrap()
        })
        .collect();
    let loss = held_out_loss(&model, &encoded, 4, model_dir.special.pad, &device);
    eprintln!("loss {loss:.4} (perplexity {:.2})", loss.exp());
    assert!(loss.is_finite() && loss > 0.1 && loss < 6.0, "loss {loss}");
    if let Some(out) = std::env::var_os("ATTRIBUTION_LOGITS_OUT") {
        // For the hand comparison with transformers (docs/worker-training.md, "GGUF").
        let input = Tensor::<2, Int>::from_data(
            TensorData::new(ids.iter().map(|&i| i64::from(i)).collect(), [1, ids.len()]),
            &device,
        );
        let logits = flat(model.forward(input));
        let bytes: Vec<u8> = logits.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(out, bytes).unwrap();
    }
}
