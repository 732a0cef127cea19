mod common;

use attribution_worker::lora::LoraConfig;
use attribution_worker::tuning::Method;
use burn::tensor::Device;
use common::*;

fn all_targets(rank: usize) -> LoraConfig {
    LoraConfig::new(rank, 16.0).with_targets(
        ["q", "k", "v", "o", "gate", "up", "down"]
            .map(String::from)
            .to_vec(),
    )
}

#[test]
fn zero_b_gives_exactly_the_base_logits() {
    let dir = model_dir();
    let device = Device::default();
    let base = load(dir.path(), &Method::Full, &device);
    let adapted = load(dir.path(), &Method::Lora(all_targets(4)), &device);
    assert_eq!(logits(&base, &device), logits(&adapted, &device));
}

#[test]
fn merged_adapter_equals_unmerged() {
    let dir = model_dir();
    let device = Device::default();
    let lora = all_targets(4);
    let model = load_with_trained_adapters(dir.path(), &lora, &device);
    let unmerged = logits(&model, &device);
    let base = logits(&load(dir.path(), &Method::Full, &device), &device);
    assert!(
        max_abs_diff(&unmerged, &base) > 1e-3,
        "the adapter must change the output"
    );
    let merged = logits(&model.merge_adapters(), &device);
    assert!(max_abs_diff(&unmerged, &merged) < 1e-5);
}

#[test]
fn only_adapters_are_trainable() {
    let dir = model_dir();
    let device = Device::default().autodiff();
    let model = load(dir.path(), &Method::Lora(all_targets(2)), &device);
    let logits = model.forward(tokens(&device));
    let grads = logits.sum().backward();
    let layer = &model.layers[0];
    let q = &layer.attention.q_proj;
    assert!(q.lora.as_ref().unwrap().a.val().grad(&grads).is_some());
    match &q.base {
        attribution_worker::model::BaseWeight::Dense(w) => assert!(w.val().grad(&grads).is_none()),
        other => panic!("expected a dense base, got {other:?}"),
    }
    assert!(model.embed_tokens.val().grad(&grads).is_none());
}

#[test]
fn bad_adapter_settings_are_refused() {
    let err = LoraConfig::new(0, 16.0).validate().unwrap_err().to_string();
    assert!(err.contains("rank must be at least 1"), "{err}");
    let err = LoraConfig::new(8, 16.0)
        .with_targets(vec!["q".into(), "attn_proj".into()])
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown LoRA target module `attn_proj`"),
        "{err}"
    );
}
