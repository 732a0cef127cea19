//! `attribution-worker bench retrieval`: does dense retrieval find the right row more often than
//! the BM25 index the worker serves (`rag::index`)? Measured on this machine's Debian package
//! descriptions, one row per package as the attribution benchmark makes them, so each query's
//! right row is known.
//!
//! Two kinds of query per package: its one-line **summary** (the words the row holds, as a user
//! quoting a description would ask), and a **sentence** of its long description that the row does
//! not hold (the second one, at least six words: the same topic in other words, where lexical
//! matching is weakest). Three rankers: BM25 (tantivy, the served index), **dense** (cosine
//! similarity of mean-pooled hidden states of the served model, normalized by its final norm:
//! the only text encoder this machine has, no embedding model being reachable) and **hybrid**
//! (reciprocal rank fusion of both, `k = 60`). Figures: recall at 1 and at the served `k`, and
//! the mean reciprocal rank within `k`.

use crate::data::parse_jsonl;
use crate::job::ModelDir;
use crate::model::Llama;
use crate::rag::index::{row_text, Blob, RowIndex};
use crate::rag::quality::{debian_rows, long_description};
use crate::tuning::Method;
use anyhow::{ensure, Context, Result};
use burn::tensor::{Device, Int, Tensor, TensorData};
use clap::Args;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct RetrievalBenchArgs {
    /// The model whose hidden states embed the rows (a `.gguf` file or a Hugging Face directory).
    #[arg(long)]
    pub model: PathBuf,
    /// The package descriptions the rows are made of.
    #[arg(long, default_value = "/var/lib/dpkg/status")]
    pub status: PathBuf,
    /// Rows retrieved per query (the served default).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub k: u64,
    /// Tokens of a row or query embedded (the rest is cut).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=512))]
    pub max_tokens: u64,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// One ranker on one kind of query.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RankerFigures {
    pub ranker: &'static str,
    pub queries: usize,
    pub recall_at_1: f64,
    pub recall_at_k: f64,
    pub mrr_at_k: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RetrievalFigures {
    pub rows: usize,
    pub k: usize,
    /// `summary` then `sentence`, each with BM25, dense and hybrid.
    pub summary: Vec<RankerFigures>,
    pub sentence: Vec<RankerFigures>,
    pub embedding_seconds: f64,
}

/// Reciprocal rank fusion's constant (its authors' default).
const RRF_K: f64 = 60.0;

pub fn run(args: &RetrievalBenchArgs) -> Result<RetrievalFigures> {
    let status = std::fs::read_to_string(&args.status)
        .with_context(|| format!("reading {}", args.status.display()))?;
    let packages = debian_rows(&status);
    ensure!(
        !packages.is_empty(),
        "no package descriptions in the status file"
    );
    let k = args.k as usize;
    // One blob per package: contribution `i + 1` is package `i`'s row.
    let blobs: Vec<Blob<'_>> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| Blob {
            contribution: i as u64 + 1,
            jsonl: p.jsonl.as_bytes(),
        })
        .collect();
    let index = RowIndex::create_in_ram(&blobs)?;
    let mut texts = Vec::with_capacity(packages.len());
    for package in &packages {
        let examples = parse_jsonl(&package.jsonl)?;
        texts.push(row_text(&examples[0]));
    }

    let model = ModelDir::load(&args.model)?;
    let device = Device::default();
    let llama = Llama::from_checkpoint(&model.checkpoint, &Method::Full, &device)?;
    let embedder = Embedder {
        llama: &llama,
        model: &model,
        device: &device,
        max_tokens: args.max_tokens as usize,
    };
    let started = Instant::now();
    let rows: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| embedder.embed(t))
        .collect::<Result<_>>()?;

    let summary: Vec<(usize, String)> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.summary.clone()))
        .collect();
    let sentence: Vec<(usize, String)> = packages
        .iter()
        .enumerate()
        .filter_map(|(i, p)| unheld_sentence(&status, &p.package).map(|s| (i, s)))
        .collect();
    let mut figures = RetrievalFigures {
        rows: packages.len(),
        k,
        summary: Vec::new(),
        sentence: Vec::new(),
        embedding_seconds: 0.0,
    };
    for (queries, out) in [
        (&summary, &mut figures.summary),
        (&sentence, &mut figures.sentence),
    ] {
        let mut ranks: [Vec<Option<usize>>; 3] = Default::default();
        for (truth, query) in queries {
            let bm25: Vec<usize> = index
                .search(query, k)?
                .iter()
                .map(|hit| hit.contribution as usize - 1)
                .collect();
            let embedded = embedder.embed(query)?;
            let dense = top_k(&rows, &embedded, k);
            let hybrid = fuse(&bm25, &dense, k);
            for (ranks, ranking) in ranks.iter_mut().zip([&bm25, &dense, &hybrid]) {
                ranks.push(ranking.iter().position(|row| row == truth));
            }
        }
        for (ranker, ranks) in ["bm25", "dense", "hybrid"].into_iter().zip(&ranks) {
            out.push(figures_of(ranker, ranks));
        }
    }
    figures.embedding_seconds = started.elapsed().as_secs_f64();
    print(&figures);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&figures)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(figures)
}

