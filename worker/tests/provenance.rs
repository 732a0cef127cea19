//! Span provenance: maximal spans against a brute-force search on random corpora, the rule that
//! keeps and ranks them, the ppm entries, the index file (round trip, corruption, staleness),
//! determinism, and (when the model is in the cache) SmolLM2's tokenizer on Debian rows.

mod common;

use attribution_primitives::attribution::AttributionEntry;
use attribution_primitives::PARTS_PER_MILLION;
use attribution_worker::provenance::attribution::SpanAttribution;
use attribution_worker::provenance::combined::combine;
use attribution_worker::provenance::file::{FILE_NAME, FORMAT_VERSION, MAGIC};
use attribution_worker::provenance::index::{RowRef, SpanIndex, TrainingRows};
use attribution_worker::provenance::spans::{log2_fixed, INFORMATION_FRACTION_BITS, SPAN_RULE_V1};
use attribution_worker::rag::index::Blob;
use attribution_worker::synthetic::SyntheticTask;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use tokenizers::Tokenizer;

fn row(contribution: u64, row: u32) -> RowRef {
    RowRef { contribution, row }
}

fn index_of(rows: &[(RowRef, Vec<u32>)]) -> SpanIndex {
    SpanIndex::from_token_rows(rows.to_vec(), [0; 32]).unwrap()
}

// ---- maximal spans

/// Occurrences of `pattern` inside the rows (never across two).
fn brute_count(rows: &[(RowRef, Vec<u32>)], pattern: &[u32]) -> usize {
    rows.iter()
        .map(|(_, tokens)| {
            tokens
                .windows(pattern.len())
                .filter(|w| *w == pattern)
                .count()
        })
        .sum()
}

/// The maximal matches by the definition: from each start the longest run occurring in a
/// row, kept when the run from the start before does not reach as far.
fn brute_maximal(rows: &[(RowRef, Vec<u32>)], answer: &[u32]) -> Vec<(usize, usize, usize)> {
    let longest: Vec<usize> = (0..answer.len())
        .map(|i| {
            (0..=answer.len() - i)
                .rev()
                .find(|&l| l == 0 || brute_count(rows, &answer[i..i + l]) > 0)
                .unwrap()
        })
        .collect();
    (0..answer.len())
        .filter(|&i| longest[i] > 0 && (i == 0 || i + longest[i] > i - 1 + longest[i - 1]))
        .map(|i| {
            let count = brute_count(rows, &answer[i..i + longest[i]]);
            (i, i + longest[i], count)
        })
        .collect()
}

#[test]
fn maximal_spans_match_a_brute_force_search_on_random_corpora() {
    let mut rng = StdRng::seed_from_u64(15);
    for case in 0..300 {
        let alphabet = rng.random_range(1..6u32);
        let rows: Vec<(RowRef, Vec<u32>)> = (0..rng.random_range(1..8))
            .map(|r| {
                let len = rng.random_range(0..14);
                let tokens = (0..len).map(|_| rng.random_range(0..alphabet)).collect();
                (row(rng.random_range(1..4), r), tokens)
            })
            .collect();
        if rows.iter().all(|(_, t)| t.is_empty()) {
            continue;
        }
        let index = index_of(&rows);
        // One symbol past the alphabet, which no row holds.
        let answer: Vec<u32> = (0..rng.random_range(0..18))
            .map(|_| rng.random_range(0..=alphabet))
            .collect();
        let found: Vec<(usize, usize, usize)> = index
            .maximal_matches(&answer)
            .iter()
            .map(|m| (m.tokens.start, m.tokens.end, m.occurrences()))
            .collect();
        assert_eq!(
            found,
            brute_maximal(&rows, &answer),
            "case {case}: rows {rows:?}, answer {answer:?}"
        );
    }
}

#[test]
fn an_index_counts_its_rows_and_tokens() {
    let rows = vec![
        (row(1, 0), vec![5, 6, 7]),
        (row(1, 1), vec![]),
        (row(2, 0), vec![8]),
    ];
    let index = index_of(&rows);
    assert_eq!(index.rows(), 2, "a row without tokens is not indexed");
    assert_eq!(index.tokens(), 4);
}

