//! `attribution-worker verify --attribution` refuses bad input with an error that says what is
//! wrong, before it loads any model: missing or unreadable files, flags that do not go together,
//! and a node that does not answer. A prompt or answer other than the record's is refused by
//! `check_commitments` (unit-tested in `daemon::attribution_jury`). On a real node
//! (`tests/tests/e2e/served_adapter.rs`): a settled record is checked and holds, an unknown
//! record and a forged answer are refused.

use std::process::{Command, Output};

fn verify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attribution-worker"))
        .arg("verify")
        .args(args)
        .output()
        .unwrap()
}

fn refused(args: &[&str]) -> String {
    let output = verify(args);
    assert!(!output.status.success(), "accepted: {args:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_input_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let prompt = dir.path().join("prompt.json");
    let answer = dir.path().join("answer.txt");
    std::fs::write(&prompt, br#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
    std::fs::write(&answer, "hello").unwrap();
    let (prompt, answer) = (prompt.to_str().unwrap(), answer.to_str().unwrap());
    let missing = dir.path().join("missing.json");
    let missing = missing.to_str().unwrap();
    // No node listens on this port: nothing is read from a chain in these cases.
    let files = |prompt: &str, answer: &str| -> Vec<String> {
        ["--node", "ws://127.0.0.1:9", "--attribution", "3"]
            .into_iter()
            .chain(["--prompt-file", prompt, "--answer-file", answer])
            .map(String::from)
            .collect()
    };
    let cases: [(Vec<String>, &str); 7] = [
        (files(prompt, answer)[..6].to_vec(), "--answer-file"),
        (
            [files(prompt, answer), vec!["--job".into(), "1".into()]].concat(),
            "cannot be used with",
        ),
        (
            files(prompt, answer)
                .into_iter()
                .map(|a| if a == "3" { "x".into() } else { a })
                .collect(),
            "invalid value 'x'",
        ),
        (files(missing, answer), "--prompt-file: reading"),
        (files(prompt, missing), "--answer-file: reading"),
        (files(prompt, answer), "node unreachable"),
        (
            ["--model", "1", "--prompt-file", prompt]
                .map(String::from)
                .to_vec(),
            "--attribution",
        ),
    ];
    for (args, reason) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = refused(&args);
        assert!(
            err.to_lowercase().contains(&reason.to_lowercase()),
            "{args:?}: {err}"
        );
    }
}
