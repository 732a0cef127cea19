//! Chat templates: the Jinja programs that Hugging Face tokenizers (`chat_template` in
//! `tokenizer_config.json` or `chat_template.jinja`) and GGUF files (`tokenizer.chat_template`)
//! carry to turn a conversation into the prompt text the model was tuned on.
//!
//! Rendered with minijinja set up as transformers sets up Jinja: `trim_blocks` and
//! `lstrip_blocks`, `raise_exception(message)`, Python string and dict methods (`.strip()`,
//! `.items()`, ...), `tojson`; the context holds `messages`, `add_generation_prompt`,
//! `bos_token` and `eos_token`.

use anyhow::{anyhow, Result};
use minijinja::value::Serde;
use minijinja::{context, Environment, Error, ErrorKind};
use serde::{Deserialize, Serialize};

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: &str) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// A model's chat template with the special tokens it may refer to.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    /// Parses `source`, so a template that cannot render is refused when the model is loaded.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self> {
        environment()
            .template_from_str(source)
            .map_err(|e| anyhow!("chat template does not parse: {e:#}"))?;
        Ok(Self {
            source: source.into(),
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// The template's Jinja source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The prompt for `messages`; with `add_generation_prompt`, followed by the header of the
    /// assistant's next turn.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let env = environment();
        let template = env
            .template_from_str(&self.source)
            .map_err(|e| anyhow!("chat template does not parse: {e:#}"))?;
        template
            .render(context! {
                messages => Serde(messages),
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos_token.as_str(),
                eos_token => self.eos_token.as_str(),
            })
            .map_err(|e| anyhow!("rendering the chat template: {e:#}"))
    }
}

fn environment<'source>() -> Environment<'source> {
    let mut env = Environment::new();
    let syntax = env
        .syntax()
        .to_builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function("raise_exception", |message: String| -> Result<(), Error> {
        Err(Error::new(ErrorKind::InvalidOperation, message))
    });
    env
}
