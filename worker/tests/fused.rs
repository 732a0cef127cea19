//! The fused ops (RMSNorm, RoPE, SwiGLU, the packed (NF4) matmul, the parallel scaled matmul) and the shared LoRA `A` product against the
//! compositions of burn ops they replace: values and gradients under `Autodiff<Flex>`, values
//! without autodiff.

mod common;

use attribution_worker::lora::LoraConfig;
use attribution_worker::model::fused::{
    causal_softmax, packed_matmul, rms_norm, rope, scaled_matmul, scaled_matmul_add, swiglu,
};
use attribution_worker::model::{BaseWeight, Projection};
use attribution_worker::nf4::Nf4Matrix;
use burn::module::Param;
use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Bool, Device, Distribution, Gradients, Tensor, TensorData};
use common::max_abs_diff;

fn flat<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().unwrap()
}

/// `max |a − b| / max |a|`, asserted to be at most 1e-5 (and `a` not all zero).
fn assert_close(a: &[f32], b: &[f32], what: &str) {
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: all zero");
    let relative = max_abs_diff(a, b) / scale;
    assert!(relative <= 1e-5, "{what}: relative difference {relative}");
}

fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// `x`'s gradient in `grads`, flattened.
fn grad<const D: usize>(grads: &Gradients, x: &Tensor<D>) -> Vec<f32> {
    flat(x.grad(grads).unwrap())
}

#[test]
fn rms_norm_matches_the_composition() {
    let device = Device::flex().autodiff();
    device.seed(3);
    let x = random([3, 5, 24], &device).require_grad();
    let gamma = random([24], &device).require_grad();
    let weights = random([3, 5, 24], &device);
    let composed = |x: Tensor<3>, gamma: Tensor<1>| {
        let rms = x.clone().square().mean_dim(2).add_scalar(1e-5).sqrt();
        x.div(rms).mul(gamma.unsqueeze::<3>())
    };

    let fused = rms_norm(x.clone(), gamma.clone(), 1e-5);
    let reference = composed(x.clone(), gamma.clone());
    assert_close(&flat(reference.clone()), &flat(fused.clone()), "values");
    let fused_grads = (fused * weights.clone()).sum().backward();
    let reference_grads = (reference * weights).sum().backward();
    assert_close(&grad(&reference_grads, &x), &grad(&fused_grads, &x), "dx");
    assert_close(
        &grad(&reference_grads, &gamma),
        &grad(&fused_grads, &gamma),
        "dgamma",
    );

    let x = x.inner();
    let gamma = gamma.inner();
    assert_close(
        &flat(composed(x.clone(), gamma.clone())),
        &flat(rms_norm(x, gamma, 1e-5)),
        "untracked values",
    );
}

#[test]
fn swiglu_matches_the_composition() {
    let device = Device::flex().autodiff();
    device.seed(4);
    let gate = random([7, 40], &device).mul_scalar(3.0).require_grad();
    let up = random([7, 40], &device).require_grad();
    let weights = random([7, 40], &device);

    let fused = swiglu(gate.clone(), up.clone());
    let reference = silu(gate.clone()) * up.clone();
    assert_close(&flat(reference.clone()), &flat(fused.clone()), "values");
    let fused_grads = (fused * weights.clone()).sum().backward();
    let reference_grads = (reference * weights.clone()).sum().backward();
    for (name, x) in [("dgate", &gate), ("dup", &up)] {
        assert_close(&grad(&reference_grads, x), &grad(&fused_grads, x), name);
    }

    // Only the gate tracked: the single-gradient path.
    let up = up.detach();
    let fused_grads = (swiglu(gate.clone(), up.clone()) * weights.clone())
        .sum()
        .backward();
    let reference_grads = ((silu(gate.clone()) * up) * weights).sum().backward();
    assert_close(
        &grad(&reference_grads, &gate),
        &grad(&fused_grads, &gate),
        "dgate alone",
    );

    let (gate, up) = (gate.inner(), random([7, 40], &Device::flex()));
    assert_close(
        &flat(silu(gate.clone()) * up.clone()),
        &flat(swiglu(gate, up)),
        "untracked values",
    );
}

