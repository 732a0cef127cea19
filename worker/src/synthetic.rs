//! A small synthetic task, tokenizer and random checkpoint in Hugging Face layout, for tests
//! and benchmarks on machines that cannot download a model or a data set.
//!
//! The task: the prompt is a few words followed by `=`, the completion spells each word's
//! partner under a fixed permutation `w -> (multiplier·w + shift) mod words`, so it takes
//! attention (to find the word) and an embedding-level mapping (to translate it). Two
//! permutations make two related tasks: one to pretrain a base on, one to fine-tune it to.

use crate::checkpoint::{Checkpoint, StoredDtype};
use crate::data::{encode, Example, SpecialTokens};
use crate::model::{Llama, LlamaConfig};
use crate::train::{train, TrainConfig};
use crate::tuning::Method;
use anyhow::{anyhow, ensure, Result};
use burn::module::Module;
use burn::tensor::Device;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::Path;
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::{AddedToken, Tokenizer};

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

/// The permutation a synthetic base is pretrained on (`synthetic model --pretrain-steps`,
/// `bench influence`): [`TASK`]'s words, another mapping (`w -> 5·w + 1 mod 24`), so a base
/// pretrained on it knows the format and how to translate, and an adapter only has to learn
/// [`TASK`]'s mapping.
pub const PRETRAIN_TASK: SyntheticTask = SyntheticTask {
    multiplier: 5,
    shift: 1,
    ..TASK
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
        // Whole tokens in text, so a chat template's `{{ bos_token }}` is the id training puts
        // first, not `<`, `s`, `>`.
        let specials: Vec<AddedToken> = SPECIALS[..4]
            .iter()
            .map(|s| AddedToken::from(*s, true))
            .collect();
        tokenizer.add_special_tokens(&specials);
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

    /// Whether `w -> multiplier·w + shift` permutes the words (the multiplier is coprime
    /// with their count).
    pub fn is_permutation(&self) -> bool {
        let (mut a, mut b) = (self.multiplier, self.words);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        self.words > 0 && a == 1
    }

    /// A base for [`TASK`]'s adapters: a random checkpoint of `config` drawn with `seed`, then,
    /// unless `pretrain_steps` is 0, pretrained on 2048 examples of this task (drawn with
    /// `seed + 100`) by [`Self::pretrain`].
    pub fn base(
        &self,
        config: LlamaConfig,
        seed: u64,
        pretrain_steps: usize,
        device: &Device,
    ) -> Result<Checkpoint> {
        ensure!(
            config.hidden_size > 0
                && config.intermediate_size > 0
                && config
                    .hidden_size
                    .is_multiple_of(config.num_attention_heads),
            "the hidden size ({}) must be a positive multiple of the {} heads, the \
             intermediate size ({}) positive",
            config.hidden_size,
            config.num_attention_heads,
            config.intermediate_size
        );
        config.validate()?;
        let random = Checkpoint::random(config, seed);
        if pretrain_steps == 0 {
            return Ok(random);
        }
        self.pretrain(&random, pretrain_steps, 2048, (seed, seed + 100), device)
    }

    /// Full fine-tuning of `base` for `steps` (batch 16, learning rate 3e-3, a tenth of the
    /// steps of warm-up) on `count` examples of this task drawn with `data_seed`, `device`
    /// seeded with `seed` first: a base that has learnt the format and this permutation, as a
    /// downloaded model has learnt language, for an adapter to be fine-tuned from.
    pub fn pretrain(
        &self,
        base: &Checkpoint,
        steps: usize,
        count: usize,
        (seed, data_seed): (u64, u64),
        device: &Device,
    ) -> Result<Checkpoint> {
        ensure!(self.is_permutation(), "{self:?} does not permute its words");
        let autodiff = device.clone().autodiff();
        autodiff.seed(seed);
        let tokenizer = self.tokenizer()?;
        let special = SpecialTokens {
            bos: Some(BOS),
            eos: Some(EOS),
            pad: PAD,
        };
        let examples = self
            .examples(count, data_seed)
            .iter()
            .map(|e| encode(&tokenizer, e, special, 32))
            .collect::<Result<Vec<_>>>()?;
        let model = Llama::from_checkpoint(base, &Method::Full, &autodiff)?;
        let schedule = TrainConfig {
            steps,
            batch_size: 16,
            learning_rate: 3e-3,
            warmup_steps: steps / 10,
            progress: false,
            ..TrainConfig::default()
        };
        let (model, report) = train(
            model,
            &Method::Full,
            &examples,
            PAD,
            &schedule,
            None,
            &autodiff,
        )?;
        tracing::info!(
            steps,
            loss = report.losses.last().copied(),
            "base pretrained"
        );
        Ok(model.valid().to_checkpoint(&base.config))
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
        self.write_checkpoint_dir(&Checkpoint::random(config, seed), dtype, dir)
    }

    /// Writes `checkpoint` and the tokenizer into `dir`, as a model download would.
    pub fn write_checkpoint_dir(
        &self,
        checkpoint: &Checkpoint,
        dtype: StoredDtype,
        dir: &Path,
    ) -> Result<()> {
        checkpoint.save(dir, dtype)?;
        self.tokenizer()?
            .save(dir.join("tokenizer.json"), false)
            .map_err(|e| anyhow!("writing tokenizer.json: {e}"))
    }
}

fn word(index: usize) -> String {
    format!("w{index}")
}
