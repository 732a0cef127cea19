//! `attribution-worker verify --attribution` refuses bad input with an error that says what is
//! wrong, before it loads any model: missing or unreadable files, flags that do not go together,
//! and a node that does not answer. A prompt or answer other than the record's is refused by
//! `check_commitments` (unit-tested in `daemon::attribution_jury`); an unknown record needs a
//! node, and its test against a devnet is planned.

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
    let node = ["--node", "ws://127.0.0.1:9"];

    let err = refused(&["--attribution", "3", "--prompt-file", prompt]);
    assert!(err.contains("--answer-file"), "{err}");
    let err = refused(&[
        "--attribution",
        "3",
        "--job",
        "1",
        "--prompt-file",
        prompt,
        "--answer-file",
        answer,
    ]);
    assert!(err.contains("cannot be used with"), "{err}");
    let err = refused(&[
        "--attribution",
        "x",
        "--prompt-file",
        prompt,
        "--answer-file",
        answer,
    ]);
    assert!(err.contains("invalid value 'x'"), "{err}");
    let err = refused(&[
        "--prompt-file",
        prompt,
        "--answer-file",
        answer,
        "--model",
        "1",
    ]);
    assert!(err.contains("--attribution"), "{err}");

    let err = refused(
        &[
            &node[..],
            &[
                "--attribution",
                "3",
                "--prompt-file",
                missing,
                "--answer-file",
                answer,
            ],
        ]
        .concat(),
    );
    assert!(err.contains("--prompt-file: reading"), "{err}");
    let err = refused(
        &[
            &node[..],
            &[
                "--attribution",
                "3",
                "--prompt-file",
                prompt,
                "--answer-file",
                missing,
            ],
        ]
        .concat(),
    );
    assert!(err.contains("--answer-file: reading"), "{err}");
    let err = refused(
        &[
            &node[..],
            &[
                "--attribution",
                "3",
                "--prompt-file",
                prompt,
                "--answer-file",
                answer,
            ],
        ]
        .concat(),
    );
    assert!(err.to_lowercase().contains("connect"), "{err}");
}
