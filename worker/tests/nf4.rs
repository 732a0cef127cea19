use attribution_worker::nf4::{level_error_bound, Nf4Matrix, BLOCK, LEVELS};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[test]
fn round_trip_error_is_within_the_format_bound() {
    let mut rng = StdRng::seed_from_u64(1);
    let shape = [96, 200];
    let values: Vec<f32> = (0..shape[0] * shape[1])
        .map(|_| rng.random_range(-0.1..0.1))
        .collect();
    let packed = Nf4Matrix::quantize(&values, shape).unwrap();
    let restored = packed.dequantize();
    for (block_index, (block, back)) in values.chunks(BLOCK).zip(restored.chunks(BLOCK)).enumerate()
    {
        let absmax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        // Nearest level error at the true scale, plus the scale's own quantization error.
        let bound = level_error_bound() * absmax + packed.scale_error_bound(block_index) + 1e-6;
        for (v, w) in block.iter().zip(back) {
            assert!(
                (v - w).abs() <= bound,
                "block {block_index}: {v} -> {w}, bound {bound}"
            );
        }
    }
    assert!((level_error_bound() - (LEVELS[1] - LEVELS[0]) / 2.0).abs() < 1e-6);
}

#[test]
fn packs_to_under_a_seventh_of_f32() {
    let shape = [256, 256];
    let values: Vec<f32> = (0..shape[0] * shape[1]).map(|i| (i as f32).sin()).collect();
    let packed = Nf4Matrix::quantize(&values, shape).unwrap();
    let ratio = packed.stored_bytes() as f64 / (4 * values.len()) as f64;
    assert!(ratio <= 0.14, "{ratio}");
}

#[test]
fn wrong_length_is_refused() {
    let err = Nf4Matrix::quantize(&[0.0; 10], [3, 4])
        .unwrap_err()
        .to_string();
    assert!(err.contains("do not fill"), "{err}");
}
