mod common;

use attribution_worker::data::make_batch;
use attribution_worker::layerwise;
use attribution_worker::lora::{LoraConfig, TargetModule};
use attribution_worker::loss::head_loss;
use attribution_worker::synthetic::PAD;
use attribution_worker::train::masked_loss;
use attribution_worker::tuning::Method;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Tensor};
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

/// QLoRA trains through the whole graph on `flex` (the NF4 matmul expands its weight again in
/// backward instead of keeping it); the gradients are those of block-by-block recomputation.
#[test]
fn qlora_whole_graph_matches_block_by_block() {
    let dir = model_dir();
    let device = Device::flex().autodiff();
    device.seed(9);
    let lora = LoraConfig::new(2, 4.0).with_targets(
        ["q", "k", "v", "o", "gate", "up", "down"]
            .map(String::from)
            .to_vec(),
    );
    let model = load(dir.path(), &Method::Qlora(lora.clone()), &device)
        .map_projections(|_, mut projection| {
            if let Some(adapter) = projection.lora.take() {
                let b = Tensor::random(adapter.b.shape(), Distribution::Normal(0.0, 0.1), &device);
                projection.lora = Some(lora.from_factors(adapter.a.val(), b));
            }
            Ok(projection)
        })
        .unwrap();
    assert!(model.is_quantized());
    let examples = encoded(dir.path(), 4, 3);
    let batch = make_batch(&examples.iter().collect::<Vec<_>>(), PAD, &device);

    let whole = head_loss(&model, model.body(batch.inputs.clone()), &batch, 1.0);
    let expected = GradientsParams::from_grads(whole.surrogate.backward(), &model);
    let (value, grads) = layerwise::gradients(&model, &batch, 1.0);
    assert!((value - whole.value).abs() < 1e-6);
    for layer in &model.layers {
        for target in TargetModule::ALL {
            let adapter = layer.projection(target).lora.as_ref().unwrap();
            for param in [&adapter.a, &adapter.b] {
                let flat = |g: &GradientsParams| {
                    g.get::<2>(param.id)
                        .unwrap()
                        .into_data()
                        .try_to_vec::<f32>()
                        .unwrap()
                };
                let (a, b) = (flat(&expected), flat(&grads));
                let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
                assert!(scale > 0.0);
                assert!(
                    max_abs_diff(&a, &b) / scale < 1e-5,
                    "{}",
                    max_abs_diff(&a, &b)
                );
            }
        }
    }
}
