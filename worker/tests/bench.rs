//! The benchmark harness runs every method end to end (timings are not asserted: they belong
//! to `attribution-worker bench train` in release mode).

use attribution_worker::bench::{run, BenchConfig};
use attribution_worker::memory::PeakAllocator;
use burn::tensor::Device;

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
