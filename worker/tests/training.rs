mod common;

use attribution_worker::lora::LoraConfig;
use attribution_worker::peft;
use attribution_worker::ptuning::PrefixConfig;
use attribution_worker::synthetic::PAD;
use attribution_worker::train::{train, Output, TrainConfig};
use attribution_worker::tuning::Method;
use burn::module::Module;
use burn::tensor::Device;
use common::*;

fn quick(steps: usize, learning_rate: f64) -> TrainConfig {
    TrainConfig {
        steps,
        batch_size: 8,
        learning_rate,
        warmup_steps: 2,
        progress: false,
        ..TrainConfig::default()
    }
}

fn lora() -> LoraConfig {
    LoraConfig::new(4, 8.0).with_targets(["q", "v", "up", "down"].map(String::from).to_vec())
}

fn mean(xs: &[f32]) -> f32 {
    xs.iter().sum::<f32>() / xs.len() as f32
}

/// Trains `method` for 60 steps and checks the loss of the last five steps is clearly lower
/// than that of the first five.
fn loss_decreases(method: Method, learning_rate: f64) {
    let dir = model_dir();
    let device = Device::default().autodiff();
    let model = load(dir.path(), &method, &device);
    let (_, report) = train(
        model,
        &method,
        &encoded(dir.path(), 64, 1),
        PAD,
        &quick(60, learning_rate),
        None,
        &device,
    )
    .unwrap();
    let (first, last) = (mean(&report.losses[..5]), mean(&report.losses[55..]));
    assert!(last < 0.9 * first, "{}: {first} -> {last}", method.name());
}

#[test]
fn lora_loss_decreases() {
    loss_decreases(Method::Lora(lora()), 2e-2);
}

#[test]
fn qlora_loss_decreases() {
    loss_decreases(Method::Qlora(lora()), 2e-2);
}

#[test]
fn p_tuning_loss_decreases() {
    // Prefixes move the output only through attention, so they take a larger step.
    loss_decreases(
        Method::PTuning(PrefixConfig::default().with_length(8)),
        1e-1,
    );
}

#[test]
fn full_fine_tuning_loss_decreases() {
    loss_decreases(Method::Full, 2e-2);
}

#[test]
fn learning_rate_warms_up_then_decays_to_zero() {
    let config = TrainConfig {
        steps: 10,
        warmup_steps: 2,
        learning_rate: 1.0,
        ..TrainConfig::default()
    };
    let rates: Vec<f64> = (0..10).map(|s| config.learning_rate_at(s)).collect();
    assert_eq!(&rates[..3], &[0.5, 1.0, 1.0]);
    assert!(rates.windows(2).skip(2).all(|w| w[1] < w[0]));
    assert!((config.learning_rate_at(10)).abs() < 1e-12);
}

#[test]
fn checkpoints_are_peft_adapters_with_hashes_and_runs_are_reproducible() {
    let dir = model_dir();
    let device = Device::default().autodiff();
    let method = Method::Lora(lora());
    let config = TrainConfig {
        checkpoint_every: 2,
        ..quick(4, 2e-2)
    };
    let run = |out: &std::path::Path| {
        let output = Output {
            dir: out.to_path_buf(),
            model_config: common::config(),
            base_model: None,
        };
        device.seed(3);
        let model = load(dir.path(), &method, &device);
        train(
            model,
            &method,
            &encoded(dir.path(), 32, 1),
            PAD,
            &config,
            Some(&output),
            &device,
        )
        .unwrap()
    };
    let (out_a, out_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (trained, report) = run(out_a.path());
    let (_, again) = run(out_b.path());
    let steps: Vec<usize> = report.checkpoints.iter().map(|c| c.step).collect();
    assert_eq!(steps, [2, 4]);
    let hashes = |r: &attribution_worker::train::TrainReport| {
        r.checkpoints
            .iter()
            .map(|c| c.hash.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        hashes(&report),
        hashes(&again),
        "same seed, same checkpoints"
    );
    assert_ne!(report.checkpoints[0].hash, report.checkpoints[1].hash);

    // The last checkpoint is a PEFT adapter that loads back to the same model.
    let adapter_dir = out_a.path().join("checkpoint-4");
    let infer = Device::default();
    let (reloaded, config) =
        peft::load_adapter(load(dir.path(), &Method::Full, &infer), &adapter_dir).unwrap();
    assert_eq!(config.targets, ["q_proj", "v_proj", "up_proj", "down_proj"]);
    let expected = logits(&trained.valid(), &infer);
    assert!(max_abs_diff(&expected, &logits(&reloaded, &infer)) < 1e-5);
}
