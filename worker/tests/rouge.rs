use attribution_worker::rouge::{score, tokenize};

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn tokenizer_matches_rouge_score() {
    assert_eq!(
        tokenize("The Cat's hat, 2024!"),
        ["the", "cat", "s", "hat", "2024"]
    );
    assert!(tokenize("¿¡ --").is_empty());
}

// Reference values worked by hand from rouge-score's definitions (stemmer off).
#[test]
fn reference_values() {
    // ref: the cat sat on the mat (6), pred: the cat lay on the mat (6)
    let s = score("the cat sat on the mat", "the cat lay on the mat");
    close(s.rouge1.fmeasure, 5.0 / 6.0); // 5 unigrams clipped in common
    close(s.rouge2.fmeasure, 3.0 / 5.0); // "the cat", "on the", "the mat"
    close(s.rouge_l.fmeasure, 5.0 / 6.0); // LCS: the cat on the mat

    // ref: police killed the gunman (4), pred: the gunman police killed (4)
    let s = score("police killed the gunman", "the gunman police killed");
    close(s.rouge1.fmeasure, 1.0);
    close(s.rouge2.fmeasure, 2.0 / 3.0); // "police killed", "the gunman"
    close(s.rouge_l.fmeasure, 0.5); // LCS length 2

    // Unequal lengths: P = 2/3, R = 2/4, F = 2PR/(P+R) = 4/7.
    let s = score("a b c d", "a x c");
    close(s.rouge1.precision, 2.0 / 3.0);
    close(s.rouge1.recall, 0.5);
    close(s.rouge1.fmeasure, 4.0 / 7.0);
    close(s.rouge2.fmeasure, 0.0);
    close(s.rouge_l.fmeasure, 4.0 / 7.0);

    // Repeated n-grams are clipped: pred "the the the" against "the cat": overlap 1.
    let s = score("the cat", "the the the");
    close(
        s.rouge1.fmeasure,
        2.0 * (1.0 / 3.0) * 0.5 / (1.0 / 3.0 + 0.5),
    );

    // Empty prediction scores zero.
    close(score("a b", "").rouge_l.fmeasure, 0.0);
}
