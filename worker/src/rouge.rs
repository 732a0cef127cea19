//! ROUGE-1, ROUGE-2 and ROUGE-L F-measures as Google's `rouge-score` computes them with the
//! stemmer off: lowercase, every character outside `[a-z0-9]` becomes a space, split on
//! whitespace; n-gram overlap counts clipped per n-gram; ROUGE-L from the longest common
//! subsequence. `F = 2PR / (P + R)`, and 0 when either side has no tokens.

use std::collections::HashMap;

/// Precision, recall and F-measure of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Score {
    pub precision: f64,
    pub recall: f64,
    pub fmeasure: f64,
}

impl Score {
    fn new(overlap: usize, predicted: usize, reference: usize) -> Self {
        if predicted == 0 || reference == 0 {
            return Score::default();
        }
        let precision = overlap as f64 / predicted as f64;
        let recall = overlap as f64 / reference as f64;
        let fmeasure = if overlap == 0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Score {
            precision,
            recall,
            fmeasure,
        }
    }
}

/// The three scores of one prediction against its reference.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RougeScores {
    pub rouge1: Score,
    pub rouge2: Score,
    pub rouge_l: Score,
}

/// `rouge-score`'s default tokenizer.
pub fn tokenize(text: &str) -> Vec<String> {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                ' '
            }
        })
        .collect();
    cleaned.split_whitespace().map(str::to_string).collect()
}

/// Scores `prediction` against `reference`.
pub fn score(reference: &str, prediction: &str) -> RougeScores {
    let reference = tokenize(reference);
    let prediction = tokenize(prediction);
    RougeScores {
        rouge1: ngram_score(&reference, &prediction, 1),
        rouge2: ngram_score(&reference, &prediction, 2),
        rouge_l: Score::new(
            lcs_len(&reference, &prediction),
            prediction.len(),
            reference.len(),
        ),
    }
}

fn ngrams(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    for gram in tokens.windows(n) {
        *counts.entry(gram).or_insert(0) += 1;
    }
    counts
}

fn ngram_score(reference: &[String], prediction: &[String], n: usize) -> Score {
    let reference_grams = ngrams(reference, n);
    let prediction_grams = ngrams(prediction, n);
    let overlap = prediction_grams
        .iter()
        .map(|(gram, count)| (*count).min(reference_grams.get(gram).copied().unwrap_or(0)))
        .sum();
    Score::new(
        overlap,
        prediction_grams.values().sum(),
        reference_grams.values().sum(),
    )
}

fn lcs_len(a: &[String], b: &[String]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Mean F-measures over pairs `(reference, prediction)`, in percent.
pub fn mean_fmeasures<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> [f64; 3] {
    let mut sums = [0.0; 3];
    let mut count = 0;
    for (reference, prediction) in pairs {
        let s = score(reference, prediction);
        sums[0] += s.rouge1.fmeasure;
        sums[1] += s.rouge2.fmeasure;
        sums[2] += s.rouge_l.fmeasure;
        count += 1;
    }
    sums.map(|sum| 100.0 * sum / count.max(1) as f64)
}
