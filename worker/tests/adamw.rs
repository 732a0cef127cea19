mod common;

use attribution_worker::clipping::{clip_factor, clip_global_norm, global_norm};
use attribution_worker::data::make_batch;
use attribution_worker::model::Llama;
use attribution_worker::synthetic::PAD;
use attribution_worker::train::adamw::AdamW;
use attribution_worker::train::masked_loss;
use attribution_worker::tuning::Method;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use common::*;

/// Every float parameter's values, in module order.
fn parameters(model: &Llama) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0
                .push(param.val().into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// How many parameter values of `a` and `b` differ in their bits.
fn differing(a: &Llama, b: &Llama) -> usize {
    let (a, b) = (parameters(a), parameters(b));
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(a, b)| {
            assert_eq!(a.len(), b.len());
            a.iter()
                .zip(b)
                .filter(|(x, y)| x.to_bits() != y.to_bits())
                .count()
        })
        .sum()
}

/// Serializes the tests of this file (see [`matches_burn`]).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Three steps of the fused AdamW and of burn's on copies of one model, with weight decay
/// `weight_decay` and the gradients clipped to a quarter of their first norm: the parameters
/// must agree to the bit after every step (the same `f32` operations in the same order).
fn matches_burn(method: Method, weight_decay: f32) {
    // The backend's seed is process-wide: a test loading its models while the other seeds and
    // loads would draw from the same generator and give the two copies different adapters.
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = model_dir();
    let device = Device::default().autodiff();
    let examples = encoded(dir.path(), 4, 2);
    let batch = make_batch(&examples.iter().collect::<Vec<_>>(), PAD, &device);
    let gradients = |model: &Llama| {
        let loss = masked_loss(model.forward(batch.inputs.clone()), &batch);
        GradientsParams::from_grads(loss.backward(), model)
    };
    // The same seed before each load: the same adapter initialisation.
    device.seed(7);
    let mut ours = load(dir.path(), &method, &device);
    device.seed(7);
    let mut theirs = load(dir.path(), &method, &device);
    assert_eq!(differing(&ours, &theirs), 0);
    let limit = global_norm(&ours, &gradients(&ours)) / 4.0;
    let mut fused = AdamW::new(weight_decay);
    let mut burn = AdamWConfig::new().with_weight_decay(weight_decay).init();
    let before = parameters(&ours);
    for (step, learning_rate) in [1e-3, 5e-4, 2e-4].into_iter().enumerate() {
        let grads = gradients(&ours);
        let scale = clip_factor(global_norm(&ours, &grads), limit);
        assert!(scale.is_some(), "step {step}: the gradients are clipped");
        ours = fused.step(learning_rate, ours, grads, scale);

        let grads = clip_global_norm(&theirs, gradients(&theirs), limit);
        theirs = burn.step(learning_rate, theirs, grads);

        assert_eq!(
            differing(&ours, &theirs),
            0,
            "step {step}: values that differ from burn's AdamW"
        );
    }
    let moved = before
        .iter()
        .zip(parameters(&ours))
        .filter(|(was, now)| *was != now)
        .count();
    assert!(moved > 0, "the steps changed no parameter");
    // The trained parameters are still tracked: a fourth backward pass reaches them.
    let grads = gradients(&ours);
    assert!(global_norm(&ours, &grads) > 0.0);
}

#[test]
fn fused_adamw_is_burns_adamw_for_lora() {
    matches_burn(Method::Lora(lora()), 0.0);
}

#[test]
fn fused_adamw_is_burns_adamw_for_full_fine_tuning_with_weight_decay() {
    matches_burn(Method::Full, 0.01);
}
