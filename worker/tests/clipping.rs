mod common;

use attribution_worker::clipping::{clip_global_norm, global_norm};
use attribution_worker::data::make_batch;
use attribution_worker::synthetic::PAD;
use attribution_worker::train::masked_loss;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use common::*;

#[test]
fn clipping_scales_all_gradients_to_the_global_norm() {
    let dir = model_dir();
    let device = Device::default().autodiff();
    let model = load_with_trained_adapters(dir.path(), &lora(), &device);
    let examples = encoded(dir.path(), 4, 2);
    let batch = make_batch(&examples.iter().collect::<Vec<_>>(), PAD, &device);
    let loss = masked_loss(model.forward(batch.inputs.clone()), &batch);
    let grads = GradientsParams::from_grads(loss.backward(), &model);

    let norm = global_norm(&model, &grads);
    assert!(norm > 0.0);
    let adapter = model.layers[0].attention.q_proj.lora.as_ref().unwrap();
    let grad_of_b = |g: &GradientsParams| {
        let grad = g.get::<2>(adapter.b.id).unwrap();
        grad.into_data().try_to_vec::<f32>().unwrap()
    };
    let before = grad_of_b(&grads);

    // Above the norm nothing changes.
    let grads = clip_global_norm(&model, grads, 2.0 * norm);
    assert!((global_norm(&model, &grads) - norm).abs() < 1e-6 * norm.max(1.0));

    let limit = norm / 4.0;
    let clipped = clip_global_norm(&model, grads, limit);
    assert!((global_norm(&model, &clipped) - limit).abs() < 1e-4 * limit);
    // Every gradient is scaled by the same factor: the direction is kept.
    for (b, a) in before.iter().zip(&grad_of_b(&clipped)) {
        assert!(
            (b / 4.0 - a).abs() <= 1e-5 * b.abs().max(1e-3),
            "{b} -> {a}"
        );
    }
}
