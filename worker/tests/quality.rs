mod common;

use attribution_worker::bench::quality::{greedy_completions, run, QualitySettings};
use attribution_worker::data::load_tokenizer;
use attribution_worker::eval::generate;
use attribution_worker::lora::LoraConfig;
use attribution_worker::synthetic::{EOS, PAD};
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
    let tokenizer = load_tokenizer(&dir.path().join("tokenizer.json")).unwrap();
    let report = run(&QualitySettings {
        model: dir.path(),
        methods: [Method::Lora(lora.clone()), Method::Qlora(lora)],
        train,
        held_out,
        generated_rows: 6,
        tokenizer: &tokenizer,
        eos: Some(EOS),
        pad: PAD,
        batch_size: 8,
        steps: 8,
        learning_rate: 1e-2,
        seed: 5,
    })
    .unwrap();

    let steps: Vec<usize> = report.points.iter().map(|p| p.steps).collect();
    assert_eq!(steps, [0, 2, 4, 6, 8]);
    assert_eq!(
        (
            report.train_rows,
            report.held_out_rows,
            report.generated_rows
        ),
        (32, 8, 6)
    );
    let (first, last) = (&report.points[0], &report.points[4]);
    assert!(first.lora_loss.is_finite() && first.qlora_loss.is_finite());
    assert_ne!(first.lora_loss, first.qlora_loss);
    assert!(last.lora_loss < first.lora_loss, "{report:?}");
    assert!(last.qlora_loss < first.qlora_loss, "{report:?}");
    for p in &report.points {
        assert!((0.0..=100.0).contains(&p.lora_rouge_l), "{report:?}");
        assert!((0.0..=100.0).contains(&p.qlora_rouge_l), "{report:?}");
    }
    // The completions come from the adapted model at each checkpoint: by the end of the run they
    // differ from the untrained base's. (Whether they overlap the references more is not stable
    // on a synthetic task this small: six rows, eight steps.)
    assert_ne!(last.lora_rouge_l, first.lora_rouge_l, "{report:?}");
    assert_ne!(last.qlora_rouge_l, first.qlora_rouge_l, "{report:?}");
}

/// Batched greedy completion (rows of different lengths, right-padded) gives each row what
/// generating it alone gives.
#[test]
fn batched_completions_match_one_row_at_a_time() {
    let dir = model_dir();
    // Row i without its first i prompt tokens (at least one kept): prompts of different lengths.
    let rows = staggered(encoded(dir.path(), 6, 3));
    let device = burn::tensor::Device::flex();
    let model = load(dir.path(), &Method::Lora(LoraConfig::new(4, 8.0)), &device);
    let batched = greedy_completions(&model, &rows, PAD, Some(EOS), &device);
    let lengths: std::collections::BTreeSet<usize> = rows.iter().map(|r| r.prompt_len).collect();
    assert!(
        lengths.len() > 1,
        "prompts of different lengths: {lengths:?}"
    );
    assert!(batched.iter().any(|c| !c.is_empty()), "{batched:?}");
    for (row, completion) in rows.iter().zip(&batched) {
        let budget = row.tokens.len() - row.prompt_len;
        let alone = generate(
            &model,
            &row.tokens[..row.prompt_len],
            budget,
            Some(EOS),
            &device,
        );
        assert_eq!(completion, &alone);
        assert!(completion.len() <= budget);
    }
}