#[test]
fn log2_fixed_is_exact_at_powers_of_two_and_close_elsewhere() {
    let one = 1u64 << INFORMATION_FRACTION_BITS;
    assert_eq!(log2_fixed(0), 0);
    assert_eq!(log2_fixed(1), 0);
    for k in 1..64 {
        assert_eq!(log2_fixed(1 << k), k * one);
    }
    for x in [3u64, 5, 10, 1000, 49_152, 123_456_789, u64::MAX] {
        let exact = (x as f64).log2() * one as f64;
        let got = log2_fixed(x) as f64;
        assert!(
            got <= exact + 1e-6 && exact - got < 2.0,
            "log2({x}): {got} vs {exact}"
        );
    }
}

// ---- the rule: which spans count, in which order

/// 64 rows of common tokens (1 and 2) and two rows of rare ones.
fn rule_corpus() -> Vec<(RowRef, Vec<u32>)> {
    let mut rows: Vec<(RowRef, Vec<u32>)> = (0..64)
        .map(|r| (row(9, r), vec![1, 2, 1, 2, 1, 2, 1, 2]))
        .collect();
    rows.push((row(3, 0), vec![1, 10, 11, 12, 13, 14, 15, 2]));
    rows.push((row(4, 0), vec![20, 21, 22, 23, 1]));
    rows.push((row(5, 0), vec![20, 21, 22, 23, 2]));
    rows
}

#[test]
fn long_rare_spans_count_and_short_or_common_ones_do_not() {
    let index = index_of(&rule_corpus());
    // 999 occurs nowhere: it separates the answer's runs.
    let mut answer = vec![1, 2, 1, 2, 1, 2, 999, 10, 11, 12, 13, 14, 15, 999];
    answer.extend([20, 21, 22, 23, 999, 12, 13, 999]);
    answer.extend(std::iter::repeat_n(999, 40 - answer.len()));
    let spans = index.spans(&answer);
    // 40 tokens: at most ceil(5 · 40 / 100) = 2 spans.
    assert_eq!(spans.len(), 2, "{spans:?}");
    // The six rare tokens first, then the four shared by two contributions.
    assert_eq!(spans[0].tokens, 7..13);
    assert_eq!(spans[0].rows, vec![row(3, 0)]);
    assert_eq!(spans[0].occurrences, 1);
    assert_eq!(spans[1].tokens, 14..18);
    assert_eq!(spans[1].rows, vec![row(4, 0), row(5, 0)]);
    assert_eq!(spans[1].contributions(), vec![4, 5]);
    assert!(spans[0].information > spans[1].information);
    // Every kept span meets the thresholds; the common run (1 2 1 2 1 2: 6 bits) and the
    // two-token rare run (12 13) are maximal matches that do not count.
    for span in &spans {
        assert!(span.tokens.len() >= SPAN_RULE_V1.min_tokens);
        assert!(span.information >= SPAN_RULE_V1.min_information_bits << INFORMATION_FRACTION_BITS);
    }
    let maximal: Vec<_> = index
        .maximal_matches(&answer)
        .into_iter()
        .map(|m| m.tokens)
        .collect();
    assert!(maximal.contains(&(0..6)) && maximal.contains(&(19..21)));
}

#[test]
fn a_span_s_information_is_the_sum_of_its_tokens_rarity() {
    let rows = rule_corpus();
    let total: u64 = rows.iter().map(|(_, t)| t.len() as u64).sum();
    let index = index_of(&rows);
    let mut answer = vec![10, 11, 12, 13, 14, 15];
    answer.resize(20, 999);
    let spans = index.spans(&answer);
    // Each of the six tokens occurs once.
    assert_eq!(spans[0].information, 6 * log2_fixed(total));
}

// ---- attribution entries, with a word-level tokenizer

fn tokenizer() -> Tokenizer {
    SyntheticTask {
        words: 400,
        prompt_words: 3,
        multiplier: 7,
        shift: 3,
    }
    .tokenizer()
    .unwrap()
}

fn text_row(words: &[usize]) -> String {
    let text: Vec<String> = words.iter().map(|w| format!("w{w}")).collect();
    serde_json::json!({ "text": text.join(" ") }).to_string()
}

