//! The daemon's held-out evaluation: greedy completions from the serving runtime (KV cache, the
//! adapter unmerged, every row in one batch) against the training model's own token-by-token
//! generation, on the small generated checkpoint.

mod common;

use attribution_worker::checkpoint::ModelWeights;
use attribution_worker::data::{load_tokenizer, Encoded, Example};
use attribution_worker::eval::{
    evaluate, evaluate_base_and_adapted, evaluate_with_runtime, generate, greedy_batch, Generation,
    Scored,
};
use attribution_worker::lora::LoraConfig;
use attribution_worker::model::Llama;
use attribution_worker::peft;
use attribution_worker::serve::runtime::{
    KvFormat, LoraWeights, NativeRuntime, Runtime, RuntimeOptions, WeightFormat,
};
use attribution_worker::synthetic::{EOS, PAD};
use attribution_worker::tuning::Method;
use burn::tensor::{Device, Tensor, TensorData};
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

const MAX_NEW_TOKENS: usize = 12;

fn generation() -> Generation {
    Generation {
        max_new_tokens: MAX_NEW_TOKENS,
        eos: Some(EOS),
        pad: PAD,
    }
}

/// Held-out rows of the synthetic task with their tokenizations, row `i` without its first `i`
/// prompt tokens (at least one kept), so prompts have different lengths.
fn held_out(dir: &Path) -> (Vec<Example>, Vec<Encoded>) {
    let examples = TASK.examples(6, 21);
    let encoded = staggered(encoded(dir, 6, 21));
    let lengths: std::collections::BTreeSet<usize> = encoded.iter().map(|e| e.prompt_len).collect();
    assert!(
        lengths.len() > 1,
        "prompts of different lengths: {lengths:?}"
    );
    (examples, encoded)
}

/// Factors drawn from `rng` (burn's own generator is shared by the tests of a process).
fn factor(shape: [usize; 2], std: f32, rng: &mut StdRng, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..shape[0] * shape[1])
        .map(|_| rng.random_range(-std..std))
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A LoRA adapter with seeded random factors (a fresh adapter's `B = 0` would change nothing),
/// saved as PEFT files in `dir/adapter`; returns the burn model carrying it and the runtime's
/// copy read back from the files.
fn adapter(dir: &Path, device: &Device) -> (Llama, LoraWeights) {
    let lora = LoraConfig::new(4, 8.0).with_targets(["q", "v", "down"].map(String::from).to_vec());
    let mut rng = StdRng::seed_from_u64(17);
    let model = load(dir, &Method::Lora(lora.clone()), device)
        .map_projections(|_, mut projection| {
            if let Some(adapter) = projection.lora.take() {
                let a = factor(adapter.a.shape().dims(), 0.5, &mut rng, device);
                let b = factor(adapter.b.shape().dims(), 0.5, &mut rng, device);
                projection.lora = Some(lora.from_factors(a, b));
            }
            Ok(projection)
        })
        .unwrap();
    let adapter_dir = dir.join("adapter");
    peft::save_adapter(&model, &lora, None, &adapter_dir).unwrap();
    let bytes = std::fs::read(adapter_dir.join(peft::WEIGHTS_FILE)).unwrap();
    (model, LoraWeights::from_peft(&bytes, &lora).unwrap())
}

/// Each row's runtime completion, base and adapted decoded in one batch, is the training
/// model's own greedy generation of that row alone.
#[test]
fn runtime_completions_are_the_training_models_greedy_ones() {
    let dir = model_dir();
    let device = Device::default();
    let (_, encoded) = held_out(dir.path());
    let base = load(dir.path(), &Method::Full, &device);
    let (adapted, lora_weights) = adapter(dir.path(), &device);

    let weights = ModelWeights::open(dir.path()).unwrap();
    let mut runtime = NativeRuntime::load(
        &weights,
        RuntimeOptions {
            weights: WeightFormat::F32,
            max_slots: 2 * encoded.len(),
            max_positions: 64,
            threads: 2,
            kv: KvFormat::F32,
        },
    )
    .unwrap();
    let (key, _) = runtime.load_adapter(lora_weights.clone()).unwrap();
    let prompts: Vec<&[u32]> = encoded.iter().map(|e| &e.tokens[..e.prompt_len]).collect();
    let requests: Vec<_> = [None, Some(key)]
        .into_iter()
        .flat_map(|adapter| prompts.iter().map(move |&p| (adapter, p)))
        .collect();
    let batched = greedy_batch(&mut runtime, &requests, generation()).unwrap();

    let mut old = Vec::new();
    for model in [&base, &adapted] {
        for prompt in &prompts {
            old.push(generate(model, prompt, MAX_NEW_TOKENS, Some(EOS), &device));
        }
    }
    assert_eq!(batched, old);
    let (base_rows, adapted_rows) = batched.split_at(prompts.len());
    assert!(base_rows.iter().any(|c| !c.is_empty()), "{base_rows:?}");
    assert_ne!(
        base_rows, adapted_rows,
        "the adapter changes the completions"
    );
    assert!(batched.iter().all(|c| c.len() <= MAX_NEW_TOKENS));
    // Every slot is freed: the runtime holds as many sequences again.
    let again = greedy_batch(&mut runtime, &requests, generation()).unwrap();
    assert_eq!(again, batched);
}

/// The daemon's evaluation gives the old path's ROUGE (same completions) beside the caller's
/// losses, and the same bits whether the base is scored with the adapted model or alone, as a
/// challenger re-running `verify` needs.
#[test]
fn runtime_evaluation_matches_the_old_path_and_repeats_bit_for_bit() {
    let dir = model_dir();
    let device = Device::default();
    let (examples, encoded) = held_out(dir.path());
    let tokenizer = load_tokenizer(&dir.path().join("tokenizer.json")).unwrap();
    let base = load(dir.path(), &Method::Full, &device);
    let (adapted, lora_weights) = adapter(dir.path(), &device);
    let old = |model| {
        evaluate(
            model,
            &tokenizer,
            &examples,
            &encoded,
            generation(),
            &device,
        )
        .unwrap()
    };
    let (old_base, old_adapted) = (old(&base), old(&adapted));

    let weights = ModelWeights::open(dir.path()).unwrap();
    let models = [
        Scored {
            loss: old_base.loss,
            adapter: None,
        },
        Scored {
            loss: old_adapted.loss,
            adapter: Some(&lora_weights),
        },
    ];
    let run = |models: &[Scored<'_>]| {
        evaluate_with_runtime(
            &weights,
            &tokenizer,
            &examples,
            &encoded,
            generation(),
            models,
        )
        .unwrap()
    };
    let reports = run(&models);
    assert_eq!(reports, [old_base, old_adapted]);
    assert_ne!(old_base.rouge_l, old_adapted.rouge_l);
    assert_eq!(run(&models), reports);
    assert_eq!(run(&models[..1]), reports[..1]);
    // The daemon's pair is the same run.
    let pair = evaluate_base_and_adapted(
        &weights,
        &tokenizer,
        &examples,
        &encoded,
        generation(),
        (old_base.loss, old_adapted.loss),
        &lora_weights,
    )
    .unwrap();
    assert_eq!(pair, (reports[0], reports[1]));
}
