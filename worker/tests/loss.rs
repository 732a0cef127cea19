mod common;

use attribution_worker::checkpoint::StoredDtype;
use attribution_worker::data::{make_batch, Batch};
use attribution_worker::loss::head_loss;
use attribution_worker::model::Llama;
use attribution_worker::synthetic::PAD;
use attribution_worker::train::masked_loss;
use attribution_worker::tuning::Method;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use common::*;

/// Every float parameter's gradient, flattened, in visiting order (`None` when it has none).
fn gradients(model: &Llama, grads: &GradientsParams) -> Vec<Option<Vec<f32>>> {
    struct Collect<'a> {
        grads: &'a GradientsParams,
        out: Vec<Option<Vec<f32>>>,
    }
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let grad = self.grads.get::<D>(param.id);
            self.out
                .push(grad.map(|g| g.into_data().try_to_vec::<f32>().unwrap()));
        }
    }
    let mut visitor = Collect {
        grads,
        out: Vec::new(),
    };
    model.visit(&mut visitor);
    visitor.out
}

/// The chunked head's loss and gradients against autodiff through the full logits.
fn assert_matches_the_full_logits(model: &Llama, batch: &Batch, scale: f64) {
    let reference = masked_loss(model.forward(batch.inputs.clone()), batch).div_scalar(scale);
    let expected_value = reference.clone().into_scalar::<f32>();
    let expected = gradients(
        model,
        &GradientsParams::from_grads(reference.backward(), model),
    );

    let loss = head_loss(model, model.body(batch.inputs.clone()), batch, scale);
    let actual = gradients(
        model,
        &GradientsParams::from_grads(loss.surrogate.backward(), model),
    );
    assert!(
        (loss.value - expected_value).abs() < 1e-5,
        "{} vs {expected_value}",
        loss.value
    );
    assert_eq!(expected.len(), actual.len());
    let mut compared = 0;
    for (e, a) in expected.iter().zip(&actual) {
        match (e, a) {
            (Some(e), Some(a)) => {
                let scale = e.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
                assert!(max_abs_diff(e, a) <= 1e-4 * scale, "{}", max_abs_diff(e, a));
                compared += 1;
            }
            (None, None) => {}
            _ => panic!("one side has a gradient the other lacks"),
        }
    }
    assert!(compared > 0);
}

fn batch(dir: &std::path::Path, device: &Device) -> Batch {
    // 48 rows of up to 32 tokens: more trained positions than one chunk of the head holds.
    let examples = encoded(dir, 48, 3);
    let batch = make_batch(&examples.iter().collect::<Vec<_>>(), PAD, device);
    assert!(batch.trained_tokens > 64, "{}", batch.trained_tokens);
    batch
}

#[test]
fn adapters_get_the_gradients_of_the_full_logits() {
    let dir = model_dir();
    let device = Device::default().autodiff();
    let model = load_with_trained_adapters(dir.path(), &lora(), &device);
    assert_matches_the_full_logits(&model, &batch(dir.path(), &device), 2.0);
}

#[test]
fn full_fine_tuning_gets_the_head_gradient_untied_and_tied() {
    let device = Device::default().autodiff();
    for tied in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config();
        config.tie_word_embeddings = tied;
        TASK.write_model_dir(config, 7, StoredDtype::F32, dir.path())
            .unwrap();
        let model = load(dir.path(), &Method::Full, &device);
        assert_eq!(model.lm_head.is_none(), tied);
        assert_matches_the_full_logits(&model, &batch(dir.path(), &device), 1.0);
    }
}
