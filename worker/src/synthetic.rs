//! A small synthetic task, tokenizer and random checkpoint in Hugging Face layout, for tests
//! and benchmarks on machines that cannot download a model or a data set.
//!
//! The task: the prompt is a few words followed by `=`, the completion spells each word's
//! partner under a fixed permutation `w -> (multiplier·w + shift) mod words`, so it takes
//! attention (to find the word) and an embedding-level mapping (to translate it). Two
//! permutations make two related tasks: one to pretrain a base on, one to fine-tune it to.

use crate::checkpoint::{Checkpoint, StoredDtype};
use crate::data::Example;
use crate::model::LlamaConfig;
use anyhow::{anyhow, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::Path;
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::Tokenizer;

/// Ids of the special tokens; content words follow them.
pub const PAD: u32 = 0;
pub const BOS: u32 = 1;
pub const EOS: u32 = 2;
const SPECIALS: [&str; 5] = ["<pad>", "<s>", "</s>", "<unk>", "="];

/// The task of the `synthetic` command and the tests: 24 words, three to a prompt.
pub const TASK: SyntheticTask = SyntheticTask {
    words: 24,
    prompt_words: 3,
    multiplier: 7,
    shift: 3,
};

/// The translation task over `words` content words.
#[derive(Debug, Clone, Copy)]
pub struct SyntheticTask {
    /// Content words; coprime with `multiplier`, so the mapping is a permutation.
    pub words: usize,
    pub prompt_words: usize,
    pub multiplier: usize,
    pub shift: usize,
}

impl SyntheticTask {
    /// Size of the tokenizer's vocabulary.
    pub fn vocab_size(&self) -> usize {
        SPECIALS.len() + self.words
    }

    /// A word-level `tokenizer.json` for the task's vocabulary.
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        let vocab: HashMap<String, u32> = SPECIALS
            .iter()
            .map(|s| s.to_string())
            .chain((0..self.words).map(word))
            .enumerate()
            .map(|(id, token)| (token, id as u32))
            .collect();
        let model = WordLevel::builder()
            .vocab(vocab.into_iter().collect())
            .unk_token("<unk>".into())
            .build()
            .map_err(|e| anyhow!("building tokenizer: {e}"))?;
        let mut tokenizer = Tokenizer::new(model);
        tokenizer.with_pre_tokenizer(Some(Whitespace {}));
        Ok(tokenizer)
    }

    /// `count` examples drawn with `seed`.
    pub fn examples(&self, count: usize, seed: u64) -> Vec<Example> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..count)
            .map(|_| {
                let picks: Vec<usize> = (0..self.prompt_words)
                    .map(|_| rng.random_range(0..self.words))
                    .collect();
                let prompt = picks.iter().map(|&w| word(w)).collect::<Vec<_>>().join(" ") + " =";
                let completion = picks
                    .iter()
                    .map(|&w| word(self.partner(w)))
                    .collect::<Vec<_>>()
                    .join(" ");
                Example { prompt, completion }
            })
            .collect()
    }

    fn partner(&self, w: usize) -> usize {
        (w * self.multiplier + self.shift) % self.words
    }

    /// A model configuration sized for the task.
    pub fn config(
        &self,
        hidden: usize,
        intermediate: usize,
        layers: usize,
        heads: usize,
        kv_heads: usize,
    ) -> LlamaConfig {
        let mut config = LlamaConfig::small(
            self.vocab_size(),
            hidden,
            intermediate,
            layers,
            heads,
            kv_heads,
        );
        config.bos_token_id = Some(BOS);
        config.eos_token_id = Some(EOS);
        config
    }

    /// Writes a random checkpoint and the tokenizer into `dir`, as a model download would.
    pub fn write_model_dir(
        &self,
        config: LlamaConfig,
        seed: u64,
        dtype: StoredDtype,
        dir: &Path,
    ) -> Result<()> {
        Checkpoint::random(config, seed).save(dir, dtype)?;
        self.tokenizer()?
            .save(dir.join("tokenizer.json"), false)
            .map_err(|e| anyhow!("writing tokenizer.json: {e}"))
    }
}

fn word(index: usize) -> String {
    format!("w{index}")
}
