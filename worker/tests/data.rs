use attribution_worker::data::{make_batch, parse_jsonl, Encoded};
use burn::tensor::Device;

#[test]
fn rows_of_both_kinds_parse() {
    let rows =
        parse_jsonl("{\"prompt\":\"a\",\"completion\":\"b\"}\n\n{\"text\":\"c d\"}\n").unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].prompt, "");
    assert_eq!(rows[1].completion, "c d");
}

#[test]
fn malformed_jsonl_names_the_line() {
    let err = format!(
        "{:#}",
        parse_jsonl("{\"text\":\"ok\"}\n{\"prompt\": \"x\"\n").unwrap_err()
    );
    assert!(err.contains("JSONL line 2: not JSON"), "{err}");
    let err = parse_jsonl("{\"prompt\":\"x\"}").unwrap_err().to_string();
    assert!(
        err.contains("line 1: needs string `prompt` and `completion`"),
        "{err}"
    );
    let err = parse_jsonl("{\"prompt\":\"a\",\"completion\":\"b\",\"text\":\"c\"}")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 1: `text` cannot be combined with `prompt` or `completion`"),
        "{err}"
    );
    assert!(parse_jsonl("\n")
        .unwrap_err()
        .to_string()
        .contains("no rows"));
}

#[test]
fn extra_fields_are_ignored() {
    let rows = parse_jsonl("{\"prompt\":\"a\",\"completion\":\"b\",\"source\":\"wiki\"}").unwrap();
    assert_eq!(rows[0].prompt, "a");
    assert_eq!(rows[0].completion, "b");
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    jsonl: String,
    accept: bool,
    rows: Option<usize>,
    line: Option<usize>,
}

/// The node's upload check reads the same cases (`node/content-store/src/jsonl.rs`): whatever a
/// text datanet accepts, the worker trains on, and nothing else.
#[test]
fn agrees_with_the_nodes_row_check() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/jsonl-rows.json"
    );
    let fixture: Fixture =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the shared fixture exists"))
            .expect("the fixture parses");
    assert!(fixture.cases.len() >= 20);
    for case in fixture.cases {
        let result = parse_jsonl(&case.jsonl);
        if case.accept {
            let rows = result.unwrap_or_else(|e| panic!("{}: {e:#}", case.name));
            assert_eq!(Some(rows.len()), case.rows, "{}", case.name);
        } else {
            let error = format!("{:#}", result.expect_err(&case.name));
            match case.line {
                Some(line) => assert!(
                    error.contains(&format!("JSONL line {line}:")),
                    "{}: {error}",
                    case.name
                ),
                None => assert!(error.contains("no rows"), "{}: {error}", case.name),
            }
        }
    }
}

#[test]
fn prompt_and_padding_are_masked() {
    let a = Encoded {
        tokens: vec![1, 10, 11, 20, 21, 2],
        prompt_len: 3,
    };
    let b = Encoded {
        tokens: vec![1, 12, 22, 2],
        prompt_len: 2,
    };
    let batch = make_batch(&[&a, &b], 0, &Device::default());
    assert_eq!(batch.inputs.dims(), [2, 5]);
    let mask = batch.mask.into_data().try_to_vec::<f32>().unwrap();
    // a: targets 10 11 | 20 21 2 -> trained from target index 2; b: targets 12 | 22 2 | pad pad
    assert_eq!(mask, [0., 0., 1., 1., 1., 0., 1., 1., 0., 0.]);
    let targets = batch.targets.into_data().try_to_vec::<i32>().unwrap();
    assert_eq!(targets, [10, 11, 20, 21, 2, 12, 22, 2, 0, 0]);
    assert_eq!(batch.trained_tokens, 5);
}
