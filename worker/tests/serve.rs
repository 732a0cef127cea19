//! `attribution-worker serve` as a client sees it: the real binary on loopback, a small model
//! with a chat template and two adapters, spoken to over HTTP.

mod common;

use attribution_primitives::attribution::AttributionEntry;
use attribution_worker::data::load_tokenizer;
use attribution_worker::lora::LoraConfig;
use attribution_worker::model::Llama;
use attribution_worker::peft;
use attribution_worker::provenance::attribution::SpanAttribution;
use attribution_worker::provenance::combined::combine;
use attribution_worker::provenance::index::SpanIndex;
use attribution_worker::rag::attribution::ContextCiteConfig;
use attribution_worker::rag::index::Blob;
use attribution_worker::tuning::Method;
use burn::tensor::{Device, Distribution, Tensor};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Renders messages as their words and asks for an answer after `=`.
const TEMPLATE: &str =
    "{% for message in messages %}{{ message['content'] }} {% endfor %}{% if add_generation_prompt %}={% endif %}";

struct Server {
    child: Child,
    url: String,
    /// Holds the model (`model/`) and the adapters.
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A random adapter on every projection (B random too, so it changes the output).
fn write_adapter(model_dir: &Path, dir: &Path, seed: u64) {
    let device = Device::default();
    device.seed(seed);
    let lora = LoraConfig::new(4, 8.0).with_targets(
        ["q", "k", "v", "o", "gate", "up", "down"]
            .map(String::from)
            .to_vec(),
    );
    let model = common::load(model_dir, &Method::Lora(lora.clone()), &device)
        .map_projections(|_, mut projection| {
            if let Some(adapter) = projection.lora.take() {
                let b = Tensor::random(adapter.b.shape(), Distribution::Normal(0.0, 0.5), &device);
                projection.lora = Some(lora.from_factors(adapter.a.val(), b));
            }
            Ok(projection)
        })
        .unwrap();
    let _: &Llama = &model;
    peft::save_adapter(&model, &lora, None, dir).unwrap();
}

fn start(extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir_all(&model).unwrap();
    common::write_model(&model, attribution_worker::checkpoint::StoredDtype::F32);
    std::fs::write(model.join("chat_template.jinja"), TEMPLATE).unwrap();
    for (name, seed) in [("first", 11), ("second", 12)] {
        let adapter = dir.path().join(name);
        std::fs::create_dir_all(&adapter).unwrap();
        write_adapter(&model, &adapter, seed);
    }
    let port = free_port();
    let mut args: Vec<String> = [
        "serve",
        "--model",
        model.to_str().unwrap(),
        "--name",
        "tiny",
        "--adapter",
        &format!("first={}", dir.path().join("first").display()),
        "--adapter",
        &format!("second={}", dir.path().join("second").display()),
        "--http",
        &format!("127.0.0.1:{port}"),
        "--weights",
        "f32",
        "--threads",
        "1",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new(env!("CARGO_BIN_EXE_attribution-worker"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while ureq::get(&format!("{url}/health")).call().is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Server { child, url, dir }
}

/// POSTs `body` (raw bytes) and returns the status and the JSON answer.
fn post(server: &Server, path: &str, body: &[u8]) -> (u16, Value) {
    let mut response = ureq::post(&format!("{}{path}", server.url))
        .config()
        .http_status_as_error(false)
        .build()
        .header("content-type", "application/json")
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Sends only the head of a POST declaring a `length`-byte body, and reads the answer.
fn declare_oversize(server: &Server, path: &str, length: usize) -> (u16, Value) {
    use std::io::{Read, Write};
    let address = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.into())),
    )
}

fn chat(server: &Server, body: Value) -> (u16, Value) {
    post(server, "/v1/chat/completions", body.to_string().as_bytes())
}

fn ask(model: &str, extra: Value) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [{"role": "user", "content": "w3 w7 w11"}],
        "max_tokens": 12,
        "temperature": 0,
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    body
}

/// The SSE events of a streamed request, parsed, up to `[DONE]`.
fn stream(server: &Server, body: Value) -> Vec<Value> {
    let response = ureq::post(&format!("{}/v1/chat/completions", server.url))
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap();
    assert!(response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let reader = BufReader::new(response.into_body().into_reader());
    let mut events = Vec::new();
    for line in reader.lines() {
        let line = line.unwrap();
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            return events;
        }
        events.push(serde_json::from_str(data).unwrap());
    }
    panic!("the stream ended without [DONE]: {events:?}");
}

#[test]
fn chat_completions_follow_the_openai_wire_format_and_stream_the_same_answer() {
    let server = start(&[]);
    let mut models = ureq::get(&format!("{}/v1/models", server.url))
        .call()
        .unwrap();
    let models: Value = models.body_mut().read_json().unwrap();
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tiny", "first", "second"]);
    assert!(models["data"][0].get("parent").is_none());
    assert_eq!(models["data"][1]["parent"], "tiny");

    let (status, answer) = chat(&server, ask("tiny", json!({})));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["object"], "chat.completion");
    assert!(answer["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let choice = &answer["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    let text = choice["message"]["content"].as_str().unwrap().to_string();
    let usage = &answer["usage"];
    // "w3 w7 w11 =" is four tokens.
    assert_eq!(usage["prompt_tokens"], 4);
    let completion = usage["completion_tokens"].as_u64().unwrap();
    assert!((1..=12).contains(&completion), "{usage}");
    assert_eq!(usage["total_tokens"].as_u64().unwrap(), 4 + completion);
    let reason = choice["finish_reason"].as_str().unwrap();
    assert!(
        (reason == "length") == (completion == 12),
        "{reason} after {completion} tokens"
    );

    // Greedy is deterministic, and streaming yields the same text in pieces.
    assert_eq!(
        chat(&server, ask("tiny", json!({}))).1["choices"][0]["message"]["content"],
        text
    );
    let events = stream(
        &server,
        ask(
            "tiny",
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ),
    );
    assert_eq!(events[0]["object"], "chat.completion.chunk");
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    let streamed: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed, text);
    let finish = &events[events.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], reason);
    let last = events.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"], *usage);

