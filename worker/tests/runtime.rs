//! The native serving runtime against the burn model on the same small random weights: logits
//! in every weight format, chunked prefill and decode against one full pass, forks, unmerged
//! adapters batched together against each adapter merged, PEFT files, the errors a server
//! relies on, and the scalar kernels against the SIMD ones.

mod common;

use attribution_worker::checkpoint::{
    write_safetensors, Checkpoint, HostTensor, ModelWeights, StoredDtype,
};
use attribution_worker::gguf::{GgmlType, GgufWriter, Value};
use attribution_worker::lora::{LoraConfig, QloraBase, TargetModule};
use attribution_worker::model::{projection_path, Llama, LlamaConfig};
use attribution_worker::nf4::Nf4Matrix;
use attribution_worker::peft::{self, PeftConfig};
use attribution_worker::serve::runtime::matmul::matmul;
use attribution_worker::serve::runtime::{
    keep_spare_up_to, Chunk, Isa, KvFormat, Logits, LoraWeights, NativeRuntime, QMatrix, Runtime,
    RuntimeOptions, Stored, Values, WeightFormat,
};
use attribution_worker::tuning::Method;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::Path;

const VOCAB: usize = 96;

/// 4 query heads over 2 key/value heads (head_dim 16); widths are whole blocks of 32.
fn config(tied: bool) -> LlamaConfig {
    let mut config = LlamaConfig::small(VOCAB, 64, 128, 2, 4, 2);
    config.tie_word_embeddings = tied;
    config.rope_theta = 100_000.0;
    config.rms_norm_eps = 1e-5;
    config.max_position_embeddings = 64;
    config
}

fn checkpoint(tied: bool) -> Checkpoint {
    Checkpoint::random(config(tied), 5)
}

/// `checkpoint` saved as a Hugging Face directory and opened as a server would.
fn open_hf(checkpoint: &Checkpoint, dir: &Path) -> ModelWeights {
    checkpoint.save(dir, StoredDtype::F32).unwrap();
    ModelWeights::open(dir).unwrap()
}

fn options(weights: WeightFormat, max_positions: usize) -> RuntimeOptions {
    RuntimeOptions {
        weights,
        max_slots: 4,
        max_positions,
        threads: 2,
        kv: KvFormat::F32,
    }
}

/// An `f32` runtime of 32 positions over `checkpoint(false)`, opened from its directory (kept
/// alive by the caller).
fn f32_runtime() -> (Checkpoint, tempfile::TempDir, NativeRuntime) {
    let checkpoint = checkpoint(false);
    let dir = tempfile::tempdir().unwrap();
    let runtime = NativeRuntime::load(
        &open_hf(&checkpoint, dir.path()),
        options(WeightFormat::F32, 32),
    )
    .unwrap();
    (checkpoint, dir, runtime)
}

/// burn's logits for one sequence, `[seq, vocab]` flattened.
fn burn_logits(model: &Llama, tokens: &[u32]) -> Vec<f32> {
    let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
    let input =
        Tensor::<2, Int>::from_data(TensorData::new(ids, [1, tokens.len()]), &Device::default());
    model
        .forward(input)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

fn burn_model(checkpoint: &Checkpoint) -> Llama {
    Llama::from_checkpoint(checkpoint, &Method::Full, &Device::default()).unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn sequence(len: usize, seed: u64) -> Vec<u32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len)
        .map(|_| rng.random_range(0..VOCAB as u32))
        .collect()
}

/// Runs `tokens` through a fresh slot in one pass, every position's logits.
fn full_pass(runtime: &mut NativeRuntime, tokens: &[u32]) -> Vec<f32> {
    full_pass_on(runtime, None, tokens)
}

/// [`full_pass`] on `adapter`.
fn full_pass_on(runtime: &mut NativeRuntime, adapter: Option<u32>, tokens: &[u32]) -> Vec<f32> {
    let slot = runtime.allocate(adapter).unwrap();
    let logits = runtime
        .forward(&[Chunk {
            slot,
            tokens,
            logits: Logits::All,
        }])
        .unwrap();
    runtime.release(slot);
    logits
}

#[test]
fn phases_are_timed_only_when_asked_and_fit_in_the_passes_time() {
    let (_checkpoint, _dir, mut runtime) = f32_runtime();
    let tokens = sequence(6, 3);
    let slot = runtime.allocate(None).unwrap();
    let pass = |runtime: &mut NativeRuntime, tokens: &[u32]| {
        let chunk = Chunk {
            slot,
            tokens,
            logits: Logits::Last,
        };
        runtime.forward(&[chunk]).unwrap();
    };
    pass(&mut runtime, &tokens[..4]);
    assert_eq!(runtime.phase_times(), None);
    runtime.time_phases(true);
    let started = std::time::Instant::now();
    pass(&mut runtime, &tokens[4..5]);
    pass(&mut runtime, &tokens[5..6]);
    let elapsed = started.elapsed().as_secs_f64();
    let times = runtime.phase_times().unwrap();
    assert_eq!(times.passes, 2);
    // Every phase ran, and the laps add up to no more than the passes took.
    assert!(times.seconds.iter().all(|&s| s > 0.0), "{times:?}");
    assert!(times.seconds.iter().sum::<f64>() <= elapsed);
    runtime.time_phases(false);
    assert_eq!(runtime.phase_times(), None);
}

#[test]
fn f32_logits_match_burn_and_chunks_then_decode_match_one_pass() {
    for tied in [false, true] {
        let checkpoint = checkpoint(tied);
        let dir = tempfile::tempdir().unwrap();
        let mut runtime = NativeRuntime::load(
            &open_hf(&checkpoint, dir.path()),
            options(WeightFormat::F32, 32),
        )
        .unwrap();
        let model = burn_model(&checkpoint);
        let (a, b) = (sequence(12, 1), sequence(7, 2));

        let full = full_pass(&mut runtime, &a);
        let diff = max_abs_diff(&full, &burn_logits(&model, &a));
        assert!(diff < 1e-3, "tied {tied}: max |logit diff| vs burn {diff}");

        // Two sequences in one pass, sequence `a` as chunks of 5 and 4 then 3 single tokens,
        // sequence `b` whole in the second pass.
        let (sa, sb) = (
            runtime.allocate(None).unwrap(),
            runtime.allocate(None).unwrap(),
        );
        let mut chunked = runtime
            .forward(&[Chunk {
                slot: sa,
                tokens: &a[..5],
                logits: Logits::All,
            }])
            .unwrap();
        let both = runtime
            .forward(&[
                Chunk {
                    slot: sa,
                    tokens: &a[5..9],
                    logits: Logits::All,
                },
                Chunk {
                    slot: sb,
                    tokens: &b,
                    logits: Logits::Last,
                },
            ])
            .unwrap();
        chunked.extend_from_slice(&both[..4 * VOCAB]);
        let b_last = &both[4 * VOCAB..];
        for i in 9..12 {
            let step = runtime
                .forward(&[Chunk {
                    slot: sa,
                    tokens: &a[i..i + 1],
                    logits: Logits::Last,
                }])
                .unwrap();
            chunked.extend(step);
        }
        assert_eq!(runtime.positions(sa), 12);
        let diff = max_abs_diff(&chunked, &full);
        assert!(diff < 1e-4, "tied {tied}: chunked vs one pass {diff}");
        let b_full = burn_logits(&model, &b);
        let diff = max_abs_diff(b_last, &b_full[6 * VOCAB..]);
        assert!(diff < 1e-3, "tied {tied}: batched neighbour vs burn {diff}");
    }
}

