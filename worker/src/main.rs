fn main() {
    let device = burn::tensor::Device::default();
    let _ = device;
}