/// Contribution 1: a long rare run; 2: a shorter one, also in 3; 4 holds common words only.
fn blobs_text() -> Vec<(u64, String)> {
    let common: Vec<usize> = (0..30).map(|i| i % 3).collect();
    vec![
        (
            1,
            [
                text_row(&[100, 101, 102, 103, 104, 105, 106, 107]),
                text_row(&common),
            ]
            .join("\n"),
        ),
        (2, text_row(&[200, 201, 202, 203, 204, 205, 206])),
        (3, text_row(&[200, 201, 202, 203, 204, 205, 206, 0])),
        (4, [text_row(&common), text_row(&common)].join("\n")),
    ]
}

fn blobs(text: &[(u64, String)]) -> Vec<Blob<'_>> {
    text.iter()
        .map(|(contribution, jsonl)| Blob {
            contribution: *contribution,
            jsonl: jsonl.as_bytes(),
        })
        .collect()
}

fn encode(tokenizer: &Tokenizer, words: &[usize]) -> Vec<u32> {
    let text: Vec<String> = words.iter().map(|w| format!("w{w}")).collect();
    tokenizer
        .encode(text.join(" "), false)
        .unwrap()
        .get_ids()
        .to_vec()
}

fn total(entries: &[AttributionEntry]) -> u32 {
    entries.iter().map(|e| e.weight_ppm).sum()
}

/// 40 words: 8 reused from contribution 1, 7 from 2 and 3, the rest nowhere (300 and up).
fn reusing_answer(tokenizer: &Tokenizer) -> Vec<u32> {
    let mut words: Vec<usize> = (300..310).collect();
    words.extend(100..108);
    words.extend(310..320);
    words.extend(200..207);
    words.extend(320..325);
    encode(tokenizer, &words)
}

#[test]
fn entries_pay_the_rows_an_answer_reuses_and_leave_the_rest_to_the_pool() {
    let tokenizer = tokenizer();
    let text = blobs_text();
    let index = SpanIndex::build(&blobs(&text), &tokenizer).unwrap();
    let answer = reusing_answer(&tokenizer);
    assert_eq!(answer.len(), 40);
    let attribution = index.attribute(&tokenizer, &answer).unwrap();

    assert_eq!(attribution.answer_tokens, 40);
    assert_eq!(attribution.covered_tokens, 15);
    assert_eq!(attribution.budget_ppm, 375_000);
    assert_eq!(attribution.entries.len(), 3);
    assert_eq!(attribution.entries[0].contribution, 1);
    // The shared span is split evenly between 2 and 3.
    assert_eq!(attribution.entries[1].contribution, 2);
    assert_eq!(attribution.entries[2].contribution, 3);
    let (two, three) = (
        attribution.entries[1].weight_ppm,
        attribution.entries[2].weight_ppm,
    );
    assert!(two.abs_diff(three) <= 1);
    assert!(total(&attribution.entries) <= attribution.budget_ppm);
    assert!(attribution.budget_ppm - total(&attribution.entries) <= 3);

    // Where each span sits in the answer's text.
    let first = &attribution.spans[0];
    assert_eq!(first.span.tokens, 10..18);
    assert_eq!(first.text, "w100 w101 w102 w103 w104 w105 w106 w107");
    let full = tokenizer.decode(&answer, false).unwrap();
    let at: String = full
        .chars()
        .skip(first.chars.start)
        .take(first.chars.len())
        .collect();
    assert_eq!(at, first.text);
    assert_eq!(
        attribution.spans[1].text,
        "w200 w201 w202 w203 w204 w205 w206"
    );
}

#[test]
fn repeating_a_row_in_its_own_contribution_does_not_raise_its_share() {
    let tokenizer = tokenizer();
    let answer = reusing_answer(&tokenizer);
    let share_of_2 = |copies: usize| {
        let mut text = blobs_text();
        text[1].1 = vec![text_row(&[200, 201, 202, 203, 204, 205, 206]); copies].join("\n");
        let index = SpanIndex::build(&blobs(&text), &tokenizer).unwrap();
        let entries = index.attribute(&tokenizer, &answer).unwrap().entries;
        entries
            .iter()
            .find(|e| e.contribution == 2)
            .map_or(0, |e| e.weight_ppm)
    };
    let once = share_of_2(1);
    assert!(once > 0);
    // Its copies make the span's tokens more common, so if anything it loses.
    assert!(share_of_2(20) <= once);
}