/// `checkpoint` as a Llama GGUF whose matrices are stored as `format`'s blocks (norms `f32`),
/// q/k rows in llama.cpp's order.
fn write_gguf(checkpoint: &Checkpoint, format: WeightFormat, path: &Path) {
    let c = &checkpoint.config;
    let mut w = GgufWriter::new();
    w.metadata("general.architecture", Value::String("llama".into()));
    for (key, value) in [
        ("block_count", c.num_hidden_layers),
        ("embedding_length", c.hidden_size),
        ("feed_forward_length", c.intermediate_size),
        ("attention.head_count", c.num_attention_heads),
        ("attention.head_count_kv", c.kv_heads()),
        ("context_length", c.max_position_embeddings),
    ] {
        w.metadata(&format!("llama.{key}"), Value::U32(value as u32));
    }
    w.metadata("llama.rope.freq_base", Value::F32(c.rope_theta as f32))
        .metadata(
            "llama.attention.layer_norm_rms_epsilon",
            Value::F32(c.rms_norm_eps as f32),
        );
    for (name, tensor) in &checkpoint.tensors {
        let gguf = attribution_worker::gguf::llama::gguf_name(name).unwrap();
        if tensor.shape.len() == 1 {
            w.f32_tensor(&gguf, &tensor.shape, &tensor.values).unwrap();
            continue;
        }
        let values = if name.ends_with("q_proj.weight") {
            common::llama_cpp_permute(&tensor.values, c.num_attention_heads, tensor.shape[1])
        } else if name.ends_with("k_proj.weight") {
            common::llama_cpp_permute(&tensor.values, c.kv_heads(), tensor.shape[1])
        } else {
            tensor.values.clone()
        };
        let [rows, cols] = [tensor.shape[0], tensor.shape[1]];
        let matrix = QMatrix::quantize(&values, rows, cols, format).unwrap();
        w.tensor(
            &gguf,
            &tensor.shape,
            format.ggml_type().unwrap(),
            matrix.ggml_bytes().unwrap(),
        )
        .unwrap();
    }
    w.write(path).unwrap();
}

#[test]
fn quantized_formats_stay_within_their_documented_bounds() {
    // Bounds on max |logit diff| relative to the largest |logit| (measured: Q8_0 0.16% and
    // 0.31%, Q4 0.16% and 3.4%):
    // - blocks taken as the GGUF stores them, against burn on the same file decoded to f32:
    //   only the 8-bit activations differ;
    // - weights quantized by the runtime from f32, against burn on the f32 weights: the
    //   weights' rounding as well.
    let tokens = sequence(10, 3);
    let checkpoint = checkpoint(true);
    let reference = burn_logits(&burn_model(&checkpoint), &tokens);
    let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (format, activations_bound, weights_bound) in [
        (WeightFormat::Q8_0, 0.005, 0.01),
        (WeightFormat::Q4, 0.005, 0.1),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.gguf");
        write_gguf(&checkpoint, format, &file);
        let weights = ModelWeights::open(&file).unwrap();
        let burn_same_blocks = burn_logits(&burn_model_of(&weights), &tokens);
        let mut runtime = NativeRuntime::load(&weights, options(format, 32)).unwrap();
        let logits = full_pass(&mut runtime, &tokens);
        let activations = max_abs_diff(&logits, &burn_same_blocks) / scale;
        eprintln!("{format:?}: GGUF blocks vs burn on them {activations} (max |logit| {scale})");
        assert!(activations < activations_bound, "{format:?}: {activations}");

        let mut runtime = NativeRuntime::load(
            &open_hf(&checkpoint, &dir.path().join("hf")),
            options(format, 32),
        )
        .unwrap();
        let diff = max_abs_diff(&full_pass(&mut runtime, &tokens), &reference) / scale;
        eprintln!("{format:?}: quantized from f32 vs burn on f32 {diff}");
        assert!(diff < weights_bound, "{format:?}: {diff}");
        assert!(diff > 0.0, "{format:?}: the weights were not quantized");
    }
}

fn burn_model_of(weights: &ModelWeights) -> Llama {
    Llama::from_checkpoint(weights, &Method::Full, &Device::default()).unwrap()
}

#[test]
fn a_fork_continues_from_the_shared_prefix() {
    let (_checkpoint, _dir, mut runtime) = f32_runtime();
    let prompt = sequence(8, 4);
    let full = full_pass(&mut runtime, &prompt);

    let parent = runtime.allocate(None).unwrap();
    runtime
        .forward(&[Chunk {
            slot: parent,
            tokens: &prompt[..6],
            logits: Logits::None,
        }])
        .unwrap();
    let fork = runtime.fork(parent, 4).unwrap();
    assert_eq!((runtime.positions(parent), runtime.positions(fork)), (6, 4));
    let err = runtime.fork(parent, 7).unwrap_err().to_string();
    assert!(err.contains("holds 6"), "{err}");

    // The fork and its parent continue differently in the same pass.
    let logits = runtime
        .forward(&[
            Chunk {
                slot: fork,
                tokens: &prompt[4..],
                logits: Logits::All,
            },
            Chunk {
                slot: parent,
                tokens: &prompt[6..],
                logits: Logits::All,
            },
        ])
        .unwrap();
    let diff = max_abs_diff(&logits[..4 * VOCAB], &full[4 * VOCAB..]);
    assert!(diff < 1e-4, "fork vs one pass {diff}");
    let diff = max_abs_diff(&logits[4 * VOCAB..], &full[6 * VOCAB..]);
    assert!(diff < 1e-4, "parent after the fork {diff}");
}

/// Random factors for `targets` on every layer: `Aᵀ: [r, d_in]`, `B: [r, d_out]`.
fn random_adapter(config: &LlamaConfig, lora: &LoraConfig, seed: u64) -> LoraWeights {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut projections = Vec::new();
    for layer in 0..config.num_hidden_layers {
        for target in lora.validate().unwrap() {
            let [d_in, d_out] = config.projection_shape(target);
            let mut values =
                |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-0.2..0.2)).collect() };
            let (a, b) = (values(d_in * lora.rank), values(lora.rank * d_out));
            projections.push((
                projection_path(layer, target),
                Values::F32(a),
                Values::F32(b),
            ));
        }
    }
    LoraWeights {
        config: lora.clone(),
        projections,
    }
}

/// `checkpoint` with `adapter` folded in: `W[o][i] += scale·Σ_k Aᵀ[k][i]·B[k][o]` (HF layout).
fn merged(checkpoint: &Checkpoint, adapter: &LoraWeights) -> Checkpoint {
    let mut merged = checkpoint.clone();
    let (r, scale) = (adapter.config.rank, adapter.config.scale() as f32);
    for (path, a_t, b) in &adapter.projections {
        let (a_t, b) = (a_t.widened(), b.widened());
        let weight: &mut HostTensor = merged.tensors.get_mut(&format!("{path}.weight")).unwrap();
        let [d_out, d_in] = [weight.shape[0], weight.shape[1]];
        for o in 0..d_out {
            for i in 0..d_in {
                let delta: f32 = (0..r).map(|k| a_t[k * d_in + i] * b[k * d_out + o]).sum();
                weight.values[o * d_in + i] += scale * delta;
            }
        }
    }
    merged
}

