//! `attribution-worker bench provenance`: span provenance at the scale of a 10,000-row version,
//! on real text nobody here wrote.
//!
//! The rows are Debian package descriptions (`apt-cache dumpavail`, or a dpkg status file), one
//! row per package as the demo's datanet has them ([`debian_rows`]), a few consecutive rows per
//! contribution. Each answer reuses a training row verbatim: a run of 8 to 20 words of a random
//! row's completion, between two descriptions of packages that are not in the version (other
//! text, as a model's own words around what it learnt). An answer is right when its first entry
//! is the contribution of the row it reuses.

use super::index::SpanIndex;
use crate::job::ModelDir;
use crate::rag::index::Blob;
use crate::rag::quality::{debian_rows, packages_text, PackageRow};
use anyhow::{anyhow, bail, Result};
use attribution_primitives::ContributionId;
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct ProvenanceBenchArgs {
    /// The model whose tokenizer is used (a `.gguf` file or a Hugging Face directory).
    #[arg(long)]
    pub model: PathBuf,
    /// Package descriptions in dpkg's format; without it, `apt-cache dumpavail`'s.
    #[arg(long)]
    pub packages: Option<PathBuf>,
    /// Rows in the version.
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,
    #[arg(long, default_value_t = 4)]
    pub rows_per_contribution: usize,
    #[arg(long, default_value_t = 1_000)]
    pub answers: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Words of a row reused by an answer: at least, at most.
const REUSED_WORDS: (usize, usize) = (8, 20);

#[derive(Serialize, Debug)]
pub struct ProvenanceReport {
    pub rows: usize,
    pub contributions: usize,
    pub tokens: u64,
    pub build_seconds: f64,
    pub index_bytes: u64,
    pub index_bytes_per_token: f64,
    pub load_seconds: f64,
    pub answers: usize,
    pub answer_tokens_mean: f64,
    /// Answers whose first entry is the contribution of the reused row.
    pub right_first: usize,
    /// Answers whose reused words also occur in another contribution's row, and how many of
    /// those still came out right.
    pub ambiguous: usize,
    pub ambiguous_right_first: usize,
    pub spans_mean: f64,
    pub budget_ppm_mean: f64,
    pub query_ms_median: f64,
    pub query_ms_p95: f64,
}

impl ProvenanceReport {
    pub fn markdown(&self) -> String {
        let share = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
        let clear = self.answers - self.ambiguous;
        let clear_right = self.right_first - self.ambiguous_right_first;
        [
            "| figure | value |".to_string(),
            "|---|---|".to_string(),
            format!(
                "| version | {} rows, {} contributions, {} tokens |",
                self.rows, self.contributions, self.tokens
            ),
            format!(
                "| build (tokenize + suffix array) | {:.2} s |",
                self.build_seconds
            ),
            format!(
                "| index file | {} bytes, {:.2} bytes/token (load {:.3} s) |",
                self.index_bytes, self.index_bytes_per_token, self.load_seconds
            ),
            format!(
                "| answers | {} ({:.1} tokens on average) |",
                self.answers, self.answer_tokens_mean
            ),
            format!(
                "| right contribution first | {} ({:.1} %) |",
                self.right_first,
                share(self.right_first, self.answers)
            ),
            format!(
                "| … reused words in one contribution only | {clear_right} of {clear} ({:.1} %) |",
                share(clear_right, clear)
            ),
            format!(
                "| … where they are in several | {} of {} |",
                self.ambiguous_right_first, self.ambiguous
            ),
            format!(
                "| spans kept, ppm given to entries (means) | {:.2}, {:.0} |",
                self.spans_mean, self.budget_ppm_mean
            ),
            format!(
                "| query time per answer | median {:.3} ms, p95 {:.3} ms |",
                self.query_ms_median, self.query_ms_p95
            ),
        ]
        .join("\n")
    }
}

/// The completion of a package row (after the prompt).
fn completion(row: &PackageRow) -> Result<String> {
    let value: serde_json::Value = serde_json::from_str(&row.jsonl)?;
    value["completion"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("a package row without completion"))
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Runs the benchmark and prints its table.
pub fn run(args: &ProvenanceBenchArgs) -> Result<ProvenanceReport> {
    let tokenizer = ModelDir::load(&args.model)?.tokenizer;
    let text = packages_text(args.packages.as_deref())?;
    let mut names = BTreeSet::new();
    let packages: Vec<PackageRow> = debian_rows(&text)
        .into_iter()
        .filter(|p| names.insert(p.package.clone()))
        .collect();
    if packages.len() < args.rows + 2 {
        bail!(
            "{} distinct packages: too few for {} rows and other text",
            packages.len(),
            args.rows
        );
    }
    let (training, others) = packages.split_at(args.rows);
    let per = args.rows_per_contribution.max(1);
    let owner = |row: usize| (row / per + 1) as ContributionId;
    let blob_text: Vec<String> = training
        .chunks(per)
        .map(|chunk| {
            chunk
                .iter()
                .map(|p| p.jsonl.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    let blobs: Vec<Blob<'_>> = blob_text
        .iter()
        .enumerate()
        .map(|(i, text)| Blob {
            contribution: i as ContributionId + 1,
            jsonl: text.as_bytes(),
        })
        .collect();

    let started = Instant::now();
    let index = SpanIndex::build(&blobs, &tokenizer)?;
    let build_seconds = started.elapsed().as_secs_f64();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(super::file::FILE_NAME);
    index.save(&path)?;
    let index_bytes = std::fs::metadata(&path)?.len();
    let started = Instant::now();
    let loaded = SpanIndex::load(&path)?;
    let load_seconds = started.elapsed().as_secs_f64();
    if loaded != index {
        bail!("the index read back differs from the one written");
    }

    let completions: Vec<String> = training.iter().map(completion).collect::<Result<_>>()?;
    let other_text: Vec<String> = others.iter().map(completion).collect::<Result<_>>()?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut report = ProvenanceReport {
        rows: index.rows(),
        contributions: blobs.len(),
        tokens: index.tokens(),
        build_seconds,
        index_bytes,
        index_bytes_per_token: index_bytes as f64 / index.tokens() as f64,
        load_seconds,
        answers: 0,
        answer_tokens_mean: 0.0,
        right_first: 0,
        ambiguous: 0,
        ambiguous_right_first: 0,
        spans_mean: 0.0,
        budget_ppm_mean: 0.0,
        query_ms_median: 0.0,
        query_ms_p95: 0.0,
    };
    let mut query_ms = Vec::with_capacity(args.answers);
    while report.answers < args.answers {
        let row = rng.random_range(0..training.len());
        let words: Vec<&str> = completions[row].split_whitespace().collect();
        if words.len() < REUSED_WORDS.0 {
            continue;
        }
        let length = rng.random_range(REUSED_WORDS.0..=REUSED_WORDS.1.min(words.len()));
        let start = rng.random_range(0..=words.len() - length);
        let reused = words[start..start + length].join(" ");
        let before = &other_text[rng.random_range(0..other_text.len())];
        let after = &other_text[rng.random_range(0..other_text.len())];
        let answer_text = format!("{before} {reused} {after}");
        let answer = tokenizer
            .encode(answer_text.as_str(), false)
            .map_err(|e| anyhow!("tokenizing an answer: {e}"))?
            .get_ids()
            .to_vec();

        let started = Instant::now();
        let attribution = index.attribute(&tokenizer, &answer)?;
        query_ms.push(started.elapsed().as_secs_f64() * 1e3);

        let truth = owner(row);
        let right = attribution.entries.first().map(|e| e.contribution) == Some(truth);
        let ambiguous = completions
            .iter()
            .enumerate()
            .any(|(other, text)| owner(other) != truth && text.contains(&reused));
        report.answers += 1;
        report.answer_tokens_mean += answer.len() as f64;
        report.right_first += usize::from(right);
        report.ambiguous += usize::from(ambiguous);
        report.ambiguous_right_first += usize::from(ambiguous && right);
        report.spans_mean += attribution.spans.len() as f64;
        report.budget_ppm_mean += f64::from(attribution.budget_ppm);
        if !right {
            tracing::debug!(
                row,
                truth,
                ambiguous,
                reused = %reused,
                entries = ?attribution.entries,
                "first entry is not the reused row's contribution"
            );
        }
    }
    let n = report.answers.max(1) as f64;
    report.answer_tokens_mean /= n;
    report.spans_mean /= n;
    report.budget_ppm_mean /= n;
    query_ms.sort_by(f64::total_cmp);
    report.query_ms_median = percentile(&query_ms, 0.5);
    report.query_ms_p95 = percentile(&query_ms, 0.95);
    println!("{}", report.markdown());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report)
}
