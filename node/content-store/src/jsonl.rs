//! The row check of text datanets.
//!
//! A text contribution is UTF-8 JSONL: every non-blank line is a JSON object that is either an
//! instruction row (string `prompt` and string `completion`, no `text`) or a text row (string
//! `text`, neither `prompt` nor `completion`). A row with `text` and `prompt` or `completion` is
//! refused, as it is ambiguous which would be trained. Other fields are allowed and ignored; a
//! `null` counts as present and is not a string. Lines may end in `\n` or `\r\n`; blank lines
//! are skipped. Errors name the 1-based line.
//!
//! The worker (`worker/src/data.rs`) trains on exactly the rows accepted here: both test suites
//! read the cases of `tests/fixtures/jsonl-rows.json`, so the two rule sets cannot drift.

use serde_json::{Map, Value};

/// Why a blob is not valid JSONL rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonlError {
    /// The bytes are not UTF-8.
    #[error("line {line}: not UTF-8")]
    NotUtf8 { line: usize },
    /// A line is not a row of the expected shape.
    #[error("line {line}: {reason}")]
    Malformed { line: usize, reason: String },
    /// No line holds a row.
    #[error("no rows")]
    Empty,
}

impl JsonlError {
    /// The 1-based line at fault, if one is.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::NotUtf8 { line } | Self::Malformed { line, .. } => Some(*line),
            Self::Empty => None,
        }
    }
}

/// Checks every row; returns the number of rows.
pub fn validate(bytes: &[u8]) -> Result<usize, JsonlError> {
    let text = std::str::from_utf8(bytes).map_err(|error| JsonlError::NotUtf8 {
        line: 1 + bytes[..error.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    let mut rows = 0;
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        check_row(line).map_err(|reason| JsonlError::Malformed {
            line: index + 1,
            reason,
        })?;
        rows += 1;
    }
    if rows == 0 {
        return Err(JsonlError::Empty);
    }
    Ok(rows)
}

fn check_row(line: &str) -> Result<(), String> {
    let value: Value = serde_json::from_str(line).map_err(|error| format!("not JSON: {error}"))?;
    let Value::Object(row) = value else {
        return Err("not a JSON object".into());
    };
    let is_string = |row: &Map<String, Value>, field: &str| row.get(field).map(Value::is_string);
    match (
        is_string(&row, "prompt"),
        is_string(&row, "completion"),
        is_string(&row, "text"),
    ) {
        (Some(true), Some(true), None) | (None, None, Some(true)) => Ok(()),
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            Err("`text` cannot be combined with `prompt` or `completion`".into())
        }
        (Some(_), _, None) | (_, Some(_), None) => {
            Err("needs string `prompt` and `completion`".into())
        }
        (None, None, Some(false)) => Err("`text` must be a string".into()),
        (None, None, None) => {
            Err("needs string `prompt` and `completion`, or string `text`".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malformed_line(bytes: &[u8]) -> usize {
        match validate(bytes) {
            Err(JsonlError::Malformed { line, .. }) => line,
            other => panic!("expected a malformed row, got {other:?}"),
        }
    }

    #[test]
    fn accepts_pairs_text_extra_fields_blank_lines_and_crlf() {
        let rows = b"{\"prompt\":\"2+2?\",\"completion\":\"4\"}\n\n{\"text\":\"plain\",\"source\":\"wiki\"}\r\n   \n{\"prompt\":\"a\",\"completion\":\"b\",\"id\":3}";
        assert_eq!(validate(rows), Ok(3));
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

    /// The cases the worker's parser is tested with too.
    #[test]
    fn agrees_with_the_shared_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/jsonl-rows.json"
        );
        let fixture: Fixture =
            serde_json::from_str(&std::fs::read_to_string(path).expect("the fixture exists"))
                .expect("the fixture parses");
        assert!(fixture.cases.len() >= 20);
        for case in fixture.cases {
            let result = validate(case.jsonl.as_bytes());
            if case.accept {
                assert_eq!(result, Ok(case.rows.expect("rows")), "{}", case.name);
            } else {
                let error = result.expect_err(&case.name);
                assert_eq!(error.line(), case.line, "{}: {error}", case.name);
            }
        }
    }

    #[test]
    fn says_why_text_and_a_pair_together_are_refused() {
        let error = validate(b"{\"prompt\":\"a\",\"completion\":\"b\",\"text\":\"c\"}")
            .unwrap_err()
            .to_string();
        assert!(error.contains("`text` cannot be combined"), "{error}");
    }

    #[test]
    fn names_the_line_of_a_malformed_row() {
        assert_eq!(
            malformed_line(b"{\"text\":\"ok\"}\n{\"text\":\"ok\"}\nnot json\n"),
            3
        );
        assert_eq!(
            malformed_line(b"{\"text\":\"ok\"}\n\n[1,2]\n"),
            3,
            "blank lines count"
        );
        assert_eq!(malformed_line(b"\"just a string\""), 1);
        assert_eq!(
            malformed_line(b"{\"text\":\"ok\"}\n{\"prompt\":\"no completion\"}"),
            2
        );
        assert_eq!(malformed_line(b"{\"completion\":\"no prompt\"}"), 1);
        assert_eq!(malformed_line(b"{\"prompt\":1,\"completion\":\"x\"}"), 1);
        assert_eq!(malformed_line(b"{\"text\":42}"), 1);
        assert_eq!(malformed_line(b"{\"other\":\"x\"}"), 1);
        assert_eq!(
            malformed_line(b"{\"text\":\"a\"} {\"text\":\"b\"}"),
            1,
            "two objects on one line"
        );
        assert_eq!(malformed_line(b"{\"text\":\"cut"), 1, "truncated");
    }

    #[test]
    fn names_the_line_of_invalid_utf8() {
        assert_eq!(
            validate(b"{\"text\":\"ok\"}\n{\"text\":\"\xff\"}"),
            Err(JsonlError::NotUtf8 { line: 2 })
        );
    }

    #[test]
    fn refuses_blobs_without_rows() {
        assert_eq!(validate(b""), Err(JsonlError::Empty));
        assert_eq!(validate(b"\n \r\n"), Err(JsonlError::Empty));
    }
}