/// RoPE on `[batch, seq, heads, head_dim]` against the "rotate half" composition on
/// `[batch, heads, seq, head_dim]` that the model used before, with tables longer than `seq`.
#[test]
fn rope_matches_the_composition() {
    let device = Device::flex().autodiff();
    device.seed(7);
    let cos = random([9, 8], &device);
    let sin = random([9, 8], &device);
    let x = random([2, 5, 3, 8], &device).require_grad();
    let weights = random([2, 5, 3, 8], &device);
    let composed = |x: Tensor<4>| {
        let x = x.swap_dims(1, 2);
        let cos = cos.clone().slice_dim(0, 0..5).unsqueeze::<4>();
        let sin = sin.clone().slice_dim(0, 0..5).unsqueeze::<4>();
        let first = x.clone().slice_dim(3, 0..4);
        let second = x.clone().slice_dim(3, 4..8);
        let rotated = Tensor::cat(vec![second.neg(), first], 3);
        (x * cos + rotated * sin).swap_dims(1, 2)
    };

    let fused = rope(x.clone(), &cos, &sin);
    let reference = composed(x.clone());
    assert_close(&flat(reference.clone()), &flat(fused.clone()), "values");
    let fused_grads = (fused * weights.clone()).sum().backward();
    let reference_grads = (reference * weights).sum().backward();
    assert_close(&grad(&reference_grads, &x), &grad(&fused_grads, &x), "dx");

    let x = x.inner();
    let (cos, sin) = (cos.inner(), sin.inner());
    let plain = rope(x.clone(), &cos, &sin);
    let x = x.swap_dims(1, 2);
    let reference = (x.clone() * cos.slice_dim(0, 0..5).unsqueeze::<4>()
        + Tensor::cat(
            vec![x.clone().slice_dim(3, 4..8).neg(), x.slice_dim(3, 0..4)],
            3,
        ) * sin.slice_dim(0, 0..5).unsqueeze::<4>())
    .swap_dims(1, 2);
    assert_close(&flat(reference), &flat(plain), "untracked values");
}

#[test]
fn scaled_matmul_matches_burns_matmul() {
    let device = Device::flex().autodiff();
    device.seed(6);
    // LoRA's shapes in small: a wide input, a narrow factor; operands as stored, as a transposed
    // view and as a column slice (what the shared `A` product hands each `B`).
    let x = random([37, 48], &device).require_grad();
    let a = random([48, 24], &device).require_grad();
    let frozen = random([20, 48], &device);
    let weights = random([37, 24], &device);
    // Each case builds its operands anew for each side: backward consumes the graph below them.
    type Operands = fn(&Tensor<2>, &Tensor<2>, &Tensor<2>) -> (Tensor<2>, Tensor<2>);
    let cases: [(&str, Operands, bool); 3] = [
        ("stored", |x, a, _| (x.clone(), a.clone()), true),
        (
            "transposed rhs",
            |x, _, frozen| (x.clone(), frozen.clone().transpose()),
            false,
        ),
        (
            "sliced operands",
            |x, a, _| {
                (
                    x.clone().matmul(a.clone()).slice_dim(1, 8..16),
                    a.clone().slice_dim(0, 0..8).slice_dim(1, 0..8),
                )
            },
            true,
        ),
    ];
    for (what, operands, a_tracked) in cases {
        let (lhs, rhs) = operands(&x, &a, &frozen);
        let fused = scaled_matmul(lhs, rhs, 2.5);
        let (lhs, rhs) = operands(&x, &a, &frozen);
        let reference = lhs.matmul(rhs).mul_scalar(2.5);
        assert_close(&flat(reference.clone()), &flat(fused.clone()), what);
        let w = weights.clone().slice_dim(1, 0..fused.dims()[1]);
        let fused_grads = (fused * w.clone()).sum().backward();
        let reference_grads = (reference * w).sum().backward();
        assert_close(&grad(&reference_grads, &x), &grad(&fused_grads, &x), what);
        if a_tracked {
            assert_close(&grad(&reference_grads, &a), &grad(&fused_grads, &a), what);
        }
        assert!(
            frozen.grad(&fused_grads).is_none(),
            "{what}: a frozen operand gets no gradient"
        );
    }
    let (x, a) = (x.inner(), a.inner());
    assert_close(
        &flat(x.clone().matmul(a.clone()).mul_scalar(0.5)),
        &flat(scaled_matmul(x, a, 0.5)),
        "untracked values",
    );
}