#[test]
fn two_adapters_in_one_pass_match_each_merged_alone() {
    let (checkpoint, _dir, mut runtime) = f32_runtime();
    let targets = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let first = random_adapter(
        &checkpoint.config,
        &LoraConfig::new(4, 8.0).with_targets(targets(&["q", "v", "up", "down"])),
        7,
    );
    let second = random_adapter(
        &checkpoint.config,
        &LoraConfig::new(2, 2.0).with_targets(targets(&["k", "o", "gate"])),
        8,
    );
    let (k1, bytes) = runtime.load_adapter(first.clone()).unwrap();
    assert_eq!(
        bytes,
        4 * first
            .projections
            .iter()
            .map(|(_, a, b)| a.len() + b.len())
            .sum::<usize>()
    );
    let (k2, _) = runtime.load_adapter(second.clone()).unwrap();
    let slots = [Some(k1), Some(k2), None].map(|adapter| runtime.allocate(adapter).unwrap());
    let seqs = [sequence(6, 10), sequence(9, 11), sequence(5, 12)];
    let logits = runtime
        .forward(
            &slots
                .iter()
                .zip(&seqs)
                .map(|(&slot, tokens)| Chunk {
                    slot,
                    tokens,
                    logits: Logits::All,
                })
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let mut at = 0;
    for (model, tokens, name) in [
        (burn_model(&merged(&checkpoint, &first)), &seqs[0], "first"),
        (
            burn_model(&merged(&checkpoint, &second)),
            &seqs[1],
            "second",
        ),
        (burn_model(&checkpoint), &seqs[2], "base"),
    ] {
        let expected = burn_logits(&model, tokens);
        let diff = max_abs_diff(&logits[at..at + expected.len()], &expected);
        assert!(diff < 1e-3, "{name}: {diff}");
        at += expected.len();
    }
    // The adapters change the logits (else the test proves nothing).
    let base = burn_logits(&burn_model(&checkpoint), &seqs[0]);
    assert!(max_abs_diff(&logits[..base.len()], &base) > 1e-2);

    let err = runtime.unload_adapter(k1).unwrap_err().to_string();
    assert!(err.contains("in use by slot"), "{err}");
    runtime.release(slots[0]);
    runtime.unload_adapter(k1).unwrap();
    let err = runtime.allocate(Some(k1)).unwrap_err().to_string();
    assert!(err.contains("unknown adapter"), "{err}");
}

#[test]
fn a_sequence_on_an_adapter_is_the_same_bits_whatever_shares_its_pass() {
    // Rows are grouped by adapter and split into tasks of up to four rows: five sequences, three
    // on the first adapter (one task of three rows, then of four with the prompts' rows), one on
    // the second, one on the base, against each run alone, on every instruction set.
    let checkpoint = checkpoint(false);
    let dir = tempfile::tempdir().unwrap();
    let mut runtime = NativeRuntime::load(
        &open_hf(&checkpoint, dir.path()),
        RuntimeOptions {
            max_slots: 5,
            ..options(WeightFormat::Q4, 32)
        },
    )
    .unwrap();
    let (first, _) = runtime
        .load_adapter(random_adapter(
            &checkpoint.config,
            &LoraConfig::new(4, 8.0).on_every_projection(),
            21,
        ))
        .unwrap();
    let (second, _) = runtime
        .load_adapter(random_adapter(
            &checkpoint.config,
            &LoraConfig::new(2, 2.0).with_targets(vec!["k".into(), "up".into(), "down".into()]),
            22,
        ))
        .unwrap();
    let adapters = [Some(first), Some(second), Some(first), None, Some(first)];
    let mut prompts: Vec<Vec<u32>> = (0..5).map(|i| sequence(3 + i, 40 + i as u64)).collect();
    // The base sequence repeats the first's prompt, to show the adapter's effect.
    prompts[3] = prompts[0].clone();
    // Each sequence's prompt then three decode steps, all sequences in one pass per step.
    let run = |runtime: &mut NativeRuntime, which: &[usize]| -> Vec<Vec<f32>> {
        let slots: Vec<_> = which
            .iter()
            .map(|&i| runtime.allocate(adapters[i]).unwrap())
            .collect();
        let mut logits = vec![Vec::new(); which.len()];
        let mut next: Vec<Vec<u32>> = which.iter().map(|&i| prompts[i].clone()).collect();
        for _ in 0..4 {
            let chunks: Vec<Chunk<'_>> = slots
                .iter()
                .zip(&next)
                .map(|(&slot, tokens)| Chunk {
                    slot,
                    tokens,
                    logits: Logits::Last,
                })
                .collect();
            let out = runtime.forward(&chunks).unwrap();
            for ((row, logits), next) in out.chunks_exact(VOCAB).zip(&mut logits).zip(&mut next) {
                logits.extend_from_slice(row);
                // A token that depends on every bit of the logits.
                let bits = row.iter().fold(0u32, |h, v| h.rotate_left(5) ^ v.to_bits());
                *next = vec![bits % VOCAB as u32];
            }
        }
        for slot in slots {
            runtime.release(slot);
        }
        logits
    };
    for isa in Isa::available() {
        runtime.set_isa(isa);
        let together = run(&mut runtime, &[0, 1, 2, 3, 4]);
        for (i, logits) in together.iter().enumerate() {
            assert!(
                run(&mut runtime, &[i]) == [logits.clone()],
                "{isa:?}: sequence {i} alone differs from its batch"
            );
        }
        // The adapter changes the logits (else the test proves nothing).
        assert!(max_abs_diff(&together[0], &together[3]) > 1e-2);
    }
}

#[test]
fn adapter_from_a_peft_file_matches_burn_with_it() {
    let checkpoint = checkpoint(false);
    let device = Device::default();
    let lora = LoraConfig::new(4, 8.0).on_every_projection();
    // Trained-looking adapters: PEFT's random A and a random B (B = 0 would change nothing).
    let model = Llama::from_checkpoint(&checkpoint, &Method::Lora(lora.clone()), &device)
        .unwrap()
        .map_projections(|_, mut projection| {
            if let Some(adapter) = projection.lora.take() {
                let b = Tensor::random(adapter.b.shape(), Distribution::Normal(0.0, 0.1), &device);
                projection.lora = Some(lora.from_factors(adapter.a.val(), b));
            }
            Ok(projection)
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    peft::save_adapter(&model, &lora, None, dir.path()).unwrap();

    let config = PeftConfig::parse(&std::fs::read(dir.path().join(peft::CONFIG_FILE)).unwrap())
        .unwrap()
        .to_lora()
        .unwrap();
    let bytes = std::fs::read(dir.path().join(peft::WEIGHTS_FILE)).unwrap();
    let adapter = LoraWeights::from_peft(&bytes, &config).unwrap();
    assert_eq!(adapter.projections.len(), 2 * TargetModule::ALL.len());

    let mut runtime = NativeRuntime::load(
        &open_hf(&checkpoint, &dir.path().join("hf")),
        options(WeightFormat::F32, 32),
    )
    .unwrap();
    let tokens = sequence(8, 13);
    let logits = adapted_logits(&mut runtime, adapter, &tokens);
    let diff = max_abs_diff(&logits, &burn_logits(&model, &tokens));
    assert!(diff < 1e-3, "{diff}");

    // A file for another rank is refused by name.
    let err = LoraWeights::from_peft(
        &bytes,
        &LoraConfig::new(5, 8.0).with_targets(lora.targets.clone()),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("expected [5, d_in]"), "{err}");
}

/// Every position's logits of `tokens` in a fresh slot on `adapter`, which is loaded for the
/// pass and unloaded after.
fn adapted_logits(runtime: &mut NativeRuntime, adapter: LoraWeights, tokens: &[u32]) -> Vec<f32> {
    let (key, _) = runtime.load_adapter(adapter).unwrap();
    let logits = full_pass_on(runtime, Some(key), tokens);
    runtime.unload_adapter(key).unwrap();
    logits
}

/// `adapter` as the bytes of a PEFT `adapter_model.safetensors` (`lora_B` as `[d_out, r]`)
/// storing `dtype`.
fn peft_bytes(adapter: &LoraWeights, dtype: StoredDtype, dir: &Path) -> Vec<u8> {
    let r = adapter.config.rank;
    let mut tensors = BTreeMap::new();
    for (path, a_t, b) in &adapter.projections {
        let (a_t, b) = (a_t.widened(), b.widened());
        let d_out = b.len() / r;
        let b_stored = (0..d_out * r).map(|i| b[(i % r) * d_out + i / r]).collect();
        for (factor, shape, values) in [
            ("lora_A", vec![r, a_t.len() / r], a_t),
            ("lora_B", vec![d_out, r], b_stored),
        ] {
            tensors.insert(peft::key(path, factor), HostTensor { shape, values });
        }
    }
    let file = dir.join(peft::WEIGHTS_FILE);
    write_safetensors(&tensors, dtype, &file).unwrap();
    std::fs::read(file).unwrap()
}

#[test]
fn sixteen_bit_adapter_files_stay_16_bit_and_give_the_bits_of_their_values() {
    let (checkpoint, dir, mut runtime) = f32_runtime();
    let lora = LoraConfig::new(4, 8.0).on_every_projection();
    let adapter = random_adapter(&checkpoint.config, &lora, 31);
    let tokens = sequence(7, 29);
    for (dtype, stored) in [
        (StoredDtype::F16, Stored::F16),
        (StoredDtype::Bf16, Stored::Bf16),
    ] {
        let narrow =
            LoraWeights::from_peft(&peft_bytes(&adapter, dtype, dir.path()), &lora).unwrap();
        assert!(narrow
            .projections
            .iter()
            .all(|(_, a, b)| a.stored() == stored && b.stored() == stored));
        // The same values widened, as an `f32` file of them is read.
        let wide = LoraWeights {
            config: lora.clone(),
            projections: narrow
                .projections
                .iter()
                .map(|(path, a, b)| {
                    let widen = |v: &Values| Values::F32(v.widened());
                    (path.clone(), widen(a), widen(b))
                })
                .collect(),
        };
        assert!(
            wide.projections != adapter.projections,
            "rounded to 16 bits"
        );
        for isa in Isa::available() {
            runtime.set_isa(isa);
            let (key, narrow_bytes) = runtime.load_adapter(narrow.clone()).unwrap();
            let on_narrow = full_pass_on(&mut runtime, Some(key), &tokens);
            runtime.unload_adapter(key).unwrap();
            let (key, wide_bytes) = runtime.load_adapter(wide.clone()).unwrap();
            let on_wide = full_pass_on(&mut runtime, Some(key), &tokens);
            runtime.unload_adapter(key).unwrap();
            assert_eq!(
                2 * narrow_bytes,
                wide_bytes,
                "{dtype:?} kept in half the memory"
            );
            assert!(on_narrow == on_wide, "{dtype:?} on {isa:?}");
        }
    }
}

#[test]
fn an_adapter_read_into_an_evicted_ones_memory_is_the_same_bits() {
    // Rank 3: no other test here reads factors of these lengths, so the memory kept is this
    // test's alone.
    let (checkpoint, dir, mut runtime) = f32_runtime();
    let lora = LoraConfig::new(3, 6.0).on_every_projection();
    let [first, second] = [21, 22].map(|seed| random_adapter(&checkpoint.config, &lora, seed));
    let [first_file, second_file] =
        [&first, &second].map(|adapter| peft_bytes(adapter, StoredDtype::F32, dir.path()));
    let tokens = sequence(7, 23);
    let logits_on =
        |runtime: &mut NativeRuntime, adapter| adapted_logits(runtime, adapter, &tokens);
    // The file lists projections by name.
    let by_name = |adapter: &LoraWeights| {
        let mut projections = adapter.projections.clone();
        projections.sort_by(|a, b| a.0.cmp(&b.0));
        projections
    };
    keep_spare_up_to(1 << 30);
    // Read into fresh memory: the factors are the file's, and the logits those of the factors
    // handed over directly.
    let fresh = LoraWeights::from_peft(&first_file, &lora).unwrap();
    assert!(fresh.projections == by_name(&first));
    let expected = logits_on(&mut runtime, first.clone());
    assert!(logits_on(&mut runtime, fresh) == expected);
    // The second adapter, loaded then evicted, leaves its memory (holding its own factors) to
    // the next read, which overwrites every value.
    let second = LoraWeights::from_peft(&second_file, &lora).unwrap();
    let second_memory: Vec<*const u8> = second
        .projections
        .iter()
        .flat_map(|(_, a, b)| [a.as_ptr(), b.as_ptr()])
        .collect();
    let on_second = logits_on(&mut runtime, second);
    assert!(on_second != expected, "the adapters differ");
    let reread = LoraWeights::from_peft(&first_file, &lora).unwrap();
    let reused = reread
        .projections
        .iter()
        .flat_map(|(_, a, b)| [a.as_ptr(), b.as_ptr()])
        .filter(|pointer| second_memory.contains(pointer))
        .count();
    assert_eq!(reused, second_memory.len(), "every factor in kept memory");
    assert!(reread.projections == by_name(&first));
    assert!(logits_on(&mut runtime, reread) == expected);
    // A file whose factors are not floats is refused once the kept memory is taken, by name.
    let parsed = SafeTensors::deserialize(&first_file).unwrap();
    let views = parsed.tensors().into_iter().map(|(name, view)| {
        let dtype = match name.ends_with("lora_B.weight") {
            true => Dtype::I32,
            false => view.dtype(),
        };
        let view = TensorView::new(dtype, view.shape().to_vec(), view.data()).unwrap();
        (name, view)
    });
    let integers = safetensors::serialize(views, None).unwrap();
    let err = format!(
        "{:#}",
        LoraWeights::from_peft(&integers, &lora).unwrap_err()
    );
    assert!(err.contains("unsupported dtype I32"), "{err}");
    keep_spare_up_to(0);
}

#[test]
fn a_full_cache_and_unknown_ids_are_errors_that_change_nothing() {
    let checkpoint = checkpoint(true);
    let dir = tempfile::tempdir().unwrap();
    let mut runtime = NativeRuntime::load(
        &open_hf(&checkpoint, dir.path()),
        RuntimeOptions {
            max_slots: 2,
            ..options(WeightFormat::Q8_0, 8)
        },
    )
    .unwrap();
    let tokens = sequence(8, 14);
    let slot = runtime.allocate(None).unwrap();
    runtime
        .forward(&[Chunk {
            slot,
            tokens: &tokens[..6],
            logits: Logits::None,
        }])
        .unwrap();
    let err = runtime
        .forward(&[Chunk {
            slot,
            tokens: &tokens[..3],
            logits: Logits::Last,
        }])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("slot 0 is full: 6 positions + 3 new exceed max_positions 8"),
        "{err}"
    );
    assert_eq!(runtime.positions(slot), 6);
    let last = runtime
        .forward(&[Chunk {
            slot,
            tokens: &tokens[6..],
            logits: Logits::Last,
        }])
        .unwrap();
    assert_eq!(last.len(), VOCAB);

    let other = runtime.allocate(None).unwrap();
    let err = runtime.allocate(None).unwrap_err().to_string();
    assert!(err.contains("all 2 slots are in use"), "{err}");
    let cases: [(&[Chunk<'_>], &str); 4] = [
        (
            &[Chunk {
                slot: 9,
                tokens: &tokens,
                logits: Logits::Last,
            }],
            "unknown slot 9",
        ),
        (
            &[Chunk {
                slot: other,
                tokens: &[VOCAB as u32],
                logits: Logits::Last,
            }],
            "outside the vocabulary",
        ),
        (
            &[Chunk {
                slot: other,
                tokens: &[],
                logits: Logits::Last,
            }],
            "empty chunk",
        ),
        (
            &[
                Chunk {
                    slot: other,
                    tokens: &tokens[..1],
                    logits: Logits::Last,
                },
                Chunk {
                    slot: other,
                    tokens: &tokens[..1],
                    logits: Logits::Last,
                },
            ],
            "appears twice",
        ),
    ];
    for (chunks, expected) in cases {
        let err = runtime.forward(chunks).unwrap_err().to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
    assert_eq!(runtime.positions(other), 0);
    for err in [
        runtime.fork(42, 0).unwrap_err(),
        runtime.allocate(Some(3)).unwrap_err(),
        runtime.unload_adapter(3).unwrap_err(),
    ] {
        let err = err.to_string();
        assert!(
            err.contains("unknown slot 42") || err.contains("unknown adapter 3"),
            "{err}"
        );
    }
    let mut bad = random_adapter(&checkpoint.config, &LoraConfig::new(2, 4.0), 1);
    bad.projections[0].0 = "model.layers.7.self_attn.q_proj".into();
    let err = runtime.load_adapter(bad).unwrap_err().to_string();
    assert!(
        err.contains("no projection `model.layers.7.self_attn.q_proj`"),
        "{err}"
    );
}

/// `n` values drawn uniformly from `-scale..scale`.
fn uniform(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

#[test]
fn scalar_and_simd_kernels_agree() {
    let isa = Isa::detect();
    eprintln!("detected {isa:?}, available {:?}", Isa::available());
    let mut rng = StdRng::seed_from_u64(15);
    // 42 rows: the last group of sixteen rows is partial.
    let (rows, cols, tokens) = (42, 128, 13);
    let (w, x) = (
        uniform(&mut rng, rows * cols, 1.0),
        uniform(&mut rng, tokens * cols, 2.0),
    );
    for format in [WeightFormat::F32, WeightFormat::Q8_0, WeightFormat::Q4] {
        let matrix = QMatrix::quantize(&w, rows, cols, format).unwrap();
        let scalar = matmul(Isa::Scalar, &matrix, &x);
        for simd_isa in Isa::available() {
            let simd = matmul(simd_isa, &matrix, &x);
            let diff = max_abs_diff(&scalar, &simd);
            assert!(diff < 1e-4, "{format:?}: scalar vs {simd_isa:?} {diff}");
            if format != WeightFormat::F32 {
                // The quantized formats' integer sums are exact on every set: the same bits.
                assert!(simd == scalar, "{format:?}: scalar vs {simd_isa:?}");
            }
        }
        // Against the decoded weights in f32: only the activations' 8-bit rounding differs.
        let diff = max_abs_diff(&scalar, &decoded_product(&matrix, &x));
        let bound = if format == WeightFormat::F32 {
            1e-4
        } else {
            0.1
        };
        assert!(diff < bound, "{format:?}: vs decoded weights {diff}");
        let round_trip = QMatrix::from_ggml(
            format.ggml_type().unwrap(),
            &matrix.ggml_bytes().unwrap(),
            rows,
            cols,
        )
        .unwrap();
        assert_eq!(round_trip.dequantize(), matrix.dequantize(), "{format:?}");
        assert!(round_trip.ggml_bytes() == matrix.ggml_bytes(), "{format:?}");
    }

    // The whole model on the scalar path.
    let checkpoint = checkpoint(false);
    let dir = tempfile::tempdir().unwrap();
    let mut runtime = NativeRuntime::load(
        &open_hf(&checkpoint, dir.path()),
        options(WeightFormat::Q4, 32),
    )
    .unwrap();
    let tokens = sequence(9, 16);
    let simd = full_pass(&mut runtime, &tokens);
    runtime.set_isa(Isa::Scalar);
    // The same bits: a juror on any CPU recomputes an attribution exactly.
    let scalar = full_pass(&mut runtime, &tokens);
    let diff = max_abs_diff(&scalar, &simd);
    assert!(scalar == simd, "model: scalar vs {isa:?} {diff}");
}

/// Q8_0 blocks may hold any `i8`, -128 included (ggml's quantizer writes -127..=127, but a file
/// is not bound to it): the kernels store codes as `q + 128` (AVX-512 VNNI) or as `|q|` and its
/// sign (AVX2), and both must give the exact integer sums of the scalar path at the range's ends.
#[test]
fn q8_0_codes_at_the_ends_of_their_range_are_multiplied_exactly() {
    let (rows, cols, tokens) = (19, 96, 9);
    let mut rng = StdRng::seed_from_u64(5);
    let ends = [-128i8, 127, -127, 0, 1, -1];
    let mut bytes = Vec::new();
    for _ in 0..rows * cols / 32 {
        bytes.extend(half::f16::from_f32(rng.random_range(0.001..0.02)).to_le_bytes());
        bytes.extend((0..32).map(|_| ends[rng.random_range(0..ends.len())] as u8));
    }
    let matrix = QMatrix::from_ggml(GgmlType::Q8_0, &bytes, rows, cols).unwrap();
    assert!(
        matrix.ggml_bytes().unwrap() == bytes,
        "the blocks round-trip"
    );
    // Activations whose blocks quantize exactly (multiples of 5/127, each block holding ±5):
    // all 127, all -127 (the largest `Σq` of either sign), or mixed.
    let step = 5.0f32 / 127.0;
    let x: Vec<f32> = (0..tokens * cols)
        .map(|i| match ((i / 32) % 3, i % 32) {
            (0, _) | (2, 0) => 5.0,
            (1, _) => -5.0,
            _ => rng.random_range(-127..=127) as f32 * step,
        })
        .collect();
    let scalar = matmul_on(2, Isa::Scalar, &matrix, &x);
    for isa in Isa::available() {
        assert!(matmul_on(2, isa, &matrix, &x) == scalar, "{isa:?}");
    }
    let diff = max_abs_diff(&scalar, &decoded_product(&matrix, &x));
    assert!(diff < 1e-3, "against the decoded weights: {diff}");
}

/// `W · x` of every token of `x` in `f32` over the decoded weights, in plain loops.
fn decoded_product(w: &QMatrix, x: &[f32]) -> Vec<f32> {
    let dense = w.dequantize();
    x.chunks_exact(w.cols)
        .flat_map(|x| {
            dense
                .chunks_exact(w.cols)
                .map(move |w| w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>())
        })
        .collect()
}

/// `W · x` of every token of `x` (`[tokens, w.cols]`) on `threads` threads.
fn matmul_on(threads: usize, isa: Isa, w: &QMatrix, x: &[f32]) -> Vec<f32> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| matmul(isa, w, x))
}

#[test]
fn a_tokens_product_is_the_same_bits_whatever_shares_its_pass() {
    // 42 rows: the last sixteen-row group of the Q4_1 kernel is partial, and thread counts
    // split the rows differently. 66 blocks a row: two segments of the kernels. 25 tokens: the
    // token tiles are 8 tokens, so the last one holds a lone token, which once took another
    // kernel than its neighbours.
    let isa = Isa::detect();
    let mut rng = StdRng::seed_from_u64(31);
    let (rows, cols, tokens) = (42, 66 * 32, 25);
    let (w, x) = (
        uniform(&mut rng, rows * cols, 1.0),
        uniform(&mut rng, tokens * cols, 2.0),
    );
    for format in [WeightFormat::F32, WeightFormat::Q8_0, WeightFormat::Q4] {
        let matrix = QMatrix::quantize(&w, rows, cols, format).unwrap();
        let alone: Vec<f32> = x
            .chunks_exact(cols)
            .flat_map(|token| matmul_on(1, isa, &matrix, token))
            .collect();
        for threads in [1, 2, 3] {
            let batch = matmul_on(threads, isa, &matrix, &x);
            assert!(
                batch == alone,
                "{format:?}, {threads} threads: a batch differs from its tokens alone"
            );
            // The batch's tail with other tokens before it: the same rows, other positions.
            let tail = matmul_on(threads, isa, &matrix, &x[7 * cols..]);
            assert!(tail == alone[7 * rows..], "{format:?}, {threads} threads");
        }
        if format != WeightFormat::F32 {
            // The quantized formats' scalar path sums in the SIMD kernels' order: the same bits.
            for other in Isa::available() {
                assert!(
                    matmul_on(2, other, &matrix, &x) == alone,
                    "{format:?} {other:?}"
                );
            }
        }
    }
}

// ---- attention knockout (`Runtime::forward_hidden`)

/// Attention weights `[layer][head][position][key]`.
type AttentionWeights = Vec<Vec<Vec<Vec<f64>>>>;

/// The Llama forward pass in plain `f64` loops over `checkpoint`'s tensors, from the
/// definition: the query at position `p` attends to the keys `..=p`, except that queries at
/// `from` and after give the keys in `hidden` zero weight. Every position's logits, and the
/// attention weights (keys `..=position`).
// The layer index names the layer's tensors and its attention weights.
#[allow(clippy::needless_range_loop)]
fn knockout_reference(
    checkpoint: &Checkpoint,
    tokens: &[u32],
    from: usize,
    hidden: &[std::ops::Range<usize>],
) -> (Vec<Vec<f64>>, AttentionWeights) {
    let c = &checkpoint.config;
    let tensor = |name: &str| -> Vec<f64> {
        checkpoint.tensors[name]
            .values
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    };
    // `y = W x` for `W: [rows, x.len()]`.
    let linear = |w: &[f64], x: &[f64]| -> Vec<f64> {
        w.chunks(x.len())
            .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
            .collect()
    };
    let norm = |x: &[f64], gamma: &[f64]| -> Vec<f64> {
        let rms = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64 + c.rms_norm_eps).sqrt();
        x.iter().zip(gamma).map(|(v, g)| v / rms * g).collect()
    };
    let (heads, kv_heads, hd) = (c.num_attention_heads, c.kv_heads(), c.head_dim());
    let rotate = |x: &mut [f64], pos: usize| {
        for head in x.chunks_mut(hd) {
            for i in 0..hd / 2 {
                let angle = pos as f64 * c.rope_theta.powf(-2.0 * i as f64 / hd as f64);
                let (a, b) = (head[i], head[i + hd / 2]);
                head[i] = a * angle.cos() - b * angle.sin();
                head[i + hd / 2] = b * angle.cos() + a * angle.sin();
            }
        }
    };
    let embed = tensor("model.embed_tokens.weight");
    let d = c.hidden_size;
    let mut x: Vec<Vec<f64>> = tokens
        .iter()
        .map(|&t| embed[t as usize * d..(t as usize + 1) * d].to_vec())
        .collect();
    let mut weights =
        vec![vec![vec![vec![0.0; tokens.len()]; tokens.len()]; heads]; c.num_hidden_layers];
    for layer in 0..c.num_hidden_layers {
        let p = |name: &str| tensor(&format!("model.layers.{layer}.{name}.weight"));
        let (wq, wk, wv, wo) = (
            p("self_attn.q_proj"),
            p("self_attn.k_proj"),
            p("self_attn.v_proj"),
            p("self_attn.o_proj"),
        );
        let h: Vec<Vec<f64>> = x.iter().map(|x| norm(x, &p("input_layernorm"))).collect();
        let mut q: Vec<Vec<f64>> = h.iter().map(|h| linear(&wq, h)).collect();
        let mut k: Vec<Vec<f64>> = h.iter().map(|h| linear(&wk, h)).collect();
        let v: Vec<Vec<f64>> = h.iter().map(|h| linear(&wv, h)).collect();
        for pos in 0..tokens.len() {
            rotate(&mut q[pos], pos);
            rotate(&mut k[pos], pos);
        }
        for pos in 0..tokens.len() {
            let seen: Vec<usize> = (0..=pos)
                .filter(|key| pos < from || !hidden.iter().any(|r| r.contains(key)))
                .collect();
            let mut attn = vec![0.0; heads * hd];
            for head in 0..heads {
                let kv = head / (heads / kv_heads) * hd;
                let qh = &q[pos][head * hd..(head + 1) * hd];
                let scores: Vec<f64> = seen
                    .iter()
                    .map(|&key| {
                        let kh = &k[key][kv..kv + hd];
                        qh.iter().zip(kh).map(|(a, b)| a * b).sum::<f64>() / (hd as f64).sqrt()
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (&key, s) in seen.iter().zip(&scores) {
                    let weight = (s - max).exp() / total;
                    weights[layer][head][pos][key] = weight;
                    for i in 0..hd {
                        attn[head * hd + i] += weight * v[key][kv + i];
                    }
                }
            }
            let o = linear(&wo, &attn);
            x[pos].iter_mut().zip(&o).for_each(|(x, o)| *x += o);
        }
        let (gate, up, down) = (p("mlp.gate_proj"), p("mlp.up_proj"), p("mlp.down_proj"));
        for x in &mut x {
            let h = norm(x, &p("post_attention_layernorm"));
            let act: Vec<f64> = linear(&gate, &h)
                .iter()
                .zip(linear(&up, &h))
                .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                .collect();
            x.iter_mut()
                .zip(linear(&down, &act))
                .for_each(|(x, o)| *x += o);
        }
    }
    let head = if c.tie_word_embeddings {
        embed
    } else {
        tensor("lm_head.weight")
    };
    let final_norm = tensor("model.norm.weight");
    let logits = x
        .iter()
        .map(|x| linear(&head, &norm(x, &final_norm)))
        .collect();
    (logits, weights)
}

/// A new slot holding `parts` (one pass each, no logits).
fn prefilled(runtime: &mut NativeRuntime, parts: &[&[u32]]) -> u32 {
    let slot = runtime.allocate(None).unwrap();
    for &tokens in parts {
        runtime
            .forward(&[Chunk {
                slot,
                tokens,
                logits: Logits::None,
            }])
            .unwrap();
    }
    slot
}

/// A prompt of 12 positions in a slot (chunked 5 + 7), scored with `hidden` knockouts.
fn knockout_logits(
    runtime: &mut NativeRuntime,
    prompt: &[u32],
    scored: &[u32],
    hidden: &[Vec<std::ops::Range<usize>>],
) -> Vec<f32> {
    let slot = prefilled(runtime, &[&prompt[..5], &prompt[5..]]);
    let logits = runtime.forward_hidden(slot, scored, hidden).unwrap();
    assert_eq!(
        runtime.positions(slot),
        prompt.len(),
        "the slot is unchanged"
    );
    runtime.release(slot);
    logits
}

#[test]
// Lists of hidden ranges; some hold one range, as intended.
#[allow(clippy::single_range_in_vec_init)]
fn hidden_positions_get_zero_weight_as_the_definition_says() {
    let (checkpoint, _dir, mut runtime) = f32_runtime();
    let prompt = sequence(12, 21);
    let scored = sequence(5, 22);
    let hidden = vec![vec![], vec![2..5], vec![2..5, 8..10], vec![0..12]];
    let logits = knockout_logits(&mut runtime, &prompt, &scored, &hidden);
    assert_eq!(logits.len(), hidden.len() * scored.len() * VOCAB);
    let all: Vec<u32> = prompt.iter().chain(&scored).copied().collect();
    let mut spread = 0.0f32;
    for (ranges, rows) in hidden.iter().zip(logits.chunks(scored.len() * VOCAB)) {
        let (reference, _) = knockout_reference(&checkpoint, &all, prompt.len(), ranges);
        let expected: Vec<f32> = reference[prompt.len()..]
            .iter()
            .flatten()
            .map(|&v| v as f32)
            .collect();
        let diff = max_abs_diff(rows, &expected);
        assert!(diff < 1e-4, "hidden {ranges:?}: {diff} from the definition");
        spread = spread.max(max_abs_diff(rows, &logits[..scored.len() * VOCAB]));
    }
    // Hiding changes the logits (well beyond the tolerance above).
    assert!(spread > 1e-2, "{spread}");

    // Nothing hidden is the plain continuation of the slot, bit for bit.
    let slot = prefilled(&mut runtime, &[&prompt]);
    let plain = runtime
        .forward(&[Chunk {
            slot,
            tokens: &scored,
            logits: Logits::All,
        }])
        .unwrap();
    assert_eq!(plain, logits[..scored.len() * VOCAB]);

    // Bad input changes nothing.
    let err = runtime
        .forward_hidden(slot, &scored, &[vec![3..40]])
        .unwrap_err()
        .to_string();
    assert!(err.contains("not within"), "{err}");
    let err = runtime
        .forward_hidden(slot, &[VOCAB as u32], &[vec![]])
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside the vocabulary"), "{err}");
    assert!(runtime.forward_hidden(99, &scored, &[vec![]]).is_err());
    assert_eq!(runtime.positions(slot), prompt.len() + scored.len());
}

#[test]
// Lists of hidden ranges; some hold one range, as intended.
#[allow(clippy::single_range_in_vec_init)]
fn knockout_logits_are_the_same_bits_on_any_thread_count_and_prefill_chunking() {
    let checkpoint = checkpoint(true);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    write_gguf(&checkpoint, WeightFormat::Q4, &path);
    let weights = ModelWeights::open(&path).unwrap();
    let prompt = sequence(12, 23);
    let scored = sequence(4, 24);
    let hidden = vec![vec![1..4], vec![6..9, 10..11], vec![]];
    let mut by_cache = Vec::new();
    for kv in [KvFormat::F32, KvFormat::F16] {
        let options = |threads| RuntimeOptions {
            threads,
            kv,
            ..options(WeightFormat::Q4, 32)
        };
        let mut logits: Vec<Vec<f32>> = [1, 2, 3, 5]
            .into_iter()
            .map(|threads| {
                let mut runtime = NativeRuntime::load(&weights, options(threads)).unwrap();
                knockout_logits(&mut runtime, &prompt, &scored, &hidden)
            })
            .collect();
        for (threads, other) in [2, 3, 5].iter().zip(&logits[1..]) {
            assert!(
                *other == logits[0],
                "{kv:?}: {threads} threads differ from 1"
            );
        }
        // The prompt in one pass instead of two chunks: the same bits.
        let mut runtime = NativeRuntime::load(&weights, options(2)).unwrap();
        let slot = prefilled(&mut runtime, &[&prompt]);
        assert!(runtime.forward_hidden(slot, &scored, &hidden).unwrap() == logits[0]);
        by_cache.push(logits.swap_remove(0));
    }
    // A half-precision cache rounds the keys and values: other logits, near the f32 cache's.
    let diff = max_abs_diff(&by_cache[0], &by_cache[1]);
    assert!(diff > 0.0 && diff < 1e-2, "f16 cache vs f32 cache: {diff}");
}

// ---- attention capture (`Runtime::forward_attention`, AT2's features)

#[test]
// Lists of ranges; some hold one range, as intended.
#[allow(clippy::single_range_in_vec_init)]
fn captured_attention_is_the_definitions_weight_on_each_range() {
    let (checkpoint, _dir, mut runtime) = f32_runtime();
    let prompt = sequence(12, 31);
    let scored = sequence(5, 32);
    let ranges = [2..5, 8..12, 0..12, 3..3];
    let slot = prefilled(&mut runtime, &[&prompt[..5], &prompt[5..]]);
    let plain = runtime.forward_hidden(slot, &scored, &[vec![]]).unwrap();
    let mass = runtime.forward_attention(slot, &scored, &ranges).unwrap();
    assert_eq!(
        runtime.positions(slot),
        prompt.len(),
        "the slot is unchanged"
    );
    let c = &checkpoint.config;
    let (layers, heads) = (c.num_hidden_layers, c.num_attention_heads);
    assert_eq!(mass.len(), scored.len() * layers * heads * ranges.len());
    let all: Vec<u32> = prompt.iter().chain(&scored).copied().collect();
    let (_, weights) = knockout_reference(&checkpoint, &all, all.len(), &[]);
    let mut worst = 0.0f64;
    for t in 0..scored.len() {
        for layer in 0..layers {
            for head in 0..heads {
                for (r, range) in ranges.iter().enumerate() {
                    let expected: f64 = weights[layer][head][prompt.len() + t][range.clone()]
                        .iter()
                        .sum();
                    let got = mass[((t * layers + layer) * heads + head) * ranges.len() + r];
                    worst = worst.max((f64::from(got) - expected).abs());
                }
            }
        }
    }
    assert!(worst < 1e-5, "{worst} from the definition");
    // The whole cache takes a real share of the rows' attention, and not all of it.
    let whole: Vec<f32> = mass.chunks(ranges.len()).map(|m| m[2]).collect();
    assert!(whole.iter().all(|&w| w > 0.0 && w < 1.0), "{whole:?}");

    // Bad input changes nothing.
    for (tokens, ranges, message) in [
        (&scored[..], &[3..13][..], "not within"),
        (
            &scored[..],
            &[std::ops::Range { start: 5, end: 3 }][..],
            "not within",
        ),
        (&[VOCAB as u32][..], &[0..1][..], "outside the vocabulary"),
        (&[][..], &[0..1][..], "no tokens"),
    ] {
        let err = runtime
            .forward_attention(slot, tokens, ranges)
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{err}");
    }
    assert!(runtime.forward_attention(99, &scored, &ranges).is_err());
    assert_eq!(runtime.positions(slot), prompt.len());
    // Capturing does not change the pass: the same weights again, the same logits after.
    assert!(runtime.forward_attention(slot, &scored, &ranges).unwrap() == mass);
    assert!(runtime.forward_hidden(slot, &scored, &[vec![]]).unwrap() == plain);
}

#[test]
fn captured_attention_is_the_same_bits_on_any_thread_count() {
    let checkpoint = checkpoint(true);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    write_gguf(&checkpoint, WeightFormat::Q4, &path);
    let weights = ModelWeights::open(&path).unwrap();
    let prompt = sequence(12, 33);
    let scored = sequence(4, 34);
    let ranges = [1..4, 6..11];
    let captured: Vec<Vec<f32>> = [1, 2, 3]
        .into_iter()
        .map(|threads| {
            let mut runtime = NativeRuntime::load(
                &weights,
                RuntimeOptions {
                    threads,
                    ..options(WeightFormat::Q4, 32)
                },
            )
            .unwrap();
            let slot = prefilled(&mut runtime, &[&prompt[..7], &prompt[7..]]);
            runtime.forward_attention(slot, &scored, &ranges).unwrap()
        })
        .collect();
    assert!(captured[1] == captured[0] && captured[2] == captured[0]);
}

// ---- NF4 weights (`serve::runtime::nf4`)

/// Widths whose projections are whole blocks of 64 outputs (head_dim 32, two key/value heads).
fn nf4_config() -> LlamaConfig {
    let mut config = LlamaConfig::small(VOCAB, 128, 256, 2, 4, 2);
    config.rope_theta = 100_000.0;
    config.rms_norm_eps = 1e-5;
    config.max_position_embeddings = 64;
    config
}

#[test]
fn nf4_keeps_the_values_qlora_trains_over() {
    // Training quantizes a projection's transpose `[d_in, d_out]`; the runtime takes the
    // Hugging Face layout `[d_out, d_in]` and must hold the very same values.
    let mut rng = StdRng::seed_from_u64(43);
    let (rows, cols) = (192, 70);
    let values = uniform(&mut rng, rows * cols, 0.5);
    let served = QMatrix::quantize(&values, rows, cols, WeightFormat::Nf4)
        .unwrap()
        .dequantize();
    let mut transposed = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            transposed[c * rows + r] = values[r * cols + c];
        }
    }
    let trained = Nf4Matrix::quantize(&transposed, [cols, rows])
        .unwrap()
        .dequantize();
    for r in 0..rows {
        for c in 0..cols {
            assert_eq!(
                served[r * cols + c].to_bits(),
                trained[c * rows + r].to_bits(),
                "weight ({r}, {c})"
            );
        }
    }
    assert!(
        max_abs_diff(&served, &values) > 0.0,
        "nothing was quantized"
    );
}

#[test]
fn nf4_products_are_the_same_bits_on_every_isa_and_whatever_shares_their_pass() {
    // Three projections stacked (as q|k|v are), 70 inputs, 11 tokens: the AVX-512 path's token
    // tiles are 4, so the last one is partial.
    let mut rng = StdRng::seed_from_u64(47);
    let cols = 70;
    let parts: Vec<QMatrix> = [128, 64, 192]
        .into_iter()
        .map(|rows| {
            let values = uniform(&mut rng, rows * cols, 1.0);
            QMatrix::quantize(&values, rows, cols, WeightFormat::Nf4).unwrap()
        })
        .collect();
    let dense: Vec<f32> = parts.iter().flat_map(QMatrix::dequantize).collect();
    let w = QMatrix::stack(parts).unwrap();
    assert_eq!((w.rows, w.format()), (384, WeightFormat::Nf4));
    assert!(w.dequantize() == dense, "stacking moved values");
    assert!(w.bytes() * 7 < dense.len() * 4, "{} bytes", w.bytes());
    let (rows, tokens) = (384, 11);
    let x = uniform(&mut rng, tokens * cols, 2.0);
    let alone: Vec<f32> = x
        .chunks_exact(cols)
        .flat_map(|token| matmul_on(1, Isa::Scalar, &w, token))
        .collect();
    for isa in Isa::available() {
        for threads in [1, 2, 3] {
            assert!(
                matmul_on(threads, isa, &w, &x) == alone,
                "{isa:?}, {threads} threads: not the scalar path's bits alone"
            );
            let tail = matmul_on(threads, isa, &w, &x[7 * cols..]);
            assert!(
                tail == alone[7 * rows..],
                "{isa:?}, {threads} threads: tail"
            );
        }
    }
    // Against the decoded weights, summed in f64.
    let expected: Vec<f32> = x
        .chunks_exact(cols)
        .flat_map(|x| {
            dense.chunks_exact(cols).map(move |w| {
                w.iter()
                    .zip(x)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum::<f64>() as f32
            })
        })
        .collect();
    let diff = max_abs_diff(&alone, &expected);
    assert!(diff < 1e-4, "vs decoded weights: {diff}");
}

#[test]
fn an_nf4_runtime_computes_what_burn_computes_over_qloras_nf4_base() {
    let checkpoint = Checkpoint::random(nf4_config(), 11);
    let dir = tempfile::tempdir().unwrap();
    let weights = open_hf(&checkpoint, dir.path());
    // A fresh adapter adds nothing (`B = 0`): this is QLoRA's base alone.
    let qlora = Method::Qlora(LoraConfig::new(4, 8.0).with_base(QloraBase::Nf4));
    let trained = Llama::from_checkpoint(&weights, &qlora, &Device::default()).unwrap();
    let tokens = sequence(12, 9);
    let reference = burn_logits(&trained, &tokens);
    let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let mut runtime = NativeRuntime::load(&weights, options(WeightFormat::Nf4, 32)).unwrap();
    let served = full_pass(&mut runtime, &tokens);
    let diff = max_abs_diff(&served, &reference) / scale;
    assert!(diff < 1e-4, "NF4 runtime vs burn over NF4: {diff}");
    // And the projections were quantized: burn over the f32 base answers otherwise.
    let f32_diff = max_abs_diff(&served, &burn_logits(&burn_model(&checkpoint), &tokens)) / scale;
    eprintln!("NF4 runtime vs burn: over NF4 {diff}, over f32 {f32_diff}");
    assert!(f32_diff > 10.0 * diff, "vs f32 {f32_diff}, vs NF4 {diff}");
}

#[test]
fn nf4_refuses_a_projection_of_partial_blocks() {
    // `config`'s key/value projections have 32 outputs: half an NF4 block.
    let dir = tempfile::tempdir().unwrap();
    let weights = open_hf(&checkpoint(false), dir.path());
    let error = NativeRuntime::load(&weights, options(WeightFormat::Nf4, 32))
        .err()
        .expect("refused");
    let message = format!("{error:#}");
    assert!(message.contains("blocks of 64 outputs"), "{message}");
}
