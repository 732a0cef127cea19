//! The tokenizer a GGUF file carries in its metadata, rebuilt as a Hugging Face
//! [`Tokenizer`], and its chat template.
//!
//! `tokenizer.ggml.model = "gpt2"` is byte-level BPE: `tokenizer.ggml.tokens` (ids in order),
//! `tokenizer.ggml.merges` (`"a b"`, by priority) and `tokenizer.ggml.token_type` (3 =
//! control, 4 = user-defined: matched whole before BPE, as `<|im_start|>`). How text is split
//! before BPE is named by `tokenizer.ggml.pre`; each supported name is mapped to the Hugging Face
//! pre-tokenizer that splits as llama.cpp's regexes for it do (`llama-vocab.cpp`).

use super::GgufFile;
use crate::chat_template::ChatTemplate;
use crate::data::SpecialTokens;
use anyhow::{anyhow, bail, ensure, Context, Result};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// `tokenizer.ggml.token_type` of a token matched whole and skipped when decoding.
const CONTROL: i64 = 3;
/// `tokenizer.ggml.token_type` of a token matched whole and kept when decoding.
const USER_DEFINED: i64 = 4;

/// Llama 3's split (`llama-bpe`): up to three digits, letters with one leading non-letter.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The tokenizer in `file`'s metadata.
pub fn tokenizer(file: &GgufFile) -> Result<Tokenizer> {
    let model = file.string("tokenizer.ggml.model")?;
    ensure!(
        model == "gpt2",
        "tokenizer.ggml.model `{model}` is not supported (only `gpt2`, byte-level BPE)"
    );
    let tokens = strings(file, "tokenizer.ggml.tokens")?;
    let merges = strings(file, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|merge| {
            merge
                .split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .with_context(|| format!("merge `{merge}` is not two tokens"))
        })
        .collect::<Result<Vec<_>>>()?;
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(id, token)| (token.to_string(), id as u32))
        .collect();
    ensure!(
        vocab.len() == tokens.len(),
        "tokenizer.ggml.tokens holds duplicate tokens"
    );
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| anyhow!("building the BPE model: {e}"))?;
    let mut tokenizer = Tokenizer::new(bpe);
    let pre = file
        .get("tokenizer.ggml.pre")
        .and_then(|v| v.as_str())
        .unwrap_or("default");
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer(pre)?));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));

    let types: Vec<i64> = match file.get("tokenizer.ggml.token_type") {
        None => Vec::new(),
        Some(value) => value
            .as_array()
            .context("tokenizer.ggml.token_type is not an array")?
            .iter()
            .map(|t| t.as_f64().map(|t| t as i64))
            .collect::<Option<_>>()
            .context("tokenizer.ggml.token_type holds a non-integer")?,
    };
    let added = |kind: i64| -> Vec<AddedToken> {
        types
            .iter()
            .zip(&tokens)
            .filter(|(t, _)| **t == kind)
            .map(|(_, token)| AddedToken::from(token.to_string(), kind == CONTROL))
            .collect()
    };
    tokenizer.add_special_tokens(&added(CONTROL));
    tokenizer.add_tokens(&added(USER_DEFINED));
    Ok(tokenizer)
}

/// The pre-tokenizer that splits as llama.cpp does for `tokenizer.ggml.pre = pre`.
fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper> {
    // GPT-2's regex, as Hugging Face's ByteLevel applies it.
    let byte_level = |use_regex| ByteLevel::new(false, true, use_regex).into();
    Ok(match pre {
        "default" | "gpt2" => byte_level(true),
        // llama.cpp: `\p{N}` first (each digit alone), then GPT-2's regex; SmolLM's tokenizer.json
        // says the same as Digits(individual) + ByteLevel.
        "smollm" | "starcoder" | "refact" | "codeshell" | "command-r" | "exaone" | "minerva" => {
            Sequence::new(vec![Digits::new(true).into(), byte_level(true)]).into()
        }
        "llama3" | "llama-bpe" => {
            let split = Split::new(
                SplitPattern::Regex(LLAMA3_SPLIT.into()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(|e| anyhow!("llama-bpe split: {e}"))?;
            Sequence::new(vec![split.into(), byte_level(false)]).into()
        }
        other => bail!(
            "tokenizer.ggml.pre `{other}` is not supported (supported: default, gpt2, smollm, \
             starcoder, refact, codeshell, command-r, exaone, minerva, llama-bpe)"
        ),
    })
}

/// The token ids around training text: BOS only when `tokenizer.ggml.add_bos_token` asks for it
/// (byte-level BPE models such as SmolLM2 are trained without), EOS ends a completion, padding
/// (masked out of the loss) is `padding_token_id`, else EOS.
pub fn special_tokens(file: &GgufFile) -> Result<SpecialTokens> {
    let id = |key: &str| -> Result<Option<u32>> {
        file.optional_usize(key)?
            .map(|id| u32::try_from(id).with_context(|| format!("{key} out of range")))
            .transpose()
    };
    let add_bos = file
        .get("tokenizer.ggml.add_bos_token")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let eos = id("tokenizer.ggml.eos_token_id")?;
    Ok(SpecialTokens {
        bos: if add_bos {
            id("tokenizer.ggml.bos_token_id")?
        } else {
            None
        },
        eos,
        pad: id("tokenizer.ggml.padding_token_id")?.or(eos).unwrap_or(0),
    })
}

/// `tokenizer.chat_template`, with the BOS and EOS token texts it may refer to.
pub fn chat_template(file: &GgufFile) -> Result<Option<ChatTemplate>> {
    let Some(source) = file.get("tokenizer.chat_template") else {
        return Ok(None);
    };
    let source = source
        .as_str()
        .context("tokenizer.chat_template is not a string")?;
    let tokens = strings(file, "tokenizer.ggml.tokens")?;
    let text = |key: &str| -> Result<&str> {
        Ok(match file.optional_usize(key)? {
            Some(id) => tokens.get(id).copied().unwrap_or(""),
            None => "",
        })
    };
    let template = ChatTemplate::new(
        source,
        text("tokenizer.ggml.bos_token_id")?,
        text("tokenizer.ggml.eos_token_id")?,
    )?;
    Ok(Some(template))
}

fn strings<'a>(file: &'a GgufFile, key: &str) -> Result<Vec<&'a str>> {
    let value = file
        .get(key)
        .with_context(|| format!("{} has no metadata `{key}`", file.path().display()))?;
    value
        .as_array()
        .and_then(|items| items.iter().map(|v| v.as_str()).collect())
        .with_context(|| format!("metadata `{key}` is not an array of strings"))
}
