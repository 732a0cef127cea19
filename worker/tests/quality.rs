mod common;

use attribution_worker::bench::quality::{run, QualitySettings};
use attribution_worker::lora::LoraConfig;
use attribution_worker::synthetic::PAD;
use attribution_worker::tuning::Method;
use common::*;

/// LoRA and QLoRA from the same base, scored on held-out rows at the start and each quarter:
/// the quantized base starts off the float one, and training lowers both held-out losses.
#[test]
fn quality_scores_both_methods_at_every_checkpoint() {
    let dir = model_dir();
    let rows = encoded(dir.path(), 40, 11);
    let (train, held_out) = rows.split_at(32);
    let lora = LoraConfig::new(4, 8.0).with_targets(
        ["q", "k", "v", "o", "gate", "up", "down"]
            .map(String::from)
            .to_vec(),
    );
    let report = run(&QualitySettings {
        model: dir.path(),
        methods: [Method::Lora(lora.clone()), Method::Qlora(lora)],
        train,
        held_out,
        pad: PAD,
        batch_size: 8,
        steps: 8,
        learning_rate: 1e-2,
        seed: 5,
    })
    .unwrap();

    let steps: Vec<usize> = report.points.iter().map(|p| p.steps).collect();
    assert_eq!(steps, [0, 2, 4, 6, 8]);
    assert_eq!((report.train_rows, report.held_out_rows), (32, 8));
    let (first, last) = (&report.points[0], &report.points[4]);
    assert!(first.lora_loss.is_finite() && first.qlora_loss.is_finite());
    assert_ne!(first.lora_loss, first.qlora_loss);
    assert!(last.lora_loss < first.lora_loss, "{report:?}");
    assert!(last.qlora_loss < first.qlora_loss, "{report:?}");
}