    // The same seed gives the same sample; log-probabilities come with their alternatives.
    let sampled = json!({"temperature": 1.0, "seed": 5, "logprobs": true, "top_logprobs": 3});
    let (_, first) = chat(&server, ask("tiny", sampled.clone()));
    let (_, again) = chat(&server, ask("tiny", sampled));
    assert_eq!(
        first["choices"][0]["message"],
        again["choices"][0]["message"]
    );
    let logprobs = first["choices"][0]["logprobs"]["content"]
        .as_array()
        .unwrap();
    assert!(!logprobs.is_empty());
    for token in logprobs {
        let logprob = token["logprob"].as_f64().unwrap();
        assert!(logprob <= 0.0);
        let top = token["top_logprobs"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        assert!(top[0]["logprob"].as_f64().unwrap() >= logprob - 1e-6);
    }

    // A stop string ends the answer before it.
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() >= 3 {
        let (_, stopped) = chat(&server, ask("tiny", json!({"stop": words[2]})));
        let content = stopped["choices"][0]["message"]["content"]
            .as_str()
            .unwrap();
        assert!(
            !content.contains(words[2]) || words[..2].contains(&words[2]),
            "{content}"
        );
        assert_eq!(stopped["choices"][0]["finish_reason"], "stop");
    }

    // /v1/completions on the raw prompt.
    let (status, completion) = post(
        &server,
        "/v1/completions",
        json!({"model": "tiny", "prompt": "w3 w7 w11 =", "max_tokens": 5, "temperature": 0})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200, "{completion}");
    assert_eq!(completion["object"], "text_completion");
    assert!(completion["choices"][0]["text"].is_string());

    let mut metrics = ureq::get(&format!("{}/metrics", server.url))
        .call()
        .unwrap();
    let metrics = metrics.body_mut().read_to_string().unwrap();
    assert!(
        metrics.contains("attribution_worker_requests_total{endpoint=\"chat\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("attribution_worker_completion_tokens_total"));

    // A web app on another origin (the studio) may call the API, with the payment header.
    let preflight = ureq::options(&format!("{}/v1/chat/completions", server.url))
        .header("Origin", "http://127.0.0.1:3000")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type,x-attribution-authorization",
        )
        .call()
        .unwrap();
    let allowed = |name: &str| {
        preflight
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(allowed("access-control-allow-origin"), "*");
    assert!(allowed("access-control-allow-methods").contains("POST"));
    assert!(allowed("access-control-allow-headers").contains("x-attribution-authorization"));
}

#[test]
fn adapters_batched_together_answer_as_each_alone() {
    let server = start(&[]);
    let alone: Vec<String> = ["tiny", "first", "second"]
        .iter()
        .map(|model| {
            let (status, answer) = chat(&server, ask(model, json!({"max_tokens": 24})));
            assert_eq!(status, 200, "{answer}");
            answer["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_ne!(alone[0], alone[1], "the adapter changes the answer");
    assert_ne!(alone[1], alone[2]);
    // All three at once, several times each: they share decode steps.
    let together: Vec<(usize, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let server = &server;
                scope.spawn(move || {
                    let model = ["tiny", "first", "second"][i % 3];
                    let (_, answer) = chat(server, ask(model, json!({"max_tokens": 24})));
                    (
                        i % 3,
                        answer["choices"][0]["message"]["content"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (model, text) in together {
        assert_eq!(
            text, alone[model],
            "model {model} answered differently in a batch"
        );
    }
}

#[test]
fn bad_requests_get_openai_errors_and_lose_nothing() {
    let server = start(&["--max-tokens", "64", "--context", "48"]);
    let error = |(status, body): (u16, Value)| {
        (
            status,
            body["error"]["code"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(
        error(post(&server, "/v1/chat/completions", b"{not json")),
        (400, "invalid_json".into())
    );
    assert_eq!(
        error(post(
            &server,
            "/v1/chat/completions",
            b"{\"model\": \"tiny\"}"
        )),
        (400, "invalid_json".into())
    );
    assert_eq!(
        error(chat(&server, ask("nope", json!({})))),
        (404, "model_not_found".into())
    );
    assert_eq!(
        error(chat(&server, ask("tiny", json!({"max_tokens": 0})))),
        (400, "invalid_value".into())
    );
    assert_eq!(
        error(chat(&server, ask("tiny", json!({"max_tokens": 65})))),
        (400, "invalid_value".into())
    );
    assert_eq!(
        error(chat(&server, ask("tiny", json!({"temperature": 3})))),
        (400, "invalid_value".into())
    );
    assert_eq!(
        error(chat(&server, ask("tiny", json!({"n": 2})))),
        (400, "invalid_value".into())
    );
    assert_eq!(
        error(chat(&server, json!({"model": "tiny", "messages": []}))),
        (400, "invalid_value".into())
    );
    let long = "w1 ".repeat(60);
    assert_eq!(
        error(chat(
            &server,
            json!({"model": "tiny", "messages": [{"role": "user", "content": long}]})
        )),
        (400, "context_length_exceeded".into())
    );
    // An oversize body is refused from its declared length, in the same error shape, before
    // the client has sent it (so the client reads the answer, not a reset connection).
    let (status, body) = declare_oversize(&server, "/v1/chat/completions", 3 << 20);
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "request_too_large", "{body}");
    assert_eq!(error(post(&server, "/v1/nothing", b"{}")).0, 404);
    // And the server still answers.
    assert_eq!(chat(&server, ask("tiny", json!({}))).0, 200);
}

#[test]
fn a_full_queue_answers_429_and_a_client_that_hangs_up_frees_its_slot() {
    let server = start(&[
        "--max-running",
        "1",
        "--max-waiting",
        "1",
        "--max-tokens",
        "480",
        "--context",
        "512",
    ]);
    // Long streamed requests, each held open (a streamed answer's headers come as soon as the
    // request is queued): with one running and one waiting, the next is refused. An answer may
    // end early (the model can emit its end token), so requests are opened until one is refused,
    // whatever the machine's load; the test hangs up on the held ones when it chooses.
    let body = ask(
        "tiny",
        json!({"max_tokens": 480, "stop": "never-generated", "stream": true}),
    );
    let mut held = Vec::new();
    let refused = loop {
        let mut response = ureq::post(&format!("{}/v1/chat/completions", server.url))
            .config()
            .http_status_as_error(false)
            .build()
            .header("content-type", "application/json")
            .send(body.to_string().as_bytes())
            .unwrap();
        if response.status().as_u16() == 429 {
            break response.body_mut().read_to_string().unwrap();
        }
        assert_eq!(response.status().as_u16(), 200);
        held.push(response.into_body().into_reader());
        assert!(held.len() < 32, "no request was refused");
    };
    let refused: Value = serde_json::from_str(&refused).unwrap();
    assert_eq!(refused["error"]["code"], "too_many_requests", "{refused}");
    drop(held);
    // The hung-up requests are cancelled (the server notices a closed connection on its own
    // time): the single slot serves a new request promptly.
    assert_eq!(
        chat_once_free(&server),
        200,
        "the slot was not freed within 20 s"
    );

    // A streaming client that hangs up mid-answer does not keep the slot either (on this tiny
    // model the answer may end before the hang-up is noticed: the engine test below shows the
    // cancellation itself).
    let response = ureq::post(&format!("{}/v1/chat/completions", server.url))
        .header("content-type", "application/json")
        .send(
            ask("tiny", json!({"max_tokens": 480, "stream": true}))
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    let mut reader = response.into_body().into_reader();
    let mut first = [0u8; 64];
    reader.read_exact(&mut first).unwrap();
    drop(reader);
    assert_eq!(
        chat_once_free(&server),
        200,
        "the streaming slot was not freed within 20 s"
    );
}

/// Asks for a short answer until the server stops answering 429 (or 20 s pass) and returns the
/// last status. A hung-up request's place is freed on the engine's time, and the streamed
/// request itself may still sit in the engine's inbox (its first chunk is written before the
/// engine takes it), so a loaded machine can refuse the first tries.
fn chat_once_free(server: &Server) -> u16 {
    let started = Instant::now();
    loop {
        let (status, _) = chat(server, ask("tiny", json!({"max_tokens": 3})));
        if status != 429 || started.elapsed() > Duration::from_secs(20) {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes `rows` (JSON values, one a line) as `rows-{i}.jsonl` in `dir`.
fn write_rows(dir: &Path, i: usize, rows: &[Value]) -> String {
    let path = dir.join(format!("rows-{i}.jsonl"));
    let text: String = rows.iter().map(|r| r.to_string() + "\n").collect();
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A greedy chat request to `tiny` asking the first task question, whose rows the task rows of
/// seed 1 hold.
fn task_question(max_tokens: u64) -> Value {
    let question = &common::TASK.examples(1, 1)[0].prompt;
    json!({
        "model": "tiny",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": max_tokens,
        "temperature": 0,
    })
}

/// Ten task rows drawn with `seed`.
fn task_rows(seed: u64) -> Vec<Value> {
    common::TASK
        .examples(10, seed)
        .iter()
        .map(|e| json!({"prompt": e.prompt, "completion": e.completion}))
        .collect()
}

fn entries_of(value: &Value) -> Vec<AttributionEntry> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|e| AttributionEntry {
            contribution: e["contribution"].as_u64().unwrap(),
            weight_ppm: e["weight_ppm"].as_u64().unwrap() as u32,
        })
        .collect()
}

/// Recomputes the span provenance of an answer's `attribution` from the row files (the i-th is
/// contribution i) and the served model's tokenizer, checks the spans and the combined entries
/// against it exactly, and returns it.
fn check_spans(server: &Server, files: &[String], attribution: &Value) -> SpanAttribution {
    assert_eq!(attribution["method"], "contextcite-v1@f32+spans-v1");
    let tokenizer = load_tokenizer(&server.dir.path().join("model/tokenizer.json")).unwrap();
    let contents: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let blobs: Vec<Blob<'_>> = contents
        .iter()
        .enumerate()
        .map(|(i, jsonl)| Blob {
            contribution: i as u64,
            jsonl,
        })
        .collect();
    let answer: Vec<u32> = attribution["answer_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as u32)
        .collect();
    let spans = SpanIndex::build(&blobs, &tokenizer)
        .unwrap()
        .attribute(&tokenizer, &answer)
        .unwrap();
    let served = &attribution["spans"];
    assert_eq!(served["covered_tokens"], spans.covered_tokens);
    assert_eq!(served["budget_ppm"], spans.budget_ppm);
    assert_eq!(entries_of(&served["entries"]), spans.entries);
    let expected: Vec<Value> = spans
        .spans
        .iter()
        .map(|s| {
            json!({
                "chars": [s.chars.start, s.chars.end],
                "text": s.text,
                "tokens": [s.span.tokens.start, s.span.tokens.end],
                "occurrences": s.span.occurrences,
                "information": s.span.information,
                "rows": s.span.rows.iter().map(|r| json!({"contribution": r.contribution, "row": r.row})).collect::<Vec<_>>(),
            })
        })
        .collect();
    assert_eq!(served["spans"], json!(expected));
    // The combined entries are ContextCite's and the spans' by the documented rule.
    let context = entries_of(&attribution["context"]["entries"]);
    let entries = entries_of(&attribution["entries"]);
    assert_eq!(entries, combine(&context, &spans).unwrap());
    assert!(entries.len() <= 16);
    let attributed: u64 = entries.iter().map(|e| u64::from(e.weight_ppm)).sum();
    assert_eq!(
        attributed + attribution["pool_ppm"].as_u64().unwrap(),
        1_000_000
    );
    spans
}

#[test]
fn grounded_answers_carry_a_deterministic_attribution_to_the_retrieved_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<String> = (0..2)
        .map(|i| write_rows(dir.path(), i, &task_rows(i as u64 + 1)))
        .collect();
    // The tiny model answers "w11 w12 w11 w12 …": a third contribution holds 12 of its 20
    // tokens as a row.
    let repeated = ["w11 w12"; 6].join(" ");
    files.push(write_rows(dir.path(), 2, &[json!({ "text": repeated })]));
    let server = start(&[
        "--rows", &files[0], "--rows", &files[1], "--rows", &files[2],
    ]);
    let body = task_question(20);
    let (status, answer) = chat(&server, body.clone());
    assert_eq!(status, 200, "{answer}");
    let attribution = &answer["attribution"];
    assert_eq!(
        attribution["answer_tokens"].as_array().unwrap().len(),
        answer["usage"]["completion_tokens"].as_u64().unwrap() as usize
    );
    let sources = attribution["sources"].as_array().unwrap();
    // The exact ablation, with its 32 masks.
    assert_eq!(attribution["method"], "contextcite-v1@f32+spans-v1");
    let masks = ContextCiteConfig::default().masks_for(sources.len());
    assert_eq!((attribution["ablations"].as_u64(), masks), (Some(32), 32));
    assert!(
        !sources.is_empty(),
        "the question's rows are retrieved: {attribution}"
    );
    // The row the question was taken from is among the sources.
    assert!(sources
        .iter()
        .any(|s| s["contribution"] == 0 && s["rows"].as_array().unwrap().contains(&json!(0))));
    // Both methods have a say here: the combined entries are checked against them.
    let spans = check_spans(&server, &files, attribution);
    assert!(!spans.entries.is_empty(), "{attribution}");
    assert_ne!(
        attribution["context"]["entries"],
        json!([]),
        "{attribution}"
    );
    // Anyone with the prompt gets the same attribution, streamed or not.
    let (_, again) = chat(&server, body.clone());
    assert_eq!(again["attribution"], *attribution);
    assert_eq!(again["choices"], answer["choices"]);
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let events = stream(&server, streamed);
    assert_eq!(events.last().unwrap()["attribution"], *attribution);
    // Bad input to a grounded model gets the same errors, and the server still answers.
    let long = "w1 ".repeat(600);
    let (status, error) = chat(
        &server,
        json!({"model": "tiny", "messages": [{"role": "user", "content": long}]}),
    );
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("context_length_exceeded")),
        "{error}"
    );
    let (status, error) = chat(&server, json!({"model": "tiny", "messages": []}));
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("invalid_value"))
    );
    let (_, after) = chat(&server, body);
    assert_eq!(after["attribution"], *attribution);
}

#[test]
fn an_answer_repeating_a_training_row_pays_its_contribution_through_its_spans() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<String> = (0..2)
        .map(|i| write_rows(dir.path(), i, &task_rows(i as u64 + 1)))
        .collect();
    // Words no row holds: nothing is retrieved, so the prompt is the same whatever the rows.
    let body = json!({
        "model": "tiny",
        "messages": [{"role": "user", "content": "hello there"}],
        "max_tokens": 16,
        "temperature": 0,
    });
    let first = {
        let server = start(&["--rows", &files[0], "--rows", &files[1]]);
        let (status, answer) = chat(&server, body.clone());
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["attribution"]["sources"], json!([]));
        check_spans(&server, &files, &answer["attribution"]);
        answer
    };
    // A third contribution holds the answer as a row: served again, the same answer is paid to it.
    let text = first["choices"][0]["message"]["content"].as_str().unwrap();
    files.push(write_rows(dir.path(), 2, &[json!({ "text": text })]));
    let server = start(&[
        "--rows", &files[0], "--rows", &files[1], "--rows", &files[2],
    ]);
    let (status, answer) = chat(&server, body.clone());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["choices"], first["choices"]);
    let attribution = &answer["attribution"];
    let spans = check_spans(&server, &files, attribution);
    assert!(!spans.spans.is_empty(), "{attribution}");
    assert!(spans.spans[0].span.contributions().contains(&2));
    assert_eq!(attribution["context"]["entries"], json!([]));
    assert_eq!(
        attribution["entries"][0]["contribution"], 2,
        "{attribution}"
    );
    assert_eq!(spans.spans[0].text, text.trim());
    let (_, again) = chat(&server, body);
    assert_eq!(again["attribution"], *attribution);
}

/// An engine (no server) over the test model in `f32` on one thread, running `slots` requests
/// at once; the model's directory (kept alive by the caller) and configuration beside it.
fn engine_on_test_model(
    slots: usize,
    max_positions: usize,
    adapter_budget: usize,
) -> (
    tempfile::TempDir,
    attribution_worker::model::LlamaConfig,
    attribution_worker::serve::engine::Engine,
) {
    use attribution_worker::job::ModelDir;
    use attribution_worker::serve::engine::{Engine, EngineConfig};
    use attribution_worker::serve::runtime::native::{NativeRuntime, RuntimeOptions};
    use attribution_worker::serve::runtime::quant::WeightFormat;
    use attribution_worker::serve::runtime::KvFormat;

    let dir = common::model_dir();
    let model = ModelDir::load(dir.path()).unwrap();
    let runtime = NativeRuntime::load(
        &model.checkpoint,
        RuntimeOptions {
            weights: WeightFormat::F32,
            max_slots: slots,
            max_positions,
            threads: 1,
            kv: KvFormat::F32,
        },
    )
    .unwrap();
    let engine = Engine::start(
        Box::new(runtime),
        model.tokenizer.clone(),
        Default::default(),
        EngineConfig {
            max_running: slots,
            adapter_budget,
            ..EngineConfig::default()
        },
    );
    (dir, model.checkpoint.config.clone(), engine)
}

/// A short fixed prompt, answered greedily with `max_tokens` tokens on `adapter`.
fn greedy_request(
    adapter: Option<u64>,
    max_tokens: usize,
) -> attribution_worker::serve::engine::GenerateRequest {
    attribution_worker::serve::engine::GenerateRequest {
        adapter,
        prompt: vec![1, 5, 9, 13, 4],
        max_tokens,
        sampling: attribution_worker::serve::sampling::Sampling::greedy(),
        stop: Vec::new(),
        logprobs: None,
        keep_prompt: false,
    }
}

#[test]
fn a_request_whose_receiver_is_dropped_is_cancelled_and_frees_its_slot() {
    use attribution_worker::serve::engine::Event;

    let (_dir, _, engine) = engine_on_test_model(1, 512, 512 << 20);
    let request = |max_tokens| greedy_request(None, max_tokens);
    // Hung up at once: the engine drops it instead of generating 500 tokens into the void.
    drop(engine.generate(request(500)).unwrap());
    let mut events = engine.generate(request(3)).unwrap();
    let finished = loop {
        match events.blocking_recv().unwrap() {
            Event::Finished(finished) => break finished,
            Event::Failed(error) => panic!("{error}"),
            Event::Token { .. } => {}
        }
    };
    assert_eq!(finished.tokens.len(), 3);
    let stats = engine.stats();
    assert_eq!(stats.requests_cancelled, 1, "{stats:?}");
    assert!(
        stats.generated_tokens < 20,
        "the dropped request generated: {stats:?}"
    );
}

#[test]
fn a_batch_keeps_stepping_while_an_adapter_is_read_and_a_failed_read_fails_its_requests_only() {
    use attribution_worker::lora::TargetModule;
    use attribution_worker::model::projection_path;
    use attribution_worker::serve::engine::Event;
    use attribution_worker::serve::runtime::{LoraWeights, Values};
    use std::sync::{Arc, Condvar, Mutex};
    use tokio::sync::mpsc::UnboundedReceiver;

    let (_dir, config, engine) = engine_on_test_model(2, 128, 512 << 20);
    let [d_in, d_out] = config.projection_shape(TargetModule::Q);
    let weights = LoraWeights {
        config: LoraConfig::new(2, 4.0).with_targets(vec!["q".into()]),
        projections: vec![(
            projection_path(0, TargetModule::Q),
            Values::F32(vec![0.1; 2 * d_in]),
            Values::F32(vec![0.1; 2 * d_out]),
        )],
    };
    // Adapter 1's file "reads" until the test opens the gate, or 20 s pass: a scheduler that
    // waits for the read then still ends, and the test fails instead of hanging. The flag says
    // whether a read has returned.
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let returned = Arc::new(Mutex::new(false));
    let (held, done) = (gate.clone(), returned.clone());
    engine.add_adapter(
        1,
        Arc::new(move || {
            let (open, opened) = &*held;
            let guard = open.lock().unwrap();
            let _ = opened
                .wait_timeout_while(guard, Duration::from_secs(20), |open| !*open)
                .unwrap();
            *done.lock().unwrap() = true;
            Ok(weights.clone())
        }),
    );
    engine.add_adapter(2, Arc::new(|| anyhow::bail!("the adapter file is corrupt")));
    let request = greedy_request;
    let finish = |events: &mut UnboundedReceiver<Event>| -> Result<usize, String> {
        let mut tokens = 0;
        loop {
            match events.blocking_recv().unwrap() {
                Event::Token { .. } => tokens += 1,
                Event::Finished(finished) => {
                    assert_eq!(finished.tokens.len(), tokens);
                    return Ok(tokens);
                }
                Event::Failed(error) => return Err(error),
            }
        }
    };
    let mut adapted = engine.generate(request(Some(1), 3)).unwrap();
    let mut base = engine.generate(request(None, 30)).unwrap();
    assert_eq!(finish(&mut base), Ok(30));
    assert!(
        !*returned.lock().unwrap(),
        "the base request waited for the adapter's read"
    );
    assert!(adapted.try_recv().is_err(), "answered before its adapter");
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    assert_eq!(finish(&mut adapted), Ok(3));
    assert_eq!(engine.stats().adapter_loads, 1);

    let mut broken = engine.generate(request(Some(2), 3)).unwrap();
    let mut fine = engine.generate(request(Some(1), 3)).unwrap();
    let error = finish(&mut broken).unwrap_err();
    assert!(error.contains("adapter file is corrupt"), "{error}");
    assert_eq!(finish(&mut fine), Ok(3));
    // Nothing is left counted as waiting (the figures are published after each step).
    let deadline = Instant::now() + Duration::from_secs(10);
    let stats = loop {
        let stats = engine.stats();
        if (stats.waiting, stats.running) == (0, 0) || Instant::now() > deadline {
            break stats;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!((stats.waiting, stats.running), (0, 0), "{stats:?}");
}

/// `"retrieval": false` asks a grounded model without sources: the prompt is the conversation as
/// the chat template renders it (what a model without rows is asked), nothing is retrieved or
/// ablated, and the answer is paid to the training rows it repeats (spans) only. A `retrieval`
/// that is not a boolean, or `true` for a model without rows, is refused.
#[test]
fn a_grounded_model_asked_without_retrieval_pays_only_its_training_rows() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = (0..2)
        .map(|i| write_rows(dir.path(), i, &task_rows(i as u64 + 1)))
        .collect();
    let server = start(&["--rows", &files[0], "--rows", &files[1]]);
    let question = common::TASK.examples(1, 1)[0].prompt.clone();
    let body = json!({
        "model": "tiny",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": 20,
        "temperature": 0,
        "retrieval": false,
    });
    let (status, answer) = chat(&server, body.clone());
    assert_eq!(status, 200, "{answer}");
    let attribution = &answer["attribution"];
    assert_eq!(attribution["retrieved"], json!([]), "{attribution}");
    assert_eq!(attribution["sources"], json!([]));
    assert_eq!(attribution["context"]["entries"], json!([]));
    assert_eq!(
        (attribution["ablations"].as_u64(), &attribution["seed"]),
        (Some(0), &Value::Null)
    );
    check_spans(&server, &files, attribution);
    // The same prompt as the model without rows, so the same answer.
    let plain = start(&[]);
    let mut unground = body.clone();
    unground.as_object_mut().unwrap().remove("retrieval");
    let (_, without_rows) = chat(&plain, unground.clone());
    assert_eq!(answer["usage"], without_rows["usage"]);
    assert_eq!(answer["choices"], without_rows["choices"]);
    // With retrieval (the default) the prompt holds the sources.
    let (_, retrieved) = chat(&server, unground);
    assert_ne!(retrieved["attribution"]["retrieved"], json!([]));
    // Deterministic, streamed or not.
    let (_, again) = chat(&server, body.clone());
    assert_eq!(again["attribution"], *attribution);
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    assert_eq!(
        stream(&server, streamed).last().unwrap()["attribution"],
        *attribution
    );
    // Bad input.
    for bad in [json!("no"), json!(0), json!({"on": false})] {
        let mut request = body.clone();
        request["retrieval"] = bad;
        let (status, error) = chat(&server, request);
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some("invalid_json")),
            "{error}"
        );
    }
    let mut request = body.clone();
    request["retrieval"] = json!(true);
    let (status, error) = chat(&plain, request);
    assert_eq!(
        (status, error["error"]["param"].as_str()),
        (400, Some("retrieval")),
        "{error}"
    );
    let (status, _) = chat(&plain, body);
    assert_eq!(status, 200);
}

#[test]
fn curl_gets_the_answer_its_stream_and_the_errors_in_openais_shape() {
    let server = start(&[]);
    let curl = |body: &Value| {
        let output = Command::new("curl")
            .args(["-sS", "-N", "-w", "\n%{http_code}", "-H"])
            .arg("content-type: application/json")
            .arg("-d")
            .arg(body.to_string())
            .arg(format!("{}/v1/chat/completions", server.url))
            .output()
            .expect("curl runs");
        assert!(output.status.success(), "{output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (status.parse::<u16>().unwrap(), body.to_string())
    };
    let (status, body) = curl(&ask("tiny", json!({})));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let text = answer["choices"][0]["message"]["content"].as_str().unwrap();

    let (status, body) = curl(&ask("tiny", json!({"stream": true})));
    assert_eq!(status, 200, "{body}");
    let events: Vec<&str> = body
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"), "{body}");
    let streamed: String = events[..events.len() - 1]
        .iter()
        .map(|event| serde_json::from_str::<Value>(event).unwrap())
        .filter_map(|event| {
            event["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(streamed, text);

    let (status, body) = curl(&ask("nope", json!({})));
    assert_eq!(status, 404, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "model_not_found", "{body}");
}

#[test]
fn an_adapter_evicted_then_read_again_answers_with_the_same_bits() {
    use attribution_worker::serve::cli::adapter_source;
    use attribution_worker::serve::engine::Event;

    // A one-byte budget: each adapter loaded evicts the other, whose memory is kept for the
    // next read.
    let (dir, _, engine) = engine_on_test_model(1, 64, 1);
    for (id, seed) in [(1, 31), (2, 32)] {
        let adapter = dir.path().join(format!("adapter-{id}"));
        std::fs::create_dir_all(&adapter).unwrap();
        write_adapter(dir.path(), &adapter, seed);
        engine.add_adapter(id, adapter_source(&adapter).unwrap());
    }
    // Each token with its log-probability's bits.
    let answer = |adapter: u64| -> Vec<(u32, u32)> {
        let mut request = greedy_request(Some(adapter), 6);
        request.logprobs = Some(1);
        let mut events = engine.generate(request).unwrap();
        let mut tokens = Vec::new();
        loop {
            match events.blocking_recv().unwrap() {
                Event::Token { token, logprob, .. } => {
                    tokens.push((token, logprob.unwrap().logprob.to_bits()))
                }
                Event::Finished(_) => return tokens,
                Event::Failed(error) => panic!("{error}"),
            }
        }
    };
    let first = answer(1);
    let second = answer(2);
    assert_ne!(first, second, "the adapters answer differently");
    assert_eq!(answer(1), first, "read again after its eviction");
    assert_eq!(answer(2), second);
    assert_eq!(engine.stats().adapter_loads, 4);
}

/// The server restarts itself in place with glibc's malloc on transparent huge pages where the
/// kernel gives them only on request (`memory::restart_with_huge_page_heap`), and serves from
/// the restarted process.
#[test]
fn the_server_runs_with_its_heap_on_huge_pages_where_the_kernel_gives_them_on_request() {
    let on_request = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|mode| mode.contains("[madvise]"));
    let set_here = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("hugetlb"));
    let server = start(&[]);
    let environ = std::fs::read(format!("/proc/{}/environ", server.child.id())).unwrap();
    let tunables: Vec<&[u8]> = environ
        .split(|&b| b == 0)
        .filter(|var| var.starts_with(b"GLIBC_TUNABLES="))
        .collect();
    if on_request && !set_here {
        assert!(
            tunables.len() == 1 && tunables[0].ends_with(b"glibc.malloc.hugetlb=1"),
            "{tunables:?}"
        );
    } else if !set_here {
        assert!(tunables.is_empty(), "restarted needlessly: {tunables:?}");
    }
    // The restarted process is the one serving, and its metrics say how much of its memory is
    // on huge pages (as the kernel reports it: whether any 2 MiB range is whole yet varies).
    let (status, _) = chat(&server, ask("tiny", json!({"max_tokens": 2})));
    assert_eq!(status, 200);
    let metrics = ureq::get(&format!("{}/metrics", server.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("attribution_worker_anonymous_huge_page_bytes "))
        .unwrap_or_else(|| panic!("no huge page gauge in {metrics}"));
    let bytes: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(bytes % (2 << 20), 0, "{line}");
}

/// Writes AT2 coefficients for the test model (whatever θ: the rule takes any) in `dir` and
/// returns the file's path.
fn write_theta(dir: &Path) -> String {
    use attribution_worker::rag::at2::{ThetaFile, THETA_FORMAT};
    let model = dir.join("theta-model");
    common::write_model(&model, attribution_worker::checkpoint::StoredDtype::F32);
    let config = common::config();
    let width = config.num_hidden_layers * config.num_attention_heads;
    let file = ThetaFile {
        format: THETA_FORMAT.into(),
        model_blake2b_256: attribution_worker::rag::at2::model_hash(&model).unwrap(),
        layers: config.num_hidden_layers,
        heads: config.num_attention_heads,
        ridge: 0.1,
        calibration: Default::default(),
        theta_q32: (0..width as i64)
            .map(|k| (1 << 31) - (1 << 28) * k)
            .collect(),
    };
    let path = dir.join("theta.json");
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    path.display().to_string()
}

/// A worker serving `contextcite-prior-v1` on a half-precision KV cache answers with the method
/// named by its coefficients and its numerics, and one exact ablation per prefix of the
/// sources; a juror that serves the exact ablation itself on the same cache recomputes that
/// record to the ppm (it takes the method the record names), one on another cache or weights
/// refuses it with the flags that recompute it, and one that does not hold the coefficients
/// says so instead of judging.
#[test]
fn a_prior_attributed_answer_is_recomputed_by_a_juror_serving_another_method() {
    use attribution_worker::job::ModelDir;
    use attribution_worker::serve::api::grounding::recompute;
    use attribution_worker::serve::cli::{
        api_state, local_grounding, start_engine, Attribution, EngineArgs, Weights,
    };
    use attribution_worker::serve::runtime::KvFormat;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = (0..2)
        .map(|i| write_rows(dir.path(), i, &task_rows(i as u64 + 1)))
        .collect();
    let theta = write_theta(dir.path());
    let server = start(&[
        "--rows",
        &files[0],
        "--rows",
        &files[1],
        "--attribution-method",
        "prior",
        "--theta",
        &theta,
        "--kv-cache",
        "f16",
    ]);
    let body = task_question(12);
    let (status, answer) = chat(&server, body.clone());
    assert_eq!(status, 200, "{answer}");
    let attribution = &answer["attribution"];
    let method = attribution["method"].as_str().unwrap().to_string();
    let theta_bytes = std::fs::read(&theta).unwrap();
    let theta_hash = hex::encode(attribution_worker::artifact::blake2b_256(&theta_bytes));
    assert_eq!(
        method,
        format!("contextcite-prior-v1:{}@f32h+spans-v1", &theta_hash[..16])
    );
    assert!(method.len() <= 64, "fits a record: {method}");
    // `/v1/models` says it before any request: the grounded base only.
    let mut models = ureq::get(&format!("{}/v1/models", server.url))
        .call()
        .unwrap();
    let models: Value = models.body_mut().read_json().unwrap();
    assert_eq!(models["data"][0]["attribution_method"], method.as_str());
    assert!(models["data"][1].get("attribution_method").is_none());
    let sources = attribution["sources"].as_array().unwrap().len();
    assert!(sources > 0, "{attribution}");
    assert_eq!(
        attribution["ablations"],
        json!(sources + 1),
        "the prefix path"
    );
    let context = entries_of(&attribution["context"]["entries"]);
    assert!(!context.is_empty(), "{attribution}");
    // The same attribution for the same request.
    assert_eq!(chat(&server, body.clone()).1["attribution"], *attribution);

    // Jurors in this process, on the same model file, serving the exact ablation themselves.
    let model_path = server.dir.path().join("model");
    let model = ModelDir::load(&model_path).unwrap();
    let juror = |theta: Option<&str>, kv_cache| {
        let args = EngineArgs {
            weights: Weights::F32,
            kv_cache,
            max_running: 2,
            max_waiting: 2,
            context: 2048,
            max_tokens: 64,
            adapter_cache_mib: 16,
            threads: Some(1),
            attribution_method: Attribution::Exact,
            theta: theta.map(Into::into),
        };
        let engine = start_engine(&model, &args).unwrap();
        let state = api_state(engine, &model, &model_path, "tiny", &args).unwrap();
        let rows: Vec<std::path::PathBuf> = files.iter().map(Into::into).collect();
        let grounding = local_grounding(
            &rows,
            &model.tokenizer,
            state.attribution.clone(),
            state.numerics,
        )
        .unwrap();
        let mut served = state.model("tiny").unwrap();
        served.grounding = Some(Arc::new(grounding));
        state.serve(served.clone());
        (state, served)
    };
    let text = answer["choices"][0]["message"]["content"].as_str().unwrap();
    let prompt = serde_json::to_vec(&body).unwrap();
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let (state, served) = juror(Some(&theta), KvFormat::F16);
    assert_eq!(state.attribution.name(), "contextcite-v1");
    let recomputed = tokio
        .block_on(recompute(&state, &served, &method, &prompt, text))
        .unwrap();
    assert_eq!(
        recomputed.entries.to_vec(),
        entries_of(&attribution["entries"])
    );
    assert_eq!(recomputed.provenance.method.to_vec(), method.as_bytes());
    assert_eq!(
        format!("0x{}", hex::encode(recomputed.provenance.seed)),
        attribution["seed"].as_str().unwrap()
    );
    let retrieved: Vec<u64> = serde_json::from_value(attribution["retrieved"].clone()).unwrap();
    assert_eq!(recomputed.provenance.retrieved.to_vec(), retrieved);
    // A name no served method has, and a juror without the coefficients: no judgement.
    for bad in [
        "contextcite-v3+spans-v1",
        "contextcite-v1",
        "at2-v1:0123456789abcdef+spans-v1",
    ] {
        let err = tokio
            .block_on(recompute(&state, &served, bad, &prompt, text))
            .unwrap_err();
        assert_eq!(err.status.as_u16(), 400, "{bad}: {}", err.message);
    }
    // A record computed on weights or a cache held in another format: refused, naming the
    // formats that recompute it.
    for (numerics, flags) in [
        ("@q8h", "--weights q8 --kv-cache f16"),
        ("@q8", "--weights q8 --kv-cache f32"),
        ("@f32", "--weights f32 --kv-cache f32"),
    ] {
        let other = method.replace("@f32h", numerics);
        let err = tokio
            .block_on(recompute(&state, &served, &other, &prompt, text))
            .unwrap_err();
        assert_eq!(err.status.as_u16(), 400, "{}", err.message);
        assert!(
            err.message
                .contains(&format!("computed on {}", &numerics[1..]))
                && err.message.contains(flags),
            "{}",
            err.message
        );
    }
    // A juror on an f32 cache refuses the record the same way.
    let (state, served) = juror(Some(&theta), KvFormat::F32);
    let err = tokio
        .block_on(recompute(&state, &served, &method, &prompt, text))
        .unwrap_err();
    assert!(err.message.contains("--kv-cache f16"), "{}", err.message);
    let (state, served) = juror(None, KvFormat::F16);
    let err = tokio
        .block_on(recompute(&state, &served, &method, &prompt, text))
        .unwrap_err();
    assert!(
        err.message.contains("none are known here"),
        "{}",
        err.message
    );
}

/// `--attribution-method prior` needs coefficients for the served model file: without them, or with
/// another model's, the worker refuses to start and says why.
#[test]
fn serving_the_prior_without_the_models_coefficients_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    common::write_model(&model, attribution_worker::checkpoint::StoredDtype::F32);
    let other = dir.path().join("other.json");
    let mut file: Value =
        serde_json::from_slice(&std::fs::read(write_theta(dir.path())).unwrap()).unwrap();
    file["model_blake2b_256"] = json!("ab".repeat(32));
    std::fs::write(&other, file.to_string()).unwrap();
    let serve = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_attribution-worker"))
            .args([
                "serve",
                "--model",
                model.to_str().unwrap(),
                "--weights",
                "f32",
            ])
            .args(["--http", &format!("127.0.0.1:{}", free_port())])
            .args(extra)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{extra:?} started");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let err = serve(&["--attribution-method", "prior"]);
    assert!(err.contains("needs AT2's coefficients"), "{err}");
    let err = serve(&[
        "--attribution-method",
        "prior",
        "--theta",
        other.to_str().unwrap(),
    ]);
    assert!(err.contains("fitted on the model abab"), "{err}");
    let err = serve(&["--attribution-method", "at2"]);
    assert!(err.contains("invalid value 'at2'"), "{err}");
}