/// The second sentence of `package`'s long description in the status text, when it has at
/// least six words (the row holds the summary and the first sentence only).
fn unheld_sentence(status: &str, package: &str) -> Option<String> {
    let stanza = status.split("\n\n").find(|s| {
        s.lines()
            .any(|l| l.strip_prefix("Package:").map(str::trim) == Some(package))
    })?;
    let text = long_description(stanza).join(" ");
    let second = text.split_inclusive(". ").nth(1)?.trim().to_string();
    (second.split_whitespace().count() >= 6).then_some(second)
}

struct Embedder<'a> {
    llama: &'a Llama,
    model: &'a ModelDir,
    device: &'a Device,
    max_tokens: usize,
}

impl Embedder<'_> {
    /// The mean of the top block's normalized outputs over the text's tokens, unit length.
    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let encoding = self
            .model
            .tokenizer
            .encode(text, false)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        let mut ids: Vec<i64> = encoding.get_ids().iter().map(|&t| i64::from(t)).collect();
        ids.truncate(self.max_tokens);
        ensure!(!ids.is_empty(), "an empty text cannot be embedded");
        let len = ids.len();
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, len]), self.device);
        let hidden = self.llama.norm.forward(self.llama.body(tokens));
        let mut mean: Vec<f32> = hidden
            .mean_dim(1)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading the embedding: {e:?}"))?;
        let norm = mean
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
            .sqrt()
            .max(f32::MIN_POSITIVE);
        mean.iter_mut().for_each(|v| *v /= norm);
        Ok(mean)
    }
}

/// The `k` rows most similar to `query` (cosine: all are unit length), best first.
fn top_k(rows: &[Vec<f32>], query: &[f32], k: usize) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| (row.iter().zip(query).map(|(a, b)| a * b).sum(), i))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

/// Reciprocal rank fusion of two rankings, the first `k`.
fn fuse(a: &[usize], b: &[usize], k: usize) -> Vec<usize> {
    let mut score: HashMap<usize, f64> = HashMap::new();
    for ranking in [a, b] {
        for (rank, &row) in ranking.iter().enumerate() {
            *score.entry(row).or_default() += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(f64, usize)> = score.into_iter().map(|(row, s)| (s, row)).collect();
    fused.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    fused.into_iter().take(k).map(|(_, row)| row).collect()
}

fn figures_of(ranker: &'static str, ranks: &[Option<usize>]) -> RankerFigures {
    let n = ranks.len().max(1) as f64;
    RankerFigures {
        ranker,
        queries: ranks.len(),
        recall_at_1: ranks.iter().filter(|r| **r == Some(0)).count() as f64 / n,
        recall_at_k: ranks.iter().filter(|r| r.is_some()).count() as f64 / n,
        mrr_at_k: ranks
            .iter()
            .map(|r| r.map_or(0.0, |r| 1.0 / (r as f64 + 1.0)))
            .sum::<f64>()
            / n,
    }
}

fn print(figures: &RetrievalFigures) {
    println!(
        "retrieval over {} rows, k = {} (embedding and ranking took {:.1} s)",
        figures.rows, figures.k, figures.embedding_seconds
    );
    println!(
        "{:<10} {:<8} {:>8} {:>10} {:>10} {:>8}",
        "queries", "ranker", "queries", "recall@1", "recall@k", "MRR@k"
    );
    for (kind, rankers) in [
        ("summary", &figures.summary),
        ("sentence", &figures.sentence),
    ] {
        for r in rankers {
            println!(
                "{:<10} {:<8} {:>8} {:>10.3} {:>10.3} {:>8.3}",
                kind, r.ranker, r.queries, r.recall_at_1, r.recall_at_k, r.mrr_at_k
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_ranks_what_both_agree_on_first() {
        assert_eq!(fuse(&[3, 1, 2], &[1, 4, 3], 3), vec![1, 3, 4]);
        assert_eq!(fuse(&[], &[7, 8], 1), vec![7]);
    }

    #[test]
    fn recall_and_reciprocal_rank() {
        let figures = figures_of("x", &[Some(0), Some(1), None, Some(0)]);
        assert_eq!(figures.recall_at_1, 0.5);
        assert_eq!(figures.recall_at_k, 0.75);
        assert_eq!(figures.mrr_at_k, (1.0 + 0.5 + 0.0 + 1.0) / 4.0);
    }

    #[test]
    fn the_unheld_sentence_is_the_long_descriptions_second() {
        let status = "Package: zz\nDescription: a tool\n First sentence here. Second sentence has \
                      enough words in it. Third.\n\nPackage: yy\nDescription: b\n Only one.\n";
        assert_eq!(
            unheld_sentence(status, "zz").as_deref(),
            Some("Second sentence has enough words in it.")
        );
        assert_eq!(unheld_sentence(status, "yy"), None);
    }
}
