mod common;

use attribution_worker::checkpoint::{read_safetensors, Checkpoint};
use attribution_worker::ptuning::PrefixConfig;
use attribution_worker::train::TrainConfig;
use attribution_worker::tuning::Method;
use burn::tensor::Device;
use common::*;

fn mean(xs: &[f32]) -> f32 {
    xs.iter().sum::<f32>() / xs.len() as f32
}

/// Trains `method` for 60 steps and checks the loss of the last five steps is clearly lower
/// than that of the first five.
fn loss_decreases(method: Method, learning_rate: f64) {
    let dir = model_dir();
    let device = Device::default().autodiff();
    let (_, report) = train_on_task(
        dir.path(),
        &method,
        64,
        &quick(60, learning_rate),
        None,
        &device,
    );
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
fn each_method_writes_what_it_trains() {
    let dir = model_dir();
    let device = Device::default().autodiff();
    let cases = [
        (
            Method::PTuning(PrefixConfig::default().with_length(4)),
            "prefix.safetensors",
        ),
        (Method::Full, "model.safetensors"),
    ];
    for (method, file) in cases {
        let out = tempfile::tempdir().unwrap();
        let (_, report) = train_on_task(
            dir.path(),
            &method,
            8,
            &quick(1, 1e-3),
            Some(out.path()),
            &device,
        );
        assert_eq!(
            report.checkpoints[0].path,
            out.path().join("checkpoint-1").join(file)
        );
        let tensors = read_safetensors(&report.checkpoints[0].path).unwrap();
        match method {
            // [kv_heads, length, head_dim]
            Method::PTuning(_) => {
                assert_eq!(
                    tensors["model.layers.1.self_attn.prefix_value"].shape,
                    [2, 4, 8]
                );
                assert_eq!(tensors.len(), 2 * 2);
            }
            _ => {
                let checkpoint = Checkpoint::load(&out.path().join("checkpoint-1")).unwrap();
                assert_eq!(checkpoint.config, common::config());
                assert_eq!(checkpoint.tensors.len(), tensors.len());
            }
        }
    }
}
