//! Training-data influence (TRAK over LoRA gradients) on the tiny synthetic model: the row an
//! answer repeats is its most influential row, scores are deterministic, the index file
//! round-trips and a corrupted one is refused, and a small LDS / top-k removal run gives real
//! figures; the combined rule with influence keeps the old entries without it and never gives
//! more than 10^6 ppm; `serve --influence` attributes an adapter's answers with it.

mod common;

use attribution_primitives::attribution::AttributionEntry;
use attribution_worker::checkpoint::Checkpoint;
use attribution_worker::data::load_tokenizer;
use attribution_worker::data::Encoded;
use attribution_worker::model::Llama;
use attribution_worker::peft;
use attribution_worker::provenance::attribution::SpanAttribution;
use attribution_worker::provenance::combined::{combine, combine_with_influence};
use attribution_worker::provenance::index::{RowRef, SpanIndex, TrainingRows};
use attribution_worker::provenance::influence::adapter::{AdapterInfluence, InfluenceSource};
use attribution_worker::provenance::influence::quality::{QualitySetup, CANDIDATES};
use attribution_worker::provenance::influence::{InfluenceConfig, InfluenceIndex};
use attribution_worker::rag::index::Blob;
use attribution_worker::synthetic::PAD;
use attribution_worker::train::train;
use attribution_worker::tuning::Method;
use burn::tensor::Device;
use common::{encoded, lora, model_dir, quick};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn device() -> Device {
    Device::flex().autodiff()
}

fn small() -> InfluenceConfig {
    InfluenceConfig {
        dims: 256,
        seed: 3,
        damping: 1.0,
    }
}

fn refs(rows: &[Encoded]) -> Vec<(RowRef, Encoded)> {
    rows.iter()
        .enumerate()
        .map(|(i, e)| {
            let row = RowRef {
                contribution: (i / 2) as u64,
                row: (i % 2) as u32,
            };
            (row, e.clone())
        })
        .collect()
}

/// An adapter trained on `rows` of the task, from the test model.
fn trained(dir: &std::path::Path, rows: &[Encoded], device: &Device) -> Llama {
    device.seed(5);
    let method = Method::Lora(lora());
    let model = Llama::from_checkpoint(&Checkpoint::load(dir).unwrap(), &method, device).unwrap();
    train(model, &method, rows, PAD, &quick(30, 1e-2), None, device)
        .unwrap()
        .0
}

#[test]
fn the_row_an_answer_repeats_is_its_most_influential_and_scores_are_deterministic() {
    let dir = model_dir();
    let device = device();
    let rows = encoded(dir.path(), 24, 11);
    let model = trained(dir.path(), &rows, &device);
    let index =
        InfluenceIndex::build(&model, &refs(&rows), PAD, small(), [7; 32], &device).unwrap();
    assert_eq!(index.rows.len(), 24);
    assert_eq!(index.features.len(), 24 * 256);
    for r in [0, 5, 13, 22] {
        let row = &rows[r];
        let prompt = &row.tokens[..row.prompt_len];
        let answer = &row.tokens[row.prompt_len..];
        let attribution = index
            .attribute(&model, prompt, answer, PAD, &device)
            .unwrap();
        let top = (0..24)
            .max_by(|&a, &b| attribution.row_scores[a].total_cmp(&attribution.row_scores[b]))
            .unwrap();
        assert_eq!(top, r, "scores {:?}", attribution.row_scores);
        // Its contribution (rows 2c and 2c+1) gets the largest entry.
        assert_eq!(attribution.entries[0].contribution, (r / 2) as u64);
        let total: u32 = attribution.entries.iter().map(|e| e.weight_ppm).sum();
        assert!((999_990..=1_000_000).contains(&total), "{total} ppm");
        // The log-likelihood is the trained model's: negative, and the same again.
        assert!(attribution.log_likelihood < 0.0);
        let again = index
            .attribute(&model, prompt, answer, PAD, &device)
            .unwrap();
        assert_eq!(again, attribution);
    }
    // Building again gives the same bits.
    let rebuilt =
        InfluenceIndex::build(&model, &refs(&rows), PAD, small(), [7; 32], &device).unwrap();
    assert_eq!(rebuilt.features, index.features);
    // Another projection seed gives other features.
    let other = InfluenceIndex::build(
        &model,
        &refs(&rows),
        PAD,
        InfluenceConfig { seed: 4, ..small() },
        [7; 32],
        &device,
    )
    .unwrap();
    assert_ne!(other.features, index.features);
}

