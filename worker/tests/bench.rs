//! The benchmark harnesses run every method end to end, the synthetic one in this process and
//! the real-checkpoint one (`bench train --model`) through the binary on a tiny checkpoint
//! (timings are not asserted: they belong to `attribution-worker bench train` in release mode).

mod common;

use attribution_worker::bench::plan::{Plan, PlanSettings};
use attribution_worker::bench::{run, BenchConfig};
use attribution_worker::checkpoint::{Checkpoint, StoredDtype};
use attribution_worker::data::Batch;
use attribution_worker::memory::PeakAllocator;
use attribution_worker::model::Llama;
use attribution_worker::train::{masked_loss, Trainer};
use attribution_worker::tuning::Method;
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::process::Command;

#[test]
fn bench_measures_every_method() {
    let config = BenchConfig {
        hidden: 32,
        intermediate: 64,
        layers: 1,
        heads: 4,
        kv_heads: 2,
        words: 40,
        prompt_words: 4,
        batch_size: 2,
        steps: 1,
        warmup: 1,
        rank: 4,
        alpha: 8.0,
        prefix_length: 8,
        quality_steps: 2,
        pretrain_steps: 2,
    };
    let report = run(&config, &PeakAllocator::new(), &Device::default()).unwrap();
    let methods: Vec<&str> = report.speed.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        ["full", "lora", "builtin-lora", "qlora", "p-tuning-v2"]
    );
    let params = |m: &str| {
        report
            .speed
            .iter()
            .find(|r| r.method == m)
            .unwrap()
            .trainable_params
    };
    assert_eq!(params("lora"), params("qlora"));
    assert!(params("lora") < params("full") / 4);
    assert!(params("builtin-lora") > 0);
    assert!((report.nf4_projection_bytes as f64) < 0.14 * report.f32_projection_bytes as f64);
    assert!(report
        .markdown()
        .contains("| LoRA step / full fine-tuning step |"));
    assert_eq!(report.quality.len(), 3);
}

/// The batches a plan lists for the peer are the ones our trainer draws: at a learning rate too
/// small to move an `f32` weight, each step's loss is the base model's loss on the plan's batch
/// of that step (over two epochs of a shuffled pool, so the reshuffle is covered too).
#[test]
fn plan_batches_are_the_batches_our_trainer_draws() {
    let dir = common::model_dir();
    let rows = common::encoded(dir.path(), 7, 3);
    let settings = PlanSettings {
        model: dir.path().to_path_buf(),
        threads: 1,
        batch_size: 3,
        cutoff: 32,
        warmup: 1,
        steps: 4,
        rank: 4,
        alpha: 8.0,
        prefix_length: 4,
        learning_rate: 1e-20,
    };
    let plan = Plan::new(settings, &rows, common::special().pad).unwrap();
    assert_eq!(plan.batches.len(), 5);
    let device = Device::default();
    let checkpoint = Checkpoint::load(dir.path()).unwrap();
    let base = Llama::from_checkpoint(&checkpoint, &Method::Full, &device).unwrap();
    let expected: Vec<f32> = plan
        .batches
        .iter()
        .map(|b| {
            let shape = [b.inputs.len(), b.inputs[0].len()];
            let ints = |v: &Vec<Vec<i64>>| {
                Tensor::<2, Int>::from_data(TensorData::new(v.concat(), shape), &device)
            };
            let mask: Vec<f32> = b.mask.concat();
            let batch = Batch {
                inputs: ints(&b.inputs),
                targets: ints(&b.targets),
                trained_tokens: mask.iter().filter(|m| **m > 0.0).count(),
                mask: Tensor::from_data(TensorData::new(mask, shape), &device),
            };
            masked_loss(base.forward(batch.inputs.clone()), &batch).into_scalar::<f32>()
        })
        .collect();

    let autodiff = device.autodiff();
    let model = Llama::from_checkpoint(&checkpoint, &Method::Full, &autodiff).unwrap();
    let encoded = plan.encoded();
    let mut trainer =
        Trainer::new(model, &encoded, plan.pad, &plan.train_config(), &autodiff).unwrap();
    let losses: Vec<f32> = (0..plan.batches.len())
        .map(|_| trainer.step().loss)
        .collect();
    for (step, (ours, planned)) in losses.iter().zip(&expected).enumerate() {
        assert!(
            (ours - planned).abs() < 1e-4,
            "step {step}: trainer {ours}, plan {planned}"
        );
    }
    let distinct = expected.iter().any(|l| (l - expected[0]).abs() > 1e-3);
    assert!(distinct, "the batches should differ: {expected:?}");
}