#[test]
fn an_answer_sharing_nothing_or_nothing_at_all_gets_no_entries() {
    let tokenizer = tokenizer();
    let text = blobs_text();
    let index = SpanIndex::build(&blobs(&text), &tokenizer).unwrap();
    for answer in [vec![], encode(&tokenizer, &(300..340).collect::<Vec<_>>())] {
        let attribution = index.attribute(&tokenizer, &answer).unwrap();
        assert!(attribution.spans.is_empty());
        assert!(attribution.entries.is_empty());
        assert_eq!(attribution.budget_ppm, 0);
    }
    // Short runs of common words: maximal matches exist, none counts.
    let words: Vec<usize> = (0..40)
        .map(|i| if i % 4 == 3 { 300 + i } else { i % 3 })
        .collect();
    let common = encode(&tokenizer, &words);
    assert!(!index.maximal_matches(&common).is_empty());
    assert!(index
        .attribute(&tokenizer, &common)
        .unwrap()
        .entries
        .is_empty());
}

#[test]
fn entries_never_exceed_a_million_ppm_on_random_answers() {
    let tokenizer = tokenizer();
    let mut rng = StdRng::seed_from_u64(3);
    let text: Vec<(u64, String)> = (1..=40)
        .map(|c| {
            let rows: Vec<String> = (0..3)
                .map(|_| {
                    let words: Vec<usize> = (0..rng.random_range(1..30))
                        .map(|_| rng.random_range(0..60))
                        .collect();
                    text_row(&words)
                })
                .collect();
            (c, rows.join("\n"))
        })
        .collect();
    let index = SpanIndex::build(&blobs(&text), &tokenizer).unwrap();
    for _ in 0..100 {
        let words: Vec<usize> = (0..rng.random_range(1..200))
            .map(|_| rng.random_range(0..70))
            .collect();
        let attribution = index
            .attribute(&tokenizer, &encode(&tokenizer, &words))
            .unwrap();
        assert!(total(&attribution.entries) <= attribution.budget_ppm);
        assert!(attribution.budget_ppm <= PARTS_PER_MILLION);
        assert!(attribution.entries.len() <= 16);
        assert!(attribution.entries.iter().all(|e| e.weight_ppm > 0));
    }
}

// ---- bad input

#[test]
fn an_empty_version_is_refused_with_a_clear_error() {
    let tokenizer = tokenizer();
    let refused = |jsonl: &[u8]| {
        let blob = Blob {
            contribution: 7,
            jsonl,
        };
        format!("{:#}", SpanIndex::build(&[blob], &tokenizer).unwrap_err())
    };
    let error = format!("{:#}", SpanIndex::build(&[], &tokenizer).unwrap_err());
    assert!(error.contains("no rows"), "{error}");
    let error = refused(b"\n\n");
    assert!(
        error.contains("contribution 7") && error.contains("no rows"),
        "{error}"
    );
    let error = refused(b"{\"prompt\": 1}");
    assert!(
        error.contains("contribution 7") && error.contains("line 1"),
        "{error}"
    );
    let error = SpanIndex::from_token_rows(vec![(row(1, 0), vec![])], [0; 32]).unwrap_err();
    assert!(format!("{error:#}").contains("no tokens"), "{error:#}");
}

// ---- the file

fn built() -> (Tokenizer, Vec<(u64, String)>) {
    (tokenizer(), blobs_text())
}

#[test]
fn the_file_round_trips_and_is_the_same_bytes_every_time() {
    let (tokenizer, text) = built();
    let index = SpanIndex::build(&blobs(&text), &tokenizer).unwrap();
    let again = SpanIndex::build(&blobs(&text), &tokenizer).unwrap();
    assert_eq!(index.to_bytes(), again.to_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    index.save(&path).unwrap();
    let loaded = SpanIndex::load(&path).unwrap();
    assert_eq!(loaded, index);
    let answer = encode(&tokenizer, &(100..140).collect::<Vec<_>>());
    assert_eq!(
        loaded.attribute(&tokenizer, &answer).unwrap(),
        index.attribute(&tokenizer, &answer).unwrap()
    );
    let bytes = index.to_bytes();
    assert_eq!(&bytes[..8], MAGIC);
    assert_eq!(bytes[12], 2, "token ids under 65535 are stored in 2 bytes");
}

fn error_of(bytes: &[u8]) -> String {
    format!("{:#}", SpanIndex::from_bytes(bytes).unwrap_err())
}

/// `bytes` with its checksum recomputed, as a file written by another program would be.
fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
    let body = bytes.len() - 32;
    let sum: [u8; 32] = Blake2b::<U32>::digest(&bytes[..body]).into();
    bytes[body..].copy_from_slice(&sum);
    bytes
}

