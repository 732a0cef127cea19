mod common;

use attribution_worker::job::Job;
use burn::tensor::Device;
use common::*;

const JOB_METHOD: &str = r#"
[method]
kind = "qlora"
rank = 4
alpha = 8.0
targets = ["q", "v"]

[train]
steps = 4
batch_size = 2
grad_accumulation = 2
checkpoint_every = 2
progress = false
"#;

fn job() -> String {
    job_toml(JOB_METHOD)
}

#[test]
fn a_job_trains_evaluates_and_writes_hashed_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let job = Job::load(&write_job(dir.path(), &job())).unwrap();
    let report = job.run(&Device::default()).unwrap();
    assert_eq!(report.train.losses.len(), 4);
    assert_eq!(report.train.checkpoints.len(), 2);
    for record in &report.train.checkpoints {
        assert_eq!(
            record.hash,
            attribution_worker::artifact::hash_file(&record.path).unwrap()
        );
        assert!(record.path.ends_with("adapter_model.safetensors"));
    }
    let eval = report.eval.unwrap();
    assert!(eval.loss.is_finite() && (0.0..=100.0).contains(&eval.rouge_l));
    assert!(dir.path().join("out/metrics.json").exists());
    assert!(dir
        .path()
        .join("out/checkpoint-4/adapter_config.json")
        .exists());
}

#[test]
fn bad_job_files_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_job(dir.path(), &job().replace("rank = 4", "rank = 0"));
    assert!(Job::load(&path)
        .unwrap_err()
        .to_string()
        .contains("LoRA rank must be at least 1"));
    std::fs::write(&path, job().replace("[\"q\", \"v\"]", "[\"q\", \"qkv\"]")).unwrap();
    assert!(Job::load(&path)
        .unwrap_err()
        .to_string()
        .contains("unknown LoRA target module `qkv`"));
    std::fs::write(
        &path,
        job().replace("kind = \"qlora\"", "kind = \"prefix\""),
    )
    .unwrap();
    let err = format!("{:#}", Job::load(&path).unwrap_err());
    assert!(err.contains("unknown variant `prefix`"), "{err}");
    std::fs::write(&path, job()).unwrap();
    std::fs::write(dir.path().join("train.jsonl"), "{\"prompt\": 1}\n").unwrap();
    let err = format!(
        "{:#}",
        Job::load(&path)
            .unwrap()
            .run(&Device::default())
            .unwrap_err()
    );
    assert!(err.contains("JSONL line 1"), "{err}");
}