/// Six packages in dpkg's format.
const PACKAGES: &str =
    "Package: alpha\nDescription: first package\n The first of several. It is long.\n\n\
Package: beta\nDescription: second package\n The second one.\n\n\
Package: gamma\nDescription: third package\n\n\
Package: delta\nDescription: fourth package\n Four words of text.\n\n\
Package: epsilon\nDescription: fifth package\n The fifth.\n\n\
Package: zeta\nDescription: sixth package\n The last.\n";

/// `bench train --model` on a tiny checkpoint (no peer): every method runs in its own process
/// each round, and the report carries step times, memory, matmul rates and ratios.
#[test]
fn real_checkpoint_bench_runs_every_method_in_its_own_process() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(&dir.path().join("model"), StoredDtype::F32);
    std::fs::write(dir.path().join("packages"), PACKAGES).unwrap();
    let json = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_attribution-worker"))
        .args(["bench", "train", "--model"])
        .arg(dir.path().join("model"))
        .arg("--packages")
        .arg(dir.path().join("packages"))
        .args([
            "--batch-size",
            "2",
            "--warmup",
            "1",
            "--steps",
            "2",
            "--rounds",
            "2",
        ])
        .args([
            "--cutoff",
            "12",
            "--rank",
            "4",
            "--alpha",
            "8",
            "--prefix-length",
            "4",
        ])
        .args(["--threads", "1", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let results = report["results"].as_array().unwrap();
    let methods: Vec<&str> = results
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["full", "lora", "qlora", "p-tuning-v2"]);
    for r in results {
        assert_eq!(r["engine"], "ours");
        assert_eq!(r["steps"], 4, "2 rounds of 2 timed steps: {r}");
        let (p25, median, p75) = (
            r["step_ms_p25"].as_f64().unwrap(),
            r["step_ms"].as_f64().unwrap(),
            r["step_ms_p75"].as_f64().unwrap(),
        );
        assert!(0.0 < p25 && p25 <= median && median <= p75, "{r}");
        assert!(r["peak_rss_bytes"].as_u64().unwrap() > 1 << 20, "{r}");
        assert!(r["peak_heap_bytes"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["losses"].as_array().unwrap().len(), 3, "{r}");
    }
    let figure = |method: &str, field: &str| {
        results.iter().find(|r| r["method"] == method).unwrap()[field].clone()
    };
    assert_eq!(
        figure("lora", "trainable_params"),
        figure("qlora", "trainable_params")
    );
    // A fresh adapter (B = 0) leaves the base model as it is: LoRA's first loss is full
    // fine-tuning's, on the same first batch.
    let first = |method: &str| figure(method, "losses")[0].as_f64().unwrap();
    assert!((first("lora") - first("full")).abs() < 1e-5);
    assert!((first("qlora") - first("full")).abs() < 0.05 * first("full"));

    assert_eq!(report["rows"], 6, "batch 2 × (1 + 2) steps");
    let tokens = report["tokens_per_step"].as_u64().unwrap();
    assert!(tokens > 0 && tokens <= 2 * 11);
    let matmul = report["matmul"].as_array().unwrap();
    assert_eq!(matmul.len(), 1 + 7 + 3);
    assert!(matmul.iter().all(|m| m["gflops"].as_f64().unwrap() > 0.0));
    let ratios: Vec<&str> = report["ratios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(ratios.contains(&"QLoRA step / our LoRA step"), "{ratios:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("| method | engine | step ms (median) |"),
        "{stdout}"
    );
    assert!(stdout.contains("sustained"), "{stdout}");
}

#[test]
fn influence_bench_refuses_counts_that_would_measure_nothing() {
    for (flag, value) in [
        ("--cost-answers", "0"),
        ("--cost-rows", "1"),
        ("--cost-threads", "0"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_attribution-worker"))
            .args([
                "bench",
                "influence",
                "--model",
                "/nonexistent.gguf",
                flag,
                value,
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
    }
}