#[test]
fn a_qlora_adapters_influence_is_taken_over_the_nf4_base_it_trained_on() {
    // A QLoRA adapter trained on 24 rows; the served influence model rebuilds the NF4 base
    // from the same weights, so its gradients are the training model's own, bit for bit.
    let dir = model_dir();
    let device = device();
    let rows = encoded(dir.path(), 24, 11);
    device.seed(5);
    let method = Method::Qlora(lora());
    let base = Checkpoint::load(dir.path()).unwrap();
    let model = Llama::from_checkpoint(&base, &method, &device).unwrap();
    let trained = train(model, &method, &rows, PAD, &quick(30, 1e-2), None, &device)
        .unwrap()
        .0;
    let saved = tempfile::tempdir().unwrap();
    peft::save_adapter(&trained, &lora(), None, saved.path()).unwrap();
    let adapter = std::fs::read(saved.path().join(peft::WEIGHTS_FILE)).unwrap();
    let jsonl: String = common::TASK
        .examples(24, 11)
        .iter()
        .map(|e| json!({"prompt": e.prompt, "completion": e.completion}).to_string() + "\n")
        .collect();
    let blobs = [Blob {
        contribution: 7,
        jsonl: jsonl.as_bytes(),
    }];
    let tokenizer = load_tokenizer(&dir.path().join("tokenizer.json")).unwrap();
    let lora = lora();
    let source = |qlora| InfluenceSource {
        base: &base,
        base_id: b"tiny",
        lora: &lora,
        qlora,
        adapter: &adapter,
        rows: TrainingRows::all(&blobs),
        tokenizer: &tokenizer,
        special: common::special(),
        cutoff: 32,
    };
    let files = tempfile::tempdir().unwrap();
    let nf4 =
        AdapterInfluence::load_or_build(&files.path().join("nf4.bin"), &source(true), small())
            .unwrap();
    // The rows' features from the training model itself: the same bits.
    let refs: Vec<(RowRef, Encoded)> = rows
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let row = RowRef {
                contribution: 7,
                row: i as u32,
            };
            (row, e.clone())
        })
        .collect();
    let from_training = InfluenceIndex::build(
        &trained,
        &refs,
        PAD,
        small(),
        nf4.index.fingerprint,
        &device,
    )
    .unwrap();
    assert!(from_training.features == nf4.index.features);
    let row = &rows[5];
    let (prompt, answer) = row.tokens.split_at(row.prompt_len);
    let served = nf4.attribute(prompt, answer).unwrap();
    let by_training = nf4
        .index
        .attribute(&trained, prompt, answer, PAD, &device)
        .unwrap();
    assert_eq!(served, by_training);
    assert_eq!(served.entries[0].contribution, 7);

    // Over a dense copy of the base (the LoRA path) the gradients are another model's, and the
    // index is another file.
    let dense =
        AdapterInfluence::load_or_build(&files.path().join("dense.bin"), &source(false), small())
            .unwrap();
    assert_ne!(dense.index.fingerprint, nf4.index.fingerprint);
    assert!(dense.index.features != nf4.index.features);
    let dense_answer = dense.attribute(prompt, answer).unwrap();
    assert_ne!(dense_answer.log_likelihood, served.log_likelihood);
}