#[test]
fn a_corrupt_file_is_refused_with_a_clear_error() {
    let (tokenizer, text) = built();
    let bytes = SpanIndex::build(&blobs(&text), &tokenizer)
        .unwrap()
        .to_bytes();
    let mut flipped = bytes.clone();
    flipped[100] ^= 1;
    assert!(error_of(&flipped).contains("checksum"));
    assert!(error_of(&bytes[..bytes.len() - 1]).contains("checksum"));
    assert!(error_of(&bytes[..10]).contains("too few"));
    assert!(error_of(&[]).contains("too few"));

    let mut version = bytes.clone();
    version[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert!(error_of(&resealed(version)).contains("format version"));
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert!(error_of(&resealed(magic)).contains("magic"));
    let mut rows = bytes.clone();
    rows[48] += 1;
    assert!(error_of(&resealed(rows)).contains("do not fill"));
    // A suffix array that is not a permutation (two suffixes at position 0).
    let mut suffixes = bytes.clone();
    let last = suffixes.len() - 32 - 4;
    suffixes[last..last + 4].copy_from_slice(&0u32.to_le_bytes());
    let first = last - 4;
    suffixes[first..first + 4].copy_from_slice(&0u32.to_le_bytes());
    assert!(error_of(&resealed(suffixes)).contains("permutation"));
}

#[test]
fn load_or_build_rebuilds_a_missing_corrupt_or_stale_file() {
    let (tokenizer, text) = built();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let blobs = blobs(&text);
    let fresh = SpanIndex::build(&blobs, &tokenizer).unwrap();

    let built = SpanIndex::load_or_build(&path, TrainingRows::all(&blobs), &tokenizer).unwrap();
    assert_eq!(built, fresh);
    assert_eq!(SpanIndex::load(&path).unwrap(), fresh);

    let mut bytes = std::fs::read(&path).unwrap();
    bytes[70] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    assert!(SpanIndex::load(&path).is_err());
    assert_eq!(
        SpanIndex::load_or_build(&path, TrainingRows::all(&blobs), &tokenizer).unwrap(),
        fresh
    );
    assert_eq!(SpanIndex::load(&path).unwrap(), fresh);

    // Another version's file: rebuilt for these rows.
    let other_text = vec![(5, text_row(&[1, 2, 3]))];
    SpanIndex::build(&self::blobs(&other_text), &tokenizer)
        .unwrap()
        .save(&path)
        .unwrap();
    assert_eq!(
        SpanIndex::load_or_build(&path, TrainingRows::all(&blobs), &tokenizer).unwrap(),
        fresh
    );
    assert_eq!(
        SpanIndex::load(&path).unwrap().fingerprint(),
        fresh.fingerprint()
    );
}

#[test]
fn held_out_rows_are_neither_indexed_nor_paid() {
    // Contribution 1's first row (the rare run the answer reuses) held out for evaluation: it
    // never trained the adapter, so the answer's reuse of it pays nobody for that row.
    let (tokenizer, text) = built();
    let blobs = blobs(&text);
    let held_out = BTreeSet::from([row(1, 0)]);
    let rows = TrainingRows {
        blobs: &blobs,
        held_out: &held_out,
    };
    let examples = rows.examples().unwrap();
    let all = TrainingRows::all(&blobs).examples().unwrap();
    assert_eq!(examples.len(), all.len() - 1);
    assert!(examples.iter().all(|(r, _)| *r != row(1, 0)));
    assert_eq!(examples[0].0, row(1, 1), "rows keep their numbers");

    let every = SpanIndex::build(&blobs, &tokenizer).unwrap();
    let training = SpanIndex::build_training(rows, &tokenizer).unwrap();
    assert_eq!(training.rows(), every.rows() - 1);
    assert_ne!(training.fingerprint(), every.fingerprint());
    let answer = reusing_answer(&tokenizer);
    let paid = |index: &SpanIndex| -> Vec<u64> {
        let entries = index.attribute(&tokenizer, &answer).unwrap().entries;
        entries.iter().map(|e| e.contribution).collect()
    };
    assert_eq!(paid(&every), vec![1, 2, 3]);
    assert_eq!(paid(&training), vec![2, 3]);
    assert!(training
        .spans(&answer)
        .iter()
        .all(|span| !span.rows.contains(&row(1, 0))));

    // A file built over every row (as the daemon wrote before) is stale for the training rows.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    every.save(&path).unwrap();
    assert_eq!(
        SpanIndex::load_or_build(&path, rows, &tokenizer).unwrap(),
        training
    );
    assert_eq!(SpanIndex::load(&path).unwrap(), training);
}

// ---- SmolLM2's tokenizer on Debian rows, when the cache holds the model

#[test]
fn smollm2_answers_reusing_a_debian_row_are_paid_to_its_contribution() {
    let Some(path) = common::smollm2() else {
        eprintln!("SmolLM2 not in the cache: skipped");
        return;
    };
    let tokenizer = attribution_worker::job::ModelDir::load(&path)
        .unwrap()
        .tokenizer;
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap();
    let rows = attribution_worker::rag::quality::debian_rows(&status);
    let text: Vec<(u64, String)> = rows
        .chunks(4)
        .take(50)
        .enumerate()
        .map(|(i, chunk)| {
            let jsonl: Vec<&str> = chunk.iter().map(|p| p.jsonl.as_str()).collect();
            (i as u64 + 1, jsonl.join("\n"))
        })
        .collect();
    let index = SpanIndex::build(&blobs(&text), &tokenizer).unwrap();
    let reused = &rows[37];
    let answer_text = format!(
        "Here is what I know. {}: {}. Anything else?",
        reused.package, reused.summary
    );
    let answer = tokenizer
        .encode(answer_text.as_str(), false)
        .unwrap()
        .get_ids()
        .to_vec();
    let attribution = index.attribute(&tokenizer, &answer).unwrap();
    assert_eq!(
        attribution.entries[0].contribution,
        37 / 4 + 1,
        "{attribution:?}"
    );
    let span = &attribution.spans[0];
    assert!(span
        .text
        .contains(&reused.summary[..reused.summary.len().min(12)]));
    let at: String = answer_text
        .chars()
        .skip(span.chars.start)
        .take(span.chars.len())
        .collect();
    assert_eq!(at, span.text);
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

#[test]
fn combined_entries_give_spans_their_share_and_context_the_rest() {
    let context = vec![entry(1, 700_000), entry(2, 300_000)];
    let spans = vec![entry(3, 250_000), entry(1, 150_000)];
    // One method alone: its own entries, exactly.
    assert_eq!(
        combine(&context, &span_part(0, Vec::new())).unwrap(),
        context
    );
    assert_eq!(
        combine(&[], &span_part(400_000, spans.clone())).unwrap(),
        spans
    );
    assert_eq!(combine(&[], &span_part(0, Vec::new())).unwrap(), []);
    // Both: the spans' entries, and ContextCite's scaled by the 60 % the spans leave.
    assert_eq!(
        combine(&context, &span_part(400_000, spans)).unwrap(),
        [entry(1, 570_000), entry(3, 250_000), entry(2, 180_000)]
    );
    // Rounding: the units left go by largest remainder, never past the budget.
    let thirds = [entry(1, 333_334), entry(2, 333_333), entry(3, 333_333)];
    let combined = combine(&thirds, &span_part(1, vec![entry(4, 1)])).unwrap();
    assert_eq!(total(&combined), PARTS_PER_MILLION);
    assert!(combined.contains(&entry(4, 1)), "{combined:?}");
}

#[test]
fn combined_entries_keep_the_16_largest_and_leave_the_rest_to_the_pool() {
    let context: Vec<_> = (0..10).map(|c| entry(c, 100_000)).collect();
    let spans: Vec<_> = (100..110).map(|c| entry(c, 50_000)).collect();
    let combined = combine(&context, &span_part(500_000, spans)).unwrap();
    // Twenty contributions of 50,000 ppm each: the smaller ids are kept, 4 × 50,000 go to the pool.
    assert_eq!(combined.len(), 16);
    assert_eq!(total(&combined), 800_000);
    assert!(combined
        .iter()
        .all(|e| e.weight_ppm == 50_000 && e.contribution < 106));
}
