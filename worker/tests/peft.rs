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

/// `adapter_config.json` as PEFT 0.21 writes it for a model wrapped without a task type.
fn peft_0_21_config(r: usize, alpha: f64, targets: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "tiny-llama",
        "bias": "none", "corda_config": null, "eva_config": null, "exclude_modules": null,
        "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true,
        "layer_replication": null, "layers_pattern": null, "layers_to_transform": null,
        "loftq_config": {}, "lora_alpha": alpha, "lora_bias": false, "lora_dropout": 0.05,
        "megatron_config": null, "megatron_core": "megatron.core", "modules_to_save": null,
        "peft_type": "LORA", "peft_version": "0.21.0", "qalora_group_size": 16, "r": r,
        "rank_pattern": {}, "revision": null, "target_modules": targets,
        "target_parameters": null, "task_type": null, "trainable_token_indices": null,
        "use_dora": false, "use_qalora": false, "use_rslora": false
    })
}

#[test]
fn peft_0_21_adapters_load_and_options_we_cannot_honour_are_named() {
    let dir = model_dir();
    let device = Device::default();
    let lora = LoraConfig::new(2, 4.0).with_targets(vec!["q_proj".into(), "v_proj".into()]);
    let model = load_with_trained_adapters(dir.path(), &lora, &device);
    let out = tempfile::tempdir().unwrap();
    peft::save_adapter(&model, &lora, None, out.path()).unwrap();
    let write = |config: &serde_json::Value| {
        std::fs::write(
            out.path().join(peft::CONFIG_FILE),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
    };
    let load_err = || {
        let err = peft::load_adapter(load(dir.path(), &Method::Full, &device), out.path())
            .expect_err("refused");
        format!("{err:#}")
    };

    let config = peft_0_21_config(2, 4.0, &["v_proj", "q_proj"]);
    write(&config);
    let (loaded, read) =
        peft::load_adapter(load(dir.path(), &Method::Full, &device), out.path()).unwrap();
    assert_eq!((read.rank, read.alpha), (2, 4.0));
    assert!(max_abs_diff(&logits(&model, &device), &logits(&loaded, &device)) < 1e-6);

    for (field, value, named) in [
        ("use_dora", serde_json::json!(true), "use_dora = true"),
        ("use_rslora", serde_json::json!(true), "use_rslora = true"),
        (
            "layers_to_transform",
            serde_json::json!([0]),
            "layers_to_transform = [0]",
        ),
        (
            "rank_pattern",
            serde_json::json!({"q_proj": 4}),
            "rank_pattern",
        ),
        (
            "alpha_pattern",
            serde_json::json!({"q_proj": 8}),
            "alpha_pattern",
        ),
        (
            "modules_to_save",
            serde_json::json!(["lm_head"]),
            "modules_to_save",
        ),
        (
            "fan_in_fan_out",
            serde_json::json!(true),
            "fan_in_fan_out = true",
        ),
        ("bias", serde_json::json!("lora_only"), "bias = `lora_only`"),
        (
            "init_lora_weights",
            serde_json::json!("pissa"),
            "init_lora_weights = `pissa`",
        ),
        (
            "task_type",
            serde_json::json!("SEQ_CLS"),
            "task_type `SEQ_CLS`",
        ),
        (
            "target_modules",
            serde_json::json!(".*proj"),
            "target_modules regex `.*proj`",
        ),
    ] {
        let mut refused = config.clone();
        refused[field] = value;
        write(&refused);
        let err = load_err();
        assert!(err.contains(named), "{field}: {err}");
    }

    // "all-linear" names every projection; this adapter has only two, so the rest are missing.
    let mut all = config.clone();
    all["target_modules"] = serde_json::json!("all-linear");
    write(&all);
    let err = load_err();
    assert!(err.contains("adapter has no tensor"), "{err}");
}