#[test]
fn the_index_file_round_trips_and_a_corrupted_one_is_refused() {
    let dir = model_dir();
    let device = device();
    let rows = encoded(dir.path(), 8, 12);
    let model = trained(dir.path(), &rows, &device);
    let index =
        InfluenceIndex::build(&model, &refs(&rows), PAD, small(), [9; 32], &device).unwrap();
    let bytes = index.to_bytes();
    // Header 72, 12 bytes and k floats per row, checksum 32.
    assert_eq!(bytes.len(), 72 + 8 * (12 + 4 * 256) + 32);
    let back = InfluenceIndex::from_bytes(&bytes).unwrap();
    assert_eq!(back.rows, index.rows);
    assert_eq!(back.features, index.features);
    assert_eq!(back.config, index.config);
    assert_eq!(back.fingerprint, [9; 32]);
    assert_eq!(back.lambda(), index.lambda());

    let mut flipped = bytes.clone();
    flipped[200] ^= 1;
    let error = InfluenceIndex::from_bytes(&flipped).unwrap_err();
    assert!(format!("{error:#}").contains("checksum"), "{error:#}");
    let error = InfluenceIndex::from_bytes(&bytes[..bytes.len() - 5]).unwrap_err();
    assert!(format!("{error:#}").contains("checksum"), "{error:#}");
    let error = InfluenceIndex::from_bytes(&bytes[..40]).unwrap_err();
    assert!(format!("{error:#}").contains("too few"), "{error:#}");

    // On disk: load_or_build reads a matching file without building, rebuilds a corrupt one.
    let file = tempfile::tempdir().unwrap();
    let path = file.path().join("influence.bin");
    index.save(&path).unwrap();
    let loaded =
        InfluenceIndex::load_or_build(&path, [9; 32], small(), || panic!("must not build"))
            .unwrap();
    assert_eq!(loaded.features, index.features);
    std::fs::write(&path, &flipped).unwrap();
    assert!(InfluenceIndex::load(&path).is_err());
    let mut built = false;
    let rebuilt = InfluenceIndex::load_or_build(&path, [9; 32], small(), || {
        built = true;
        Ok(index.clone())
    })
    .unwrap();
    assert!(built);
    assert_eq!(rebuilt.features, index.features);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    // Other settings than the file's: rebuilt too.
    let mut rebuilt_for_settings = false;
    let _ = InfluenceIndex::load_or_build(
        &path,
        [9; 32],
        InfluenceConfig {
            dims: 128,
            ..small()
        },
        || {
            rebuilt_for_settings = true;
            InfluenceIndex::build(
                &model,
                &refs(&rows),
                PAD,
                InfluenceConfig {
                    dims: 128,
                    ..small()
                },
                [9; 32],
                &device,
            )
        },
    )
    .unwrap();
    assert!(rebuilt_for_settings);
}

/// A small LDS / top-k removal run (the `bench influence` code at small sizes).
#[test]
fn lds_and_top_k_removal_on_a_small_run() {
    let dir = model_dir();
    let device = device();
    let base = Checkpoint::load(dir.path()).unwrap();
    let rows = encoded(dir.path(), 16, 21);
    let answers = encoded(dir.path(), 3, 22);
    let contributions: Vec<u64> = (0..16).map(|i| i / 4).collect();
    let setup = QualitySetup {
        base: &base,
        lora: lora(),
        train: quick(20, 1e-2),
        rows: &rows,
        contributions: &contributions,
        answers: &answers,
        pad: PAD,
        influence: small(),
        subsets: 8,
        removed: 4,
        trials: 2,
        seed: 5,
    };
    let figures = setup.measure(&device).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&figures).unwrap());
    assert_eq!(figures.rows, 16);
    assert_eq!(figures.lds_per_answer.len(), 3);
    assert!(
        figures.lds.is_finite() && figures.lds > 0.0,
        "LDS {}",
        figures.lds
    );
    assert!(figures.top_k_drop > figures.random_drop, "{figures:?}");
    // Leave one contribution out: four re-trainings, each answer's drops, every rule measured.
    let by = &figures.by_contribution;
    assert_eq!(by.rows, vec![4; 4]);
    assert_eq!(by.drops.len(), 3);
    assert!(by.drops.iter().flatten().all(|d| d.is_finite()));
    assert_eq!(by.rules.len(), CANDIDATES.len());
    for rule in &by.rules {
        assert!((-1.0..=1.0).contains(&rule.spearman), "{rule:?}");
        assert!(rule.top_hits <= 3 && rule.no_entries <= 3, "{rule:?}");
        assert!(
            rule.paid_for_nothing <= rule.paid && rule.paid <= 1.0,
            "{rule:?}"
        );
    }
}

fn entry(contribution: u64, weight_ppm: u32) -> AttributionEntry {
    AttributionEntry {
        contribution,
        weight_ppm,
    }
}

/// Span provenance that gives `entries` out of a budget of `budget_ppm`.
fn span_part(budget_ppm: u32, entries: Vec<AttributionEntry>) -> SpanAttribution {
    SpanAttribution {
        answer_tokens: 20,
        covered_tokens: (20 * u64::from(budget_ppm) / 1_000_000) as usize,
        budget_ppm,
        spans: Vec::new(),
        entries,
    }
}

fn total(entries: &[AttributionEntry]) -> u32 {
    entries.iter().map(|e| e.weight_ppm).sum()
}