#[test]
fn scaled_matmul_add_matches_burns_sum_and_matmul() {
    let device = Device::flex().autodiff();
    device.seed(8);
    // A projection with its LoRA update in small: `acc = x·W` (frozen `W`), the update
    // `(x·A)·B` summed onto it.
    let x = random([37, 48], &device).require_grad();
    let w = random([48, 40], &device);
    let a = random([48, 8], &device).require_grad();
    let b = random([8, 40], &device).require_grad();
    let weights = random([37, 40], &device);
    let down = |x: &Tensor<2>| x.clone().matmul(a.clone());

    let acc = x.clone().matmul(w.clone());
    let fused = scaled_matmul_add(acc, down(&x), b.clone(), 2.5);
    let reference = x.clone().matmul(w.clone()) + down(&x).matmul(b.clone()).mul_scalar(2.5);
    assert_close(&flat(reference.clone()), &flat(fused.clone()), "values");
    let fused_grads = (fused * weights.clone()).sum().backward();
    let reference_grads = (reference * weights.clone()).sum().backward();
    for (what, tensor) in [("dx", &x), ("dA", &a), ("dB", &b)] {
        assert_close(
            &grad(&reference_grads, tensor),
            &grad(&fused_grads, tensor),
            what,
        );
    }
    assert!(w.grad(&fused_grads).is_none(), "a frozen weight gets none");

    // An `acc` that another tensor still holds is copied, not overwritten.
    let acc = x.clone().matmul(w.clone()).detach();
    let before = flat(acc.clone());
    let _sum = scaled_matmul_add(acc.clone(), down(&x), b.clone(), 1.0);
    assert_eq!(before, flat(acc), "shared acc left as it was");

    let (x, w, a, b) = (x.inner(), w.inner(), a.inner(), b.inner());
    let down = x.clone().matmul(a);
    assert_close(
        &flat(x.clone().matmul(w.clone()) + down.clone().matmul(b.clone()).mul_scalar(0.5)),
        &flat(scaled_matmul_add(x.matmul(w), down, b, 0.5)),
        "untracked values",
    );
}

#[test]
fn causal_softmax_matches_the_masked_softmax() {
    let device = Device::flex().autodiff();
    device.seed(9);
    // Two query heads per key/value head (rows = 2 · seq), a prefix of 3 keys every query sees.
    let (seq, prefix, groups) = (5, 3, 2);
    let keys = seq + prefix;
    let scores = random([2, 3, groups * seq, keys], &device)
        .mul_scalar(4.0)
        .require_grad();
    let weights = random([2, 3, groups * seq, keys], &device);
    let mask: Vec<bool> = (0..groups * seq)
        .flat_map(|r| (0..keys).map(move |j| j > r % seq + prefix))
        .collect();
    let mask = Tensor::<2, Bool>::from_data(TensorData::new(mask, [groups * seq, keys]), &device);
    let composed = |scores: Tensor<4>| {
        softmax(
            scores
                .div_scalar(8f64.sqrt())
                .mask_fill(mask.clone().unsqueeze::<4>(), f32::NEG_INFINITY),
            3,
        )
    };

    let fused = causal_softmax(scores.clone(), 1.0 / 8f64.sqrt(), seq);
    let reference = composed(scores.clone());
    assert_close(&flat(reference.clone()), &flat(fused.clone()), "values");
    let fused_grads = (fused * weights.clone()).sum().backward();
    let reference_grads = (reference * weights).sum().backward();
    assert_close(
        &grad(&reference_grads, &scores),
        &grad(&fused_grads, &scores),
        "dscores",
    );

    let scores = scores.inner();
    assert_close(
        &flat(softmax(
            scores
                .clone()
                .div_scalar(8f64.sqrt())
                .mask_fill(mask.inner().unsqueeze::<4>(), f32::NEG_INFINITY),
            3,
        )),
        &flat(causal_softmax(scores, 1.0 / 8f64.sqrt(), seq)),
        "untracked values",
    );
}

