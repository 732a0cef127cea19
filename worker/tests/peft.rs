mod common;

use attribution_worker::checkpoint::read_safetensors;
use attribution_worker::lora::LoraConfig;
use attribution_worker::peft::{self, PeftConfig};
use attribution_worker::tuning::Method;
use burn::tensor::Device;
use common::*;

#[test]
fn export_import_round_trip_uses_peft_names() {
    let dir = model_dir();
    let device = Device::default();
    let lora = LoraConfig::new(3, 6.0).with_targets(vec!["q_proj".into(), "down".into()]);
    let model = load_with_trained_adapters(dir.path(), &lora, &device);
    let out = tempfile::tempdir().unwrap();
    peft::save_adapter(&model, &lora, Some("tiny-llama".into()), out.path()).unwrap();

    let tensors = read_safetensors(&out.path().join(peft::WEIGHTS_FILE)).unwrap();
    let a = &tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"];
    let b = &tensors["base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"];
    assert_eq!(
        (a.shape.as_slice(), b.shape.as_slice()),
        ([3, 32].as_slice(), [32, 3].as_slice())
    );
    assert_eq!(tensors.len(), 2 * 2 * 2);
    let config: PeftConfig =
        serde_json::from_slice(&std::fs::read(out.path().join(peft::CONFIG_FILE)).unwrap())
            .unwrap();
    assert_eq!(
        (config.peft_type.as_str(), config.r, config.lora_alpha),
        ("LORA", 3, 6.0)
    );
    assert_eq!(config.target_modules, ["q_proj", "down_proj"]);

    let (loaded, _) =
        peft::load_adapter(load(dir.path(), &Method::Full, &device), out.path()).unwrap();
    assert_eq!(logits(&model, &device), logits(&loaded, &device));
}

#[test]
fn adapter_for_another_model_is_refused() {
    let dir = model_dir();
    let device = Device::default();
    let lora = LoraConfig::new(2, 4.0);
    let out = tempfile::tempdir().unwrap();
    peft::save_adapter(
        &load(dir.path(), &Method::Lora(lora), &device),
        &LoraConfig::new(2, 4.0),
        None,
        out.path(),
    )
    .unwrap();
    let mut config: PeftConfig =
        serde_json::from_slice(&std::fs::read(out.path().join(peft::CONFIG_FILE)).unwrap())
            .unwrap();
    config.r = 5;
    std::fs::write(
        out.path().join(peft::CONFIG_FILE),
        serde_json::to_vec(&config).unwrap(),
    )
    .unwrap();
    let err = peft::load_adapter(load(dir.path(), &Method::Full, &device), out.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("has shape [2, 32], but the model needs [5, 32]"),
        "{err}"
    );
}