#[test]
fn influence_shares_what_the_spans_leave_with_the_context() {
    let context = vec![entry(1, 700_000), entry(2, 300_000)];
    let influence = vec![entry(2, 500_000), entry(5, 500_000)];
    let spans = vec![entry(3, 250_000), entry(1, 150_000)];
    // Influence alone: its entries exactly; with spans, scaled by what they leave.
    let none = span_part(0, Vec::new());
    assert_eq!(
        combine_with_influence(&[], &none, &influence).unwrap(),
        influence
    );
    assert_eq!(
        combine_with_influence(&[], &span_part(400_000, spans.clone()), &influence).unwrap(),
        [
            entry(2, 300_000),
            entry(5, 300_000),
            entry(3, 250_000),
            entry(1, 150_000)
        ]
    );
    // Context and influence: half of the 60 % the spans leave each.
    //   1: 150,000 + 0.3 · 700,000 = 360,000     2: 0.3 · (300,000 + 500,000) = 240,000
    //   3: 250,000                              5: 0.3 · 500,000 = 150,000
    assert_eq!(
        combine_with_influence(&context, &span_part(400_000, spans), &influence).unwrap(),
        [
            entry(1, 360_000),
            entry(3, 250_000),
            entry(2, 240_000),
            entry(5, 150_000)
        ]
    );
    // No spans, both speaking: the mean of the two.
    assert_eq!(
        combine_with_influence(&context, &none, &influence).unwrap(),
        [entry(2, 400_000), entry(1, 350_000), entry(5, 250_000)]
    );
}

/// A small deterministic generator for the property tests (xorshift64*).
struct Draws(u64);

impl Draws {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % below
    }

    /// Up to `most` entries over contributions below 40 summing to at most `budget`.
    fn entries(&mut self, most: u64, budget: u32) -> Vec<AttributionEntry> {
        let count = self.next(most + 1) as usize;
        let mut ids: Vec<u64> = (0..40).collect();
        let mut left = budget;
        let mut out = Vec::new();
        for _ in 0..count {
            let id = ids.remove(self.next(ids.len() as u64) as usize);
            let ppm = self.next(u64::from(left) / 2 + 1) as u32;
            if ppm > 0 {
                left -= ppm;
                out.push(entry(id, ppm));
            }
        }
        out.sort_by(|a, b| {
            b.weight_ppm
                .cmp(&a.weight_ppm)
                .then(a.contribution.cmp(&b.contribution))
        });
        out
    }
}

#[test]
fn without_influence_the_old_rule_holds_exactly_and_no_rule_gives_over_a_million() {
    let mut draws = Draws(0x1234_5678_9abc_def1);
    for _ in 0..2_000 {
        let budget = draws.next(1_000_001) as u32;
        let spans = span_part(budget, draws.entries(16, budget));
        let context = draws.entries(16, 1_000_000);
        let influence = draws.entries(16, 1_000_000);
        let old = combine(&context, &spans).unwrap();
        assert_eq!(combine_with_influence(&context, &spans, &[]).unwrap(), old);
        let combined = combine_with_influence(&context, &spans, &influence).unwrap();
        assert!(total(&combined) <= 1_000_000, "{combined:?}");
        assert!(combined.len() <= 16);
        assert!(combined.iter().all(|e| e.weight_ppm > 0));
        // What the spans give is never taken away by the other two (up to rounding and the
        // 16-entry cut): the total is at least the spans' own when nothing is cut.
        let mut ids: Vec<u64> = spans
            .entries
            .iter()
            .chain(&context)
            .chain(&influence)
            .map(|e| e.contribution)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() <= 16 {
            assert!(
                total(&combined) + 16 >= total(&spans.entries),
                "{combined:?}"
            );
        }
    }
}

const TEMPLATE: &str =
    "{% for message in messages %}{{ message['content'] }} {% endfor %}{% if add_generation_prompt %}={% endif %}";

/// A running `attribution-worker serve`, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[String]) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_attribution-worker"))
        .arg("serve")
        .args(args)
        .args([
            "--http",
            &format!("127.0.0.1:{port}"),
            "--weights",
            "f32",
            "--threads",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while ureq::get(&format!("{url}/health")).call().is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Server { child, url }
}

fn chat(server: &Server, model: &str, question: &str) -> Value {
    let body = json!({
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "max_tokens": 8,
        "temperature": 0,
    });
    let mut response = ureq::post(&format!("{}/v1/chat/completions", server.url))
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap();
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

fn entries_of(value: &Value) -> Vec<AttributionEntry> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            entry(
                e["contribution"].as_u64().unwrap(),
                e["weight_ppm"].as_u64().unwrap() as u32,
            )
        })
        .collect()
}

