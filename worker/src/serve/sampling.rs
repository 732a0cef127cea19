//! Choosing the next token from logits: greedy, or temperature with top-k and top-p (nucleus)
//! filtering from a seeded generator, and the log-probabilities a client may ask for.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How a request samples (OpenAI's `temperature`, `top_p`, `top_k`, `seed`).
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// 0 is greedy (argmax).
    pub temperature: f32,
    /// Keep the smallest set of tokens whose probability reaches `top_p` (1 keeps all).
    pub top_p: f32,
    /// Keep the `top_k` most likely tokens (0 keeps all).
    pub top_k: usize,
    /// Same seed, same prompt, same model: same answer.
    pub seed: Option<u64>,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            seed: None,
        }
    }
}

impl Sampling {
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            ..Self::default()
        }
    }
}

/// A token and its log-probability under the model (before temperature and filtering).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenLogprob {
    pub token: u32,
    pub logprob: f32,
    /// The most likely tokens at this position, most likely first.
    pub top: Vec<(u32, f32)>,
}

/// One request's sampler.
pub struct Sampler {
    sampling: Sampling,
    rng: StdRng,
}

impl Sampler {
    pub fn new(sampling: Sampling) -> Self {
        let rng = match sampling.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self { sampling, rng }
    }

    /// The next token from one row of logits.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        if self.sampling.temperature <= 0.0 {
            return argmax(logits);
        }
        let inverse_temperature = 1.0 / self.sampling.temperature;
        let mut candidates: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(token, &logit)| (token as u32, logit * inverse_temperature))
            .collect();
        // Most likely first; ties by token id so a seed reproduces the same answer.
        candidates.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if self.sampling.top_k > 0 {
            candidates.truncate(self.sampling.top_k);
        }
        let max = candidates[0].1;
        let mut probabilities: Vec<f32> = candidates.iter().map(|c| (c.1 - max).exp()).collect();
        let total: f32 = probabilities.iter().sum();
        probabilities.iter_mut().for_each(|p| *p /= total);
        if self.sampling.top_p < 1.0 {
            let mut mass = 0.0;
            let keep = probabilities
                .iter()
                .position(|p| {
                    mass += p;
                    mass >= self.sampling.top_p
                })
                .map_or(probabilities.len(), |last| last + 1);
            probabilities.truncate(keep);
        }
        let total: f32 = probabilities.iter().sum();
        let mut draw = self.rng.random::<f32>() * total;
        for (index, p) in probabilities.iter().enumerate() {
            draw -= p;
            if draw <= 0.0 {
                return candidates[index].0;
            }
        }
        candidates[probabilities.len() - 1].0
    }
}

/// The most likely token (the lowest id on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (token, &logit) in logits.iter().enumerate() {
        if logit > logits[best] {
            best = token;
        }
    }
    best as u32
}

/// `log softmax(logits)[token]` and the `top` most likely tokens with theirs.
pub fn logprob(logits: &[f32], token: u32, top: usize) -> TokenLogprob {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_total = logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln() + max;
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(top + 1);
    if top > 0 {
        for (id, &logit) in logits.iter().enumerate() {
            if best.len() < top || logit > best[best.len() - 1].1 {
                let at = best.partition_point(|&(_, l)| l >= logit);
                best.insert(at, (id as u32, logit));
                best.truncate(top);
            }
        }
    }
    TokenLogprob {
        token,
        logprob: logits[token as usize] - log_total,
        top: best
            .into_iter()
            .map(|(id, l)| (id, l - log_total))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_most_likely_token() {
        let mut sampler = Sampler::new(Sampling::greedy());
        assert_eq!(sampler.sample(&[0.1, 3.0, -1.0, 2.9]), 1);
    }

    #[test]
    fn a_seed_reproduces_the_draws_and_top_k_bounds_them() {
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
        let sampling = Sampling {
            temperature: 1.0,
            top_k: 3,
            seed: Some(7),
            ..Sampling::default()
        };
        let draws = |s: &Sampling| {
            let mut sampler = Sampler::new(s.clone());
            (0..200)
                .map(|_| sampler.sample(&logits))
                .collect::<Vec<_>>()
        };
        let first = draws(&sampling);
        assert_eq!(first, draws(&sampling));
        // The three most likely tokens (logit 1.8) are 6, 13 and 20; ties go to the lower ids.
        assert!(first.iter().all(|t| [6, 13, 20].contains(t)), "{first:?}");
        assert!([6, 13, 20].iter().all(|t| first.contains(t)));
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        // p ≈ [0.876, 0.118, 0.006]: a nucleus of 0.8 is the first token alone.
        let sampling = Sampling {
            top_p: 0.8,
            seed: Some(1),
            ..Sampling::default()
        };
        let mut sampler = Sampler::new(sampling);
        assert!((0..100).all(|_| sampler.sample(&[5.0, 3.0, 0.0]) == 0));
    }

    #[test]
    fn logprobs_are_normalised_and_ranked() {
        let logits = [1.0f32, 2.0, 3.0, 0.5];
        let lp = logprob(&logits, 1, 2);
        let total: f32 = logits.iter().map(|l| l.exp()).sum();
        assert!((lp.logprob - (2.0f32.exp() / total).ln()).abs() < 1e-6);
        assert_eq!(lp.top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![2, 1]);
        assert!((lp.top[0].1 - (3.0f32.exp() / total).ln()).abs() < 1e-6);
    }
}
