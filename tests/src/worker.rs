//! The real `attribution-worker` binary, run as a GPU operator runs it: the daemon (`run`) against
//! a test node, and one-shot commands (`synthetic`, `key`, `verify`).
//!
//! The binary is taken from `ATTRIBUTION_WORKER` if set, else from the worker's target directory
//! (`WORKER_TARGET_DIR`, default `~/.cache/attribution-chain/target-worker`), debug profile.

use crate::chain::{content_hash, Chain};
use crate::free_port;
use anyhow::{bail, ensure, Context, Result};
use attribution_primitives::models::{
    Architecture, BaseModel, Cid, License, ModelStatus, ModelWithLineage,
};
use attribution_primitives::{AccountId, Balance, BlockNumber, ModelId};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::Duration,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The worker binary under test.
pub fn worker_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("ATTRIBUTION_WORKER") {
        return Ok(path.into());
    }
    let target = std::env::var_os("WORKER_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".cache/attribution-chain/target-worker"))
        })
        .context("set ATTRIBUTION_WORKER or WORKER_TARGET_DIR")?;
    let path = target.join("debug/attribution-worker");
    if !path.exists() {
        bail!(
            "{} not found: build it with `cargo build --manifest-path worker/Cargo.toml` or set \
             ATTRIBUTION_WORKER",
            path.display()
        );
    }
    Ok(path)
}

