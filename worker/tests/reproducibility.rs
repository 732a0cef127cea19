//! Alone in its binary: burn's random generator is per device and shared by the threads of a
//! test process, so a concurrent test would interleave its draws with this run's.

mod common;

use attribution_worker::peft;
use attribution_worker::train::TrainConfig;
use attribution_worker::tuning::Method;
use burn::module::Module;
use burn::tensor::Device;
use common::*;

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
        device.seed(3);
        train_on_task(dir.path(), &method, 32, &config, Some(out), &device)
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
