//! Where training runs: the first CUDA GPU when built with the `cuda` feature and one is
//! present, otherwise burn's `flex` CPU backend. The choice is made at run time, so the same
//! binary serves GPU and CPU-only operators.

use burn::tensor::Device;

/// The device to train on.
pub fn select(prefer_gpu: bool) -> Device {
    #[cfg(feature = "cuda")]
    if prefer_gpu {
        // Enumerating loads the CUDA driver dynamically; no driver or no GPU gives an empty list.
        match std::panic::catch_unwind(|| {
            burn::tensor::Device::enumerate(burn::tensor::DeviceType::Cuda)
        }) {
            Ok(devices) if !devices.is_empty() => {
                tracing::info!("training on CUDA device 0");
                return Device::cuda(0);
            }
            _ => tracing::warn!("no CUDA GPU available; falling back to the CPU backend"),
        }
    }
    #[cfg(not(feature = "cuda"))]
    if prefer_gpu {
        tracing::info!("built without the `cuda` feature; using the CPU backend");
    }
    Device::flex()
}
