//! Gradient clipping by global norm, as Hugging Face's `Trainer` does with `max_grad_norm`: when
//! the L2 norm over all gradients together exceeds the limit, every gradient is scaled by the
//! same factor, so the update keeps its direction.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// The L2 norm over every gradient in `grads` that belongs to `module`.
pub fn global_norm<M: Module>(module: &M, grads: &GradientsParams) -> f32 {
    struct SquaredSum<'a> {
        grads: &'a GradientsParams,
        sum: Option<Tensor<1>>,
    }
    impl ModuleVisitor for SquaredSum<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.get::<D>(param.id) {
                let squares = grad.square().sum();
                self.sum = Some(match self.sum.take() {
                    Some(sum) => sum + squares,
                    None => squares,
                });
            }
        }
    }
    let mut visitor = SquaredSum { grads, sum: None };
    module.visit(&mut visitor);
    visitor
        .sum
        .map_or(0.0, |sum| sum.into_scalar::<f32>().sqrt())
}

/// The factor that scales gradients of global norm `norm` to at most `max_norm`; `None` when
/// they are within it already.
pub fn clip_factor(norm: f32, max_norm: f32) -> Option<f32> {
    // The small epsilon keeps the clipped norm just under the limit, as in PyTorch.
    (norm > max_norm).then(|| max_norm / (norm + 1e-6))
}

/// Scales all of `module`'s gradients so that their global norm is at most `max_norm`.
pub fn clip_global_norm<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    max_norm: f32,
) -> GradientsParams {
    let Some(factor) = clip_factor(global_norm(module, &grads), max_norm) else {
        return grads;
    };
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        factor: f32,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.remove::<D>(param.id) {
                self.grads.register(param.id, grad.mul_scalar(self.factor));
            }
        }
    }
    module.visit(&mut Scale {
        grads: &mut grads,
        factor,
    });
    grads
}