#[test]
fn packed_matmul_of_nf4_matches_the_expanded_weight() {
    let device = Device::flex().autodiff();
    device.seed(5);
    let values = flat(random([64, 48], &Device::flex()));
    let weight = Nf4Matrix::quantize(&values, [64, 48]).unwrap();
    let x = random([6, 64], &device).require_grad();
    let weights = random([6, 48], &device);

    let fused = packed_matmul(x.clone(), &weight);
    let reference = x.clone().matmul(weight.to_tensor(&device));
    assert_close(&flat(reference.clone()), &flat(fused.clone()), "values");
    let fused_grads = (fused * weights.clone()).sum().backward();
    let reference_grads = (reference * weights).sum().backward();
    assert_close(&grad(&reference_grads, &x), &grad(&fused_grads, &x), "dx");

    let x = x.inner();
    assert_close(
        &flat(x.clone().matmul(weight.to_tensor(&Device::flex()))),
        &flat(packed_matmul(x, &weight)),
        "untracked values",
    );
}

/// q, k, v projections of `[24, 32]`, `[24, 16]`, `[24, 16]` with trained-looking adapters.
fn projections(lora: &LoraConfig, device: &Device) -> Vec<Projection> {
    [32, 16, 16]
        .into_iter()
        .map(|d_out| {
            let base = Param::from_tensor(random([24, d_out], device)).set_require_grad(false);
            let adapter = lora.from_factors(random([24, 4], device), random([4, d_out], device));
            Projection {
                base: BaseWeight::Dense(base),
                lora: Some(adapter),
            }
        })
        .collect()
}

#[test]
fn shared_lora_a_product_matches_separate_products() {
    let device = Device::flex().autodiff();
    device.seed(6);
    let lora = LoraConfig::new(4, 8.0);
    let p = projections(&lora, &device);
    let x = random([10, 24], &device).require_grad();
    let weights: Vec<Tensor<2>> = [32, 16, 16]
        .into_iter()
        .map(|d| random([10, d], &device))
        .collect();
    let loss = |outputs: [Tensor<2>; 3]| {
        outputs
            .into_iter()
            .zip(&weights)
            .map(|(y, w)| (y * w.clone()).sum())
            .reduce(|a, b| a + b)
            .unwrap()
    };

    let fused = Projection::forward_shared([&p[0], &p[1], &p[2]], x.clone());
    let separate = [&p[0], &p[1], &p[2]].map(|p| p.forward_rows(x.clone()));
    for (a, b) in separate.iter().zip(&fused) {
        assert_close(&flat(a.clone()), &flat(b.clone()), "values");
    }
    let fused_grads = loss(fused).backward();
    let separate_grads = loss(separate).backward();
    assert_close(&grad(&separate_grads, &x), &grad(&fused_grads, &x), "dx");
    for projection in &p {
        let adapter = projection.lora.as_ref().unwrap();
        for factor in [&adapter.a, &adapter.b] {
            assert_close(
                &grad(&separate_grads, &factor.val()),
                &grad(&fused_grads, &factor.val()),
                "adapter factor",
            );
        }
    }
}
