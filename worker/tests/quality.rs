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
        methods: vec![
            ("lora".into(), Method::Lora(lora.clone())),
            ("qlora".into(), Method::Qlora(lora)),
        ],
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
    for p in &report.points {
        let names: Vec<&str> = p.scores.iter().map(|s| s.method.as_str()).collect();
        assert_eq!(names, ["lora", "qlora"]);
        for s in &p.scores {
            assert!((0.0..=100.0).contains(&s.rouge_l), "{report:?}");
        }
    }
    let (first, last) = (&report.points[0].scores, &report.points[4].scores);
    let [(first_lora, first_qlora), (last_lora, last_qlora)] =
        [first, last].map(|s| (&s[0], &s[1]));
    assert!(first_lora.loss.is_finite() && first_qlora.loss.is_finite());
    assert_ne!(first_lora.loss, first_qlora.loss);
    assert!(last_lora.loss < first_lora.loss, "{report:?}");
    assert!(last_qlora.loss < first_qlora.loss, "{report:?}");
    // The completions come from the adapted model at each checkpoint: by the end of the run they
    // differ from the untrained base's. (Whether they overlap the references more is not stable
    // on a synthetic task this small: six rows, eight steps.)
    assert_ne!(last_lora.rouge_l, first_lora.rouge_l, "{report:?}");
    assert_ne!(last_qlora.rouge_l, first_qlora.rouge_l, "{report:?}");
    let markdown = report.markdown();
    assert!(
        markdown.contains("| steps | lora loss | qlora loss | qlora − lora |"),
        "{markdown}"
    );
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

/// `synthetic model --pretrain-steps` writes a base an adapter learns the task from: LoRA as the
/// e2e test trains it through the daemon (rank 4 on q, v, gate, up, down; 60 steps of 8 rows,
/// learning rate 0.01) ends far below the targets' marginal entropy (about 2.95 nats, where it
/// ends on the random base) and translates held-out prompts word for word. The written
/// directory is what the daemon loads as a base; bad pretraining settings are refused.
#[test]
fn an_adapter_learns_the_task_from_the_pretrained_synthetic_base() {
    use attribution_worker::eval::held_out_loss;
    use attribution_worker::job::ModelDir;
    use attribution_worker::model::Llama;
    use attribution_worker::train::{train, TrainConfig};
    use burn::module::Module;
    use std::process::Command;

    let synthetic = |dir: &std::path::Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_attribution-worker"))
            .args(["synthetic", "model", "--output-dir"])
            .arg(dir)
            .args(args)
            .output()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let written = synthetic(dir.path(), &PRETRAINED);
    assert!(written.status.success(), "{written:?}");
    eprintln!("pretrained in {:.1} s", started.elapsed().as_secs_f64());
    let model_dir = ModelDir::load(dir.path()).unwrap();
    let rows = model_dir.encode(&TASK.examples(96, 1), 16).unwrap();
    let held_out_rows = TASK.examples(16, 2);
    let held_out = model_dir.encode(&held_out_rows, 16).unwrap();
    let lora = LoraConfig::new(4, 8.0).with_targets(
        ["q_proj", "v_proj", "gate_proj", "up_proj", "down_proj"]
            .map(String::from)
            .to_vec(),
    );
    let device = burn::tensor::Device::flex().autodiff();
    for seed in [42, 1, 2] {
        let model =
            Llama::from_checkpoint(&model_dir.checkpoint, &Method::Lora(lora.clone()), &device)
                .unwrap();
        let schedule = TrainConfig {
            steps: 60,
            batch_size: 8,
            learning_rate: 0.01,
            warmup_steps: 2,
            seed,
            progress: false,
            ..TrainConfig::default()
        };
        let started = std::time::Instant::now();
        let (adapted, _) = train(
            model,
            &Method::Lora(lora.clone()),
            &rows,
            PAD,
            &schedule,
            None,
            &device,
        )
        .unwrap();
        let adapted = adapted.valid();
        let loss = held_out_loss(&adapted, &held_out, 8, PAD, &device.clone());
        assert!(loss < 1.0, "seed {seed}: held-out loss {loss}");
        let mut right = 0;
        for (row, encoded) in held_out_rows.iter().zip(&held_out) {
            // A chat template starting with `{{ bos_token }}` gives the prompt training saw.
            let prompt = &encoded.tokens[..encoded.prompt_len];
            let chat = model_dir
                .tokenizer
                .encode(format!("<s>{}", row.prompt), false)
                .unwrap();
            assert_eq!(chat.get_ids(), prompt);
            let expected = model_dir
                .tokenizer
                .encode(row.completion.as_str(), false)
                .unwrap();
            let answer = generate(&adapted, prompt, 4, Some(EOS), &device);
            right += usize::from(answer == expected.get_ids());
        }
        eprintln!(
            "seed {seed}: held-out loss {loss:.3}, {right} of 16 right, {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert!(
            right >= 8,
            "seed {seed}: {right} of 16 held-out answers right"
        );
    }
    // Bad settings: a mapping that is no permutation, heads that do not divide the width.
    for (args, expected) in [
        (
            &["--pretrain-steps", "1", "--pretrain-multiplier", "6"][..],
            "does not permute",
        ),
        (&["--hidden", "30"][..], "multiple of the 4 heads"),
    ] {
        let out = synthetic(&dir.path().join("bad"), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
    }
}

/// What the e2e test registers (`tests/src/worker.rs`): 300 steps on a model of width 64.
const PRETRAINED: [&str; 6] = [
    "--pretrain-steps",
    "300",
    "--hidden",
    "64",
    "--intermediate",
    "128",
];