#[test]
fn served_adapters_answers_are_attributed_by_influence_too() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir_all(&model).unwrap();
    common::write_model(&model, attribution_worker::checkpoint::StoredDtype::F32);
    std::fs::write(model.join("chat_template.jinja"), TEMPLATE).unwrap();
    // Three contributions of ten task rows; the adapter is trained on all of them.
    let examples = common::TASK.examples(30, 31);
    let files: Vec<String> = examples
        .chunks(10)
        .enumerate()
        .map(|(i, rows)| {
            let path = dir.path().join(format!("rows-{i}.jsonl"));
            let text: String = rows
                .iter()
                .map(|e| json!({"prompt": e.prompt, "completion": e.completion}).to_string() + "\n")
                .collect();
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        })
        .collect();
    let device = device();
    let rows = encoded(&model, 30, 31);
    let trained = trained(&model, &rows, &device);
    let adapter = dir.path().join("tuned");
    peft::save_adapter(&trained, &lora(), None, &adapter).unwrap();

    let mut args: Vec<String> = ["--model", model.to_str().unwrap(), "--name", "tiny"]
        .map(String::from)
        .to_vec();
    args.extend(["--adapter".into(), format!("tuned={}", adapter.display())]);
    for file in &files {
        args.extend(["--rows".into(), file.clone()]);
    }
    args.push("--influence".into());
    let server = serve(&args);
    let index_path = adapter.join("influence.bin");
    let index = InfluenceIndex::load(&index_path).unwrap();
    assert_eq!(index.rows.len(), 30);
    assert_eq!(index.config, InfluenceConfig::default());
    assert_eq!(
        index.rows[25],
        RowRef {
            contribution: 2,
            row: 5
        }
    );

    let question = &examples[25].prompt;
    let answer = chat(&server, "tuned", question);
    let attribution = &answer["attribution"];
    assert_eq!(
        attribution["method"], "contextcite-v1@f32+spans-v1+influence-v2",
        "{answer}"
    );
    let influence = entries_of(&attribution["influence"]["entries"]);
    assert!(!influence.is_empty(), "{attribution}");
    assert!(attribution["influence"]["log_likelihood"].as_f64().unwrap() < 0.0);
    assert_eq!(
        attribution["influence"]["rows"].as_array().unwrap().len(),
        16
    );
    // The combined entries follow the rule from the three parts, spans recomputed here.
    let tokenizer = load_tokenizer(&model.join("tokenizer.json")).unwrap();
    let contents: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let blobs: Vec<Blob<'_>> = contents
        .iter()
        .enumerate()
        .map(|(i, jsonl)| Blob {
            contribution: i as u64,
            jsonl,
        })
        .collect();
    let tokens: Vec<u32> = attribution["answer_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as u32)
        .collect();
    let spans = SpanIndex::build(&blobs, &tokenizer)
        .unwrap()
        .attribute(&tokenizer, &tokens)
        .unwrap();
    let context = entries_of(&attribution["context"]["entries"]);
    let entries = entries_of(&attribution["entries"]);
    assert_eq!(
        entries,
        combine_with_influence(&context, &spans, &influence).unwrap()
    );
    let attributed: u64 = entries.iter().map(|e| u64::from(e.weight_ppm)).sum();
    assert_eq!(
        attributed + attribution["pool_ppm"].as_u64().unwrap(),
        1_000_000
    );
    // Deterministic: the same question gets the same attribution.
    assert_eq!(
        chat(&server, "tuned", question)["attribution"],
        *attribution
    );
    // The base model, grounded in the same rows, has no influence index: the old method and
    // no influence part.
    let base = chat(&server, "tiny", question);
    assert_eq!(
        base["attribution"]["method"], "contextcite-v1@f32+spans-v1",
        "{base}"
    );
    assert!(base["attribution"].get("influence").is_none());
    drop(server);

    // Served again, the file is read, not rebuilt, and the answer is attributed the same.
    let written = std::fs::metadata(&index_path).unwrap().modified().unwrap();
    let bytes = std::fs::read(&index_path).unwrap();
    let server = serve(&args);
    assert_eq!(
        std::fs::metadata(&index_path).unwrap().modified().unwrap(),
        written
    );
    assert_eq!(std::fs::read(&index_path).unwrap(), bytes);
    assert_eq!(
        chat(&server, "tuned", question)["attribution"],
        *attribution
    );
    drop(server);

    // Without --influence the adapter is served as before: not grounded, no attribution.
    let plain: Vec<String> = args[..args.len() - 1].to_vec();
    let server = serve(&plain);
    let tuned = chat(&server, "tuned", question);
    assert_eq!(tuned["attribution"], Value::Null, "{tuned}");
}
