mod common;

use attribution_worker::data::make_batch;
use attribution_worker::layerwise;
use attribution_worker::lora::LoraConfig;
use attribution_worker::synthetic::PAD;
use attribution_worker::train::masked_loss;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use common::*;

#[test]
fn block_by_block_backpropagation_matches_the_whole_graph() {
    let dir = model_dir();
    let device = Device::default().autodiff();
    let lora = LoraConfig::new(2, 4.0).with_targets(vec!["q".into(), "v".into(), "down".into()]);
    // Non-zero B, so gradients reach A.
    let model = load_with_trained_adapters(dir.path(), &lora, &device);
    let examples = encoded(dir.path(), 4, 2);
    let batch = make_batch(&examples.iter().collect::<Vec<_>>(), PAD, &device);

    let loss = masked_loss(model.forward(batch.inputs.clone()), &batch);
    let expected_loss = loss.clone().into_scalar::<f32>();
    let expected = GradientsParams::from_grads(loss.backward(), &model);
    let (value, grads) = layerwise::gradients(&model, &batch, 1.0);
    assert!((value - expected_loss).abs() < 1e-6);

    let bottom = model.layers[0].attention.q_proj.lora.as_ref().unwrap();
    let top = model.layers[1].mlp.down_proj.lora.as_ref().unwrap();
    for param in [&bottom.a, &bottom.b, &top.a, &top.b] {
        let flat = |g: &GradientsParams| {
            g.get::<2>(param.id)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let (a, b) = (flat(&expected), flat(&grads));
        assert!(a.iter().any(|v| *v != 0.0));
        assert!(max_abs_diff(&a, &b) < 1e-5, "{}", max_abs_diff(&a, &b));
    }
}