/// Runs a one-shot worker command and returns its output (failing with its stderr if it fails).
pub fn worker_command(args: &[&str]) -> Result<Output> {
    let output = worker_command_unchecked(args)?;
    if !output.status.success() {
        bail!(
            "attribution-worker {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

/// Runs a one-shot worker command, whatever its exit status.
pub fn worker_command_unchecked(args: &[&str]) -> Result<Output> {
    Command::new(worker_binary()?)
        .args(args)
        .env("RUST_LOG", "info")
        .output()
        .with_context(|| format!("running attribution-worker {}", args.join(" ")))
}

/// A running `attribution-worker run`; killed on drop. Its state directory, key file and log
/// live in a temporary directory that survives restarts of the process.
pub struct Worker {
    child: Child,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
    pub http_port: u16,
}

impl Worker {
    /// Starts the daemon for the operator `account` (a secret URI) against `node_url`, with a
    /// new worker key, base models from `models`, registering with `stake` OPEN.
    pub fn start(
        node_url: &str,
        account: &str,
        models: &Path,
        stake: &str,
        env: &[(&str, &str)],
    ) -> Result<Self> {
        Self::start_with(node_url, account, models, stake, env, &[])
    }

    /// [`Worker::start`] with more command-line arguments (`--serve`, batch settings, ...).
    pub fn start_with(
        node_url: &str,
        account: &str,
        models: &Path,
        stake: &str,
        env: &[(&str, &str)],
        extra: &[&str],
    ) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let key = dir.path().join("worker.key");
        worker_command(&["key", "generate", "--output", &key.to_string_lossy()])?;
        let http_port = free_port()?;
        let args: Vec<String> = [
            "run",
            "--node",
            node_url,
            "--account",
            account,
            "--worker-key",
            &key.to_string_lossy(),
            "--models",
            &models.to_string_lossy(),
            "--state-dir",
            &dir.path().join("state").to_string_lossy(),
            "--http",
            &format!("127.0.0.1:{http_port}"),
            "--register-stake",
            stake,
            "--quiet",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let child = Self::spawn(&args, &env, &dir)?;
        Ok(Self {
            child,
            args,
            env,
            dir,
            http_port,
        })
    }

    /// Eve's daemon (100 OPEN staked) serving the chain's model `model` and its adapters with
    /// `f32` weights at 0.000001 OPEN a token (10¹² plancks), settling a batch once its oldest
    /// record is `batch_age` seconds old.
    pub fn serve(node_url: &str, models: &Path, model: ModelId, batch_age: &str) -> Result<Self> {
        Self::serve_with(node_url, models, model, batch_age, &[])
    }

    /// [`Worker::serve`] with more flags of `run` (`extra`).
    pub fn serve_with(
        node_url: &str,
        models: &Path,
        model: ModelId,
        batch_age: &str,
        extra: &[&str],
    ) -> Result<Self> {
        let model = model.to_string();
        let mut args = vec![
            "--serve",
            &model,
            "--price-per-token",
            "0.000001",
            "--batch-age",
            batch_age,
            "--weights",
            "f32",
        ];
        args.extend(extra);
        Self::start_with(node_url, "//Eve", models, "100", &[], &args)
    }

    fn spawn(args: &[String], env: &[(String, String)], dir: &tempfile::TempDir) -> Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("worker.log"))?;
        Command::new(worker_binary()?)
            .args(args)
            .envs(env.iter().cloned())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting attribution-worker run")
    }

    /// Kills the process at once (SIGKILL), as a crash or a power cut would.
    pub fn kill(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Starts the process again on the same state directory, key and port.
    pub fn restart(&mut self) -> Result<()> {
        self.child = Self::spawn(&self.args, &self.env, &self.dir)?;
        Ok(())
    }

    /// Restarts with `--name value` set to `value` (added if absent): same state directory.
    pub fn restart_setting(&mut self, name: &str, value: &str) -> Result<()> {
        match self.args.iter().position(|a| a == name) {
            Some(at) => self.args[at + 1] = value.to_string(),
            None => self.args.extend([name.to_string(), value.to_string()]),
        }
        self.restart()
    }

    /// POSTs `body` to the worker's API with `headers`.
    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, serde_json::Value)> {
        http_post(self.http_port, path, headers, body).await
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The worker's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("worker.log")).unwrap_or_default()
    }

    /// The last lines of the log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<_> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `GET path` on the worker's HTTP API: the status code and the JSON body.
    pub async fn get(&self, path: &str) -> Result<(u16, serde_json::Value)> {
        http_get(self.http_port, path).await
    }

    /// `GET /status`.
    pub async fn status(&self) -> Result<serde_json::Value> {
        Ok(self.get("/status").await?.1)
    }

    /// Waits until `model` (an adapter this daemon trains) reaches `status` on `chain`, failing
    /// early, with the log's tail, if the process exits or `timeout` passes.
    pub async fn wait_for_model(
        &mut self,
        chain: &Chain,
        model: ModelId,
        status: ModelStatus,
        timeout: Duration,
    ) -> Result<()> {
        let started = std::time::Instant::now();
        loop {
            ensure!(self.is_running(), "the worker exited:\n{}", self.log_tail());
            let found: Option<ModelWithLineage<AccountId, Balance, BlockNumber>> =
                chain.state_call("ModelsApi_model", model).await?;
            if found.context("the adapter model exists")?.model.status == status {
                return Ok(());
            }
            ensure!(
                started.elapsed() < timeout,
                "model {model} did not become {status:?} within {timeout:?}; worker log:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET on loopback: the status code and the body as JSON.
pub async fn http_get(port: u16, path: &str) -> Result<(u16, serde_json::Value)> {
    http_request(port, "GET", path, &[], b"", Duration::from_secs(5)).await
}

/// A plain HTTP/1.1 POST of a JSON body on loopback (generation may take a while).
pub async fn http_post(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, serde_json::Value)> {
    http_request(port, "POST", path, headers, body, Duration::from_secs(120)).await
}

async fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<(u16, serde_json::Value)> {
    let mut stream = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .context("connecting to the worker's HTTP API")??;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if method == "POST" {
        request.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = vec![];
    tokio::time::timeout(timeout, stream.read_to_end(&mut response))
        .await
        .context("reading the worker's answer")??;
    let response = String::from_utf8(response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("HTTP response without body")?;
    let code: u16 = head
        .split_whitespace()
        .nth(1)
        .context("HTTP response without status")?
        .parse()?;
    let body = serde_json::from_str(body).with_context(|| format!("{method} {path}: {body}"))?;
    Ok((code, body))
}

/// The worker's small synthetic model (`attribution-worker synthetic model`) in `models/synthetic`
/// with a chat template (the messages' contents, then `=`, the task's prompt end), so a debug
/// build answers chats in milliseconds; returns it as a base model to register.
pub fn synthetic_chat_model(models: &Path) -> Result<BaseModel> {
    synthetic_chat_model_with(models, &[])
}

/// [`synthetic_chat_model`] pretrained on another permutation of the task (300 steps, width
/// 64, a few seconds in the debug build), so that a LoRA adapter trained on it learns the
/// task's own permutation; its chat template starts with BOS, as training rows do, so a chat
/// asking a row's prompt is that row's prompt token for token.
pub fn pretrained_synthetic_chat_model(models: &Path) -> Result<BaseModel> {
    synthetic_chat_model_with(
        models,
        &[
            "--pretrain-steps",
            "300",
            "--hidden",
            "64",
            "--intermediate",
            "128",
        ],
    )
}

fn synthetic_chat_model_with(models: &Path, args: &[&str]) -> Result<BaseModel> {
    let dir = models.join("synthetic");
    let mut command = vec!["synthetic", "model", "--output-dir"];
    let path = dir.to_string_lossy();
    command.push(&path);
    command.extend(args);
    worker_command(&command)?;
    let bos = if args.is_empty() {
        ""
    } else {
        "{{ bos_token }}"
    };
    std::fs::write(
        dir.join("chat_template.jinja"),
        format!(
            "{bos}{{% for m in messages %}}{{{{ m['content'] }}}} {{% endfor %}}{{% if add_generation_prompt %}}={{% endif %}}"
        ),
    )?;
    base_model(&dir)
}

/// Writes AT2 coefficients (`attribution-worker serve --theta`) for the model in `dir` into
/// `path`, in the worker's θ file format (`docs/attribution.md`, "AT2"): any coefficients serve
/// the prior's rule, these are `2^-1 − k · 2^-4` for head `k`. Returns the first 16 hex digits of
/// the file's BLAKE2b-256, which a method name using it carries.
pub fn write_theta(dir: &Path, path: &Path) -> Result<String> {
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json"))?)?;
    let count = |name: &str| {
        config[name]
            .as_u64()
            .with_context(|| format!("config.json: {name}"))
    };
    let (layers, heads) = (count("num_hidden_layers")?, count("num_attention_heads")?);
    let weights = std::fs::read(dir.join("model.safetensors"))?;
    let file = serde_json::json!({
        "format": "attribution-chain/at2-theta/v1",
        "model_blake2b_256": hex::encode(content_hash(&weights)),
        "layers": layers,
        "heads": heads,
        "ridge": 0.1,
        "calibration": {"answers": 0, "masks": 0, "split": "", "cross_validated": [], "in_sample": 0.0},
        "theta_q32": (0..layers * heads).map(|k| (1i64 << 31) - (k as i64) * (1 << 28)).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&file)?;
    std::fs::write(path, &bytes)?;
    Ok(hex::encode(content_hash(&bytes))[..16].to_string())
}

/// The base model as the chain registers it, from the model directory's own files.
pub fn base_model(dir: &Path) -> Result<BaseModel> {
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json"))?)?;
    let field = |name: &str| -> Result<u32> {
        Ok(config[name]
            .as_u64()
            .with_context(|| format!("config.json has no {name}"))? as u32)
    };
    let weights = std::fs::read(dir.join("model.safetensors"))?;
    let tokenizer = std::fs::read(dir.join("tokenizer.json"))?;
    let weights_hash = content_hash(&weights);
    Ok(BaseModel {
        architecture: Architecture {
            hidden_size: field("hidden_size")?,
            intermediate_size: field("intermediate_size")?,
            num_layers: field("num_hidden_layers")?,
            num_attention_heads: field("num_attention_heads")?,
            num_key_value_heads: field("num_key_value_heads")?,
            vocab_size: field("vocab_size")?,
            max_position_embeddings: field("max_position_embeddings")?,
            rope_theta: config["rope_theta"].as_f64().unwrap_or(10_000.0) as u32,
        },
        parameters: (weights.len() / 4) as u64,
        weights_hash,
        weights_cid: Cid::truncate_from(
            attribution_primitives::cid::cid_v1(&weights_hash).into_bytes(),
        ),
        tokenizer_hash: content_hash(&tokenizer),
        license: License::truncate_from(b"Apache-2.0".to_vec()),
    })
}
