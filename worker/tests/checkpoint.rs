mod common;

use attribution_worker::checkpoint::{Checkpoint, StoredDtype};
use attribution_worker::data::load_tokenizer;
use attribution_worker::model::Llama;
use attribution_worker::tuning::Method;
use burn::tensor::Device;
use common::*;

#[test]
fn half_precision_checkpoints_load_close_to_f32() {
    let device = Device::default();
    let f32_dir = tempfile::tempdir().unwrap();
    write_model(f32_dir.path(), StoredDtype::F32);
    let reference = logits(&load(f32_dir.path(), &Method::Full, &device), &device);
    for dtype in [StoredDtype::F16, StoredDtype::Bf16] {
        let dir = tempfile::tempdir().unwrap();
        write_model(dir.path(), dtype);
        let logits = logits(&load(dir.path(), &Method::Full, &device), &device);
        assert!(max_abs_diff(&reference, &logits) < 1e-2, "{dtype:?}");
    }
}

#[test]
fn saved_weights_load_back_unchanged() {
    let dir = model_dir();
    let checkpoint = Checkpoint::load(dir.path()).unwrap();
    let model = Llama::from_checkpoint(&checkpoint, &Method::Full, &Device::default()).unwrap();
    let written = model.to_checkpoint(&checkpoint.config);
    assert_eq!(written.tensors, checkpoint.tensors);
}

#[test]
fn tokenizer_json_round_trips() {
    let dir = model_dir();
    let tokenizer = load_tokenizer(&dir.path().join("tokenizer.json")).unwrap();
    let ids = tokenizer
        .encode("w3 w0 =", false)
        .unwrap()
        .get_ids()
        .to_vec();
    assert_eq!(ids, [8, 5, 4]);
    assert_eq!(tokenizer.decode(&ids, true).unwrap(), "w3 w0 =");
}

#[test]
fn mismatched_shapes_are_refused() {
    let dir = model_dir();
    let mut checkpoint = Checkpoint::load(dir.path()).unwrap();
    checkpoint.config.intermediate_size = 48;
    let err = Llama::from_checkpoint(&checkpoint, &Method::Full, &Device::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "checkpoint tensor `model.layers.0.mlp.gate_proj.weight` has shape [64, 32], but config.json implies [48, 32]"
    );
    checkpoint.config.intermediate_size = 64;
    checkpoint.config.num_key_value_heads = Some(3);
    let err = Llama::from_checkpoint(&checkpoint, &Method::Full, &Device::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("must be a multiple of num_key_value_heads (3)"),
        "{err}"
    );
}
