//! AdamW as one pass per parameter on `flex`, updating the parameter and its moments in place.
//!
//! burn's `AdamW` composes a parameter's update from fourteen tensor ops (the moments' scalings
//! and sums, the bias corrections, the square root, the quotient, the step), each a pass into a
//! fresh tensor, on one thread for tensors of a LoRA factor's size. Over LoRA's 4.9 M trainable values that is about 70 M
//! element operations and 5,900 ops per step while the pool's second thread waits; for full
//! fine-tuning every weight got a new copy each step, allocated on the thread running the step
//! while the old one went back to the arena of the thread that loaded the model, which is what
//! raised full fine-tuning's resident set by ~400 MiB (`docs/performance.md`).
//!
//! Here each parameter, its gradient and its two moments are walked once, in chunks on rayon's
//! pool, and the parameter and moments are overwritten where they are. Every value goes through
//! burn's `f32` operations in burn's order (no fused multiply-add, divisions where burn divides):
//! on the test model the updated parameters are burn's to the bit (`worker/tests/adamw.rs`); on
//! SmolLM2, full fine-tuning's losses after a step agree with burn's optimizer to about 1e-7
//! relative (the cause of that last-bit difference is not found). The clipping factor, when the
//! global norm exceeds the limit, is applied to each gradient value in the same pass, as the
//! `mul_scalar` that clipping recorded did.
//!
//! ```text
//! g  = grad · clip                        (when clipping applies)
//! m  = β1·m + (1−β1)·g                    (m = (1−β1)·g at the first step)
//! v  = β2·v + (1−β2)·g²                   (v = (1−β2)·g² at the first step)
//! Δ  = (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + ε)
//! p  = p·(1 − lr·λ) − lr·Δ                (p − lr·Δ when λ = 0)
//! ```

use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use rayon::prelude::*;
use std::collections::HashMap;

/// burn's `AdamWConfig` defaults, which the trainer has always used (and the benchmark's plan
/// hands to the PyTorch peer): note burn's epsilon, 1e-5, against PyTorch's 1e-8.
pub const BETA_1: f32 = 0.9;
pub const BETA_2: f32 = 0.999;
pub const EPSILON: f32 = 1e-5;

/// Values per rayon task: large enough that a task's bookkeeping is noise, small enough that a
/// LoRA factor (9–25 k values) still spreads over two threads.
const CHUNK: usize = 4096;

/// AdamW's state over one model: each parameter's step count and moments.
pub struct AdamW {
    weight_decay: f32,
    moments: HashMap<ParamId, Moments>,
}

/// One parameter's moment estimates.
struct Moments {
    steps: i32,
    first: Vec<f32>,
    second: Vec<f32>,
}

impl AdamW {
    /// AdamW with [`BETA_1`], [`BETA_2`], [`EPSILON`] and decoupled weight decay `weight_decay`.
    pub fn new(weight_decay: f32) -> Self {
        Self {
            weight_decay,
            moments: HashMap::new(),
        }
    }

    /// Updates every parameter of `module` that has a gradient in `grads`, each gradient first
    /// multiplied by `grad_scale` when given (global-norm clipping).
    ///
    /// The module's parameters and gradients must be `flex` tensors (the trainer uses this
    /// optimizer on `flex` only).
    pub fn step<M: Module>(
        &mut self,
        learning_rate: f64,
        module: M,
        grads: GradientsParams,
        grad_scale: Option<f32>,
    ) -> M {
        module.map(&mut Update {
            optimizer: self,
            grads,
            learning_rate,
            grad_scale,
        })
    }
}

/// The mapper that applies one step to each parameter.
struct Update<'a> {
    optimizer: &'a mut AdamW,
    grads: GradientsParams,
    learning_rate: f64,
    grad_scale: Option<f32>,
}

impl ModuleMapper for Update<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let mut values = contiguous(
            tensor
                .inner()
                .try_into_primitive::<Flex>()
                .expect("the trainer runs this optimizer on flex only"),
        );
        let grad = contiguous(
            grad.try_into_primitive::<Flex>()
                .expect("the trainer runs this optimizer on flex only"),
        );
        let grad = grad.as_slice::<f32>().expect("contiguous f32 gradient");
        let moments = self.optimizer.moments.entry(id).or_insert_with(|| Moments {
            steps: 0,
            first: vec![0.0; grad.len()],
            second: vec![0.0; grad.len()],
        });
        moments.steps += 1;
        let rule = Rule::new(
            moments.steps,
            self.learning_rate,
            self.optimizer.weight_decay,
            self.grad_scale,
        );
        // `storage_mut` copies the buffer first if another tensor still shares it.
        let params = values.storage_mut::<f32>();
        assert_eq!(
            params.len(),
            grad.len(),
            "a gradient has its parameter's shape"
        );
        params
            .par_chunks_mut(CHUNK)
            .zip(moments.first.par_chunks_mut(CHUNK))
            .zip(moments.second.par_chunks_mut(CHUNK))
            .zip(grad.par_chunks(CHUNK))
            .for_each(|(((p, m), v), g)| rule.apply(p, m, v, g));
        let mut updated = Tensor::from_inner(Tensor::<D>::from_primitive::<Flex>(values));
        if require_grad {
            updated = updated.require_grad();
        }
        Param::from_mapped_value(id, updated, mapper)
    }
}

/// The tensor with its own row-major buffer from offset 0.
fn contiguous(tensor: FlexTensor) -> FlexTensor {
    if tensor.is_contiguous() && tensor.layout().start_offset() == 0 {
        tensor
    } else {
        tensor.to_contiguous()
    }
}

/// One step's coefficients for one parameter, in the `f32` values burn's ops use.
struct Rule {
    first_step: bool,
    grad_scale: Option<f32>,
    /// `1 − β1`, `1 − β2`
    factors: [f32; 2],
    /// `1 − β1ᵗ`, `1 − β2ᵗ`
    corrections: [f32; 2],
    learning_rate: f32,
    /// `1 − lr·λ`, when λ ≠ 0
    decay: Option<f32>,
}

impl Rule {
    fn new(steps: i32, learning_rate: f64, weight_decay: f32, grad_scale: Option<f32>) -> Self {
        let decay_rate = learning_rate * f64::from(weight_decay);
        Self {
            first_step: steps == 1,
            grad_scale,
            factors: [1.0 - BETA_1, 1.0 - BETA_2],
            corrections: [1.0 - BETA_1.powi(steps), 1.0 - BETA_2.powi(steps)],
            learning_rate: learning_rate as f32,
            decay: (decay_rate != 0.0).then_some((1.0 - decay_rate) as f32),
        }
    }

    /// Updates parameter values `p` and moments `m`, `v` in place from gradient values `g`.
    fn apply(&self, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        let [f1, f2] = self.factors;
        let [c1, c2] = self.corrections;
        for (((p, m), v), &g) in p.iter_mut().zip(m).zip(v).zip(g) {
            let g = match self.grad_scale {
                Some(scale) => g * scale,
                None => g,
            };
            let square = g * g;
            if self.first_step {
                *m = g * f1;
                *v = square * f2;
            } else {
                *m = *m * BETA_1 + g * f1;
                *v = *v * BETA_2 + square * f2;
            }
            let delta = (*m / c1) / ((*v / c2).sqrt() + EPSILON);
            let decayed = match self.decay {
                Some(keep) => *p * keep,
                None => *p,
            };
            *p = decayed - delta * self.learning_rate;
        }
    }
}
