//! `attribution-worker chat`: a user's client for an operator's OpenAI-compatible API. For a paid
//! operator it signs an inference authorization with the user's key (naming the operator, the
//! model, the blake2-256 of the exact request body, a fee bound, a fresh nonce and an expiry) and
//! sends it in the `X-Attribution-Authorization` header; it prints the answer, its attribution
//! and the operator's receipt.

use crate::artifact::blake2b_256;
use crate::daemon::paid::{header_value, AUTHORIZATION_HEADER, SETTLEMENT_MARGIN};
use crate::daemon::parse_open;
use anyhow::{bail, Context, Result};
use attribution_primitives::attribution::InferenceAuthorization;
use attribution_primitives::{AccountId, Balance, Hash, ModelId};
use attribution_worker_chain::keys::Secret;
use attribution_worker_chain::Chain;
use clap::Args;
use serde_json::{json, Value};
use sp_core::Pair as _;

#[derive(Args)]
pub struct ChatArgs {
    /// What to ask.
    pub prompt: String,
    /// The operator's API.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// The model id to ask (see GET /v1/models); the base model when omitted.
    #[arg(long)]
    pub model: Option<String>,
    /// The most tokens the answer may have (the server refuses more than its context allows).
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    /// Sampling temperature: 0 answers greedily (the same answer every time).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Pay with this account (a key file or a secret URI such as `//Ferdie`): the request carries
    /// its signed authorization. Without it the request is free (`attribution-worker serve`).
    #[arg(long)]
    pub account: Option<String>,
    /// The node that settles payments (with --account).
    #[arg(long, default_value = "ws://127.0.0.1:9944")]
    pub node: String,
    /// The most this request may cost, in OPEN (default: the operator's price for the whole
    /// context).
    #[arg(long, value_parser = parse_open)]
    pub max_fee: Option<Balance>,
    /// Before asking, move this much OPEN into credit and grant it to the operator.
    #[arg(long, value_parser = parse_open)]
    pub grant: Option<Balance>,
    /// Print the whole JSON response instead of the answer.
    #[arg(long)]
    pub json: bool,
}

/// `attribution-worker chat`.
pub async fn chat(args: ChatArgs) -> Result<()> {
    let models = get_json(&format!("{}/v1/models", args.url)).await?;
    let cards = models["data"].as_array().cloned().unwrap_or_default();
    let card = match &args.model {
        Some(id) => cards.iter().find(|c| c["id"] == id.as_str()),
        None => cards.iter().find(|c| c.get("parent").is_none()),
    }
    .with_context(|| format!("the server does not list model {:?}", args.model))?
    .clone();
    let model = card["id"].as_str().unwrap_or_default().to_string();
    let body = serde_json::to_vec(&json!({
        "model": model,
        "messages": [{"role": "user", "content": args.prompt}],
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
    }))?;
    let mut headers = Vec::new();
    if let Some(account) = &args.account {
        let header = authorize(&args, account, &card, &body).await?;
        headers.push((AUTHORIZATION_HEADER, header));
    }
    let response = post_json(&format!("{}/v1/chat/completions", args.url), &headers, body).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&response)?);
        return Ok(());
    }
    println!(
        "{}",
        response["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
    );
    if let Some(attribution) = response.get("attribution") {
        println!(
            "attribution: {}",
            serde_json::to_string_pretty(attribution)?
        );
    }
    if let Some(receipt) = response.get("receipt") {
        println!("receipt: {}", serde_json::to_string_pretty(receipt)?);
    }
    Ok(())
}

/// Signs an authorization for `body` and returns the header value.
async fn authorize(args: &ChatArgs, account: &str, card: &Value, body: &[u8]) -> Result<String> {
    let chain_model: ModelId = card["chain_model"]
        .as_u64()
        .context("the server does not say which chain model this is: is it a paid operator?")?
        .try_into()?;
    let operator: AccountId = card["owned_by"]
        .as_str()
        .context("the model card names no operator")?
        .parse()
        .map_err(|e| anyhow::anyhow!("the model card's operator: {e:?}"))?;
    let secret = Secret::parse(account).context("--account")?;
    let pair = secret.pair()?;
    let user = AccountId::from(pair.public());
    let chain = Chain::connect(&args.node).await?;
    let signer = secret.signer()?;
    let price = chain
        .inference_price(&operator)
        .await?
        .context("the model card's operator is not registered")?;
    if let Some(amount) = args.grant {
        chain.deposit_credit(&signer, amount).await?;
        chain.grant_allowance(&signer, &operator, amount).await?;
        eprintln!("granted {amount} plancks of credit to {operator}");
    }
    let window = chain.nonce_window(&user, &operator).await?;
    let nonce = next_nonce(&user, &operator, window.map(|w| w.highest))?;
    let max_fee = args.max_fee.unwrap_or_else(|| price.saturating_mul(4096));
    let authorization = InferenceAuthorization {
        user,
        operator,
        model: chain_model,
        prompt_hash: Hash::from(blake2b_256(body)),
        max_fee,
        nonce,
        expiry: chain.finalized_number().await? + SETTLEMENT_MARGIN * 10,
    };
    let signature = authorization.sign(&chain.genesis(), &pair);
    Ok(header_value(&authorization, &signature))
}

/// A nonce above both the chain's highest and the last one this client used with the operator
/// (records the operator has not settled yet are not on chain).
fn next_nonce(user: &AccountId, operator: &AccountId, on_chain: Option<u64>) -> Result<u64> {
    let path = crate::daemon::cli::cache_dir().join("nonces.json");
    let mut used: serde_json::Map<String, Value> = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let key = format!("{user}/{operator}");
    let local = used.get(&key).and_then(Value::as_u64);
    let nonce = match (on_chain, local) {
        (None, None) => 0,
        (a, b) => a.max(b).map_or(0, |n| n + 1),
    };
    used.insert(key, nonce.into());
    std::fs::create_dir_all(path.parent().unwrap_or(std::path::Path::new(".")))?;
    std::fs::write(&path, serde_json::to_vec_pretty(&used)?)?;
    Ok(nonce)
}

async fn get_json(url: &str) -> Result<Value> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let mut response = ureq::get(&url)
            .call()
            .with_context(|| format!("GET {url}"))?;
        Ok(response.body_mut().read_json::<Value>()?)
    })
    .await?
}

async fn post_json(url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Result<Value> {
    let url = url.to_string();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut request = ureq::post(&url)
            .config()
            .http_status_as_error(false)
            .build()
            .header("content-type", "application/json");
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let mut response = request
            .send(&body[..])
            .with_context(|| format!("POST {url}"))?;
        let status = response.status();
        let value: Value = response.body_mut().read_json()?;
        if !status.is_success() {
            bail!(
                "{status}: {}",
                value["error"]["message"].as_str().unwrap_or("")
            );
        }
        Ok(value)
    })
    .await?
}
