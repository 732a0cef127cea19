//! The binary end to end: train from a job file, evaluate the adapter, merge it.

mod common;

use attribution_worker::checkpoint::Checkpoint;
use attribution_worker::model::Llama;
use attribution_worker::peft;
use attribution_worker::tuning::Method;
use burn::tensor::Device;
use common::*;
use std::process::Command;

const JOB_METHOD: &str = r#"
[method]
kind = "lora"
rank = 2
alpha = 4.0
targets = ["q", "k", "v", "o", "gate", "up", "down"]

[train]
steps = 3
batch_size = 4
learning_rate = 0.01
"#;

fn worker(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_attribution-worker"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn train_eval_and_merge_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let job = write_job(dir.path(), &job_toml(JOB_METHOD));
    let out = dir.path().join("run");
    let report: serde_json::Value = serde_json::from_str(&worker(&[
        "train",
        "--config",
        job.to_str().unwrap(),
        "--steps",
        "2",
        "--output-dir",
        out.to_str().unwrap(),
        "--quiet",
    ]))
    .unwrap();
    assert_eq!(report["train"]["losses"].as_array().unwrap().len(), 2);
    assert!(report["eval"]["rouge_l"].is_number());

    let model = dir.path().join("model");
    let adapter = out.join("checkpoint-2");
    let with_adapter = |command: &str, rest: [&str; 2]| {
        let mut args = vec![command, "--model-dir", model.to_str().unwrap()];
        args.extend(["--adapter", adapter.to_str().unwrap()]);
        args.extend(rest);
        worker(&args)
    };
    let data = dir.path().join("train.jsonl");
    let eval: serde_json::Value =
        serde_json::from_str(&with_adapter("eval", ["--data", data.to_str().unwrap()])).unwrap();
    assert!(eval["perplexity"].as_f64().unwrap() > 1.0);

    let merged = dir.path().join("merged");
    with_adapter("merge", ["--output-dir", merged.to_str().unwrap()]);
    let device = Device::default();
    let base =
        Llama::from_checkpoint(&Checkpoint::load(&model).unwrap(), &Method::Full, &device).unwrap();
    let (adapted, _) = peft::load_adapter(base, &adapter).unwrap();
    let merged =
        Llama::from_checkpoint(&Checkpoint::load(&merged).unwrap(), &Method::Full, &device)
            .unwrap();
    assert!(max_abs_diff(&logits(&adapted, &device), &logits(&merged, &device)) < 1e-5);
}
