//! A Llama-architecture causal language model (RMSNorm, RoPE, SwiGLU, grouped-query attention,
//! tied or untied embeddings), configured from a Hugging Face `config.json`.

mod attention;
mod config;
pub mod fused;
mod mlp;
mod projection;
mod rms_norm;
mod rope;

pub use attention::Attention;
pub use config::{projection_path, LlamaConfig};
pub use mlp::Mlp;
pub use projection::{BaseWeight, PackedBlocks, PackedWeight, Projection};
pub use rms_norm::RmsNorm;
pub use rope::RotaryEmbedding;

use crate::checkpoint::{Checkpoint, HostTensor, WeightSource};
use crate::lora::{QloraBase, TargetModule};
use crate::nf4::Nf4Matrix;
use crate::tuning::Method;
use anyhow::Result;
use burn::module::{Module, Param};
use burn::tensor::module::{embedding, linear};
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::collections::BTreeMap;

/// A host tensor as a parameter on `device`.
fn host_param<const D: usize>(
    tensor: &HostTensor,
    trainable: bool,
    device: &Device,
) -> Param<Tensor<D>> {
    let data = TensorData::new(tensor.values.clone(), tensor.shape.clone());
    Param::from_tensor(Tensor::from_data(data, device)).set_require_grad(trainable)
}

/// One transformer block: pre-norm attention and pre-norm MLP, each with a residual.
#[derive(Module, Debug)]
pub struct Block {
    pub input_norm: RmsNorm,
    pub attention: Attention,
    pub post_attention_norm: RmsNorm,
    pub mlp: Mlp,
}

impl Block {
    /// - input: `[batch, seq, d_model]`
    /// - output: `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>, rope: &RotaryEmbedding) -> Tensor<3> {
        let x = x.clone() + self.attention.forward(self.input_norm.forward(x), rope);
        x.clone() + self.mlp.forward(self.post_attention_norm.forward(x))
    }

    fn projection_mut(&mut self, target: TargetModule) -> &mut Projection {
        match target {
            TargetModule::Q => &mut self.attention.q_proj,
            TargetModule::K => &mut self.attention.k_proj,
            TargetModule::V => &mut self.attention.v_proj,
            TargetModule::O => &mut self.attention.o_proj,
            TargetModule::Gate => &mut self.mlp.gate_proj,
            TargetModule::Up => &mut self.mlp.up_proj,
            TargetModule::Down => &mut self.mlp.down_proj,
        }
    }

    /// The projection `target`.
    pub fn projection(&self, target: TargetModule) -> &Projection {
        match target {
            TargetModule::Q => &self.attention.q_proj,
            TargetModule::K => &self.attention.k_proj,
            TargetModule::V => &self.attention.v_proj,
            TargetModule::O => &self.attention.o_proj,
            TargetModule::Gate => &self.mlp.gate_proj,
            TargetModule::Up => &self.mlp.up_proj,
            TargetModule::Down => &self.mlp.down_proj,
        }
    }
}

/// The causal language model.
#[derive(Module, Debug)]
pub struct Llama {
    /// `[vocab, d_model]`
    pub embed_tokens: Param<Tensor<2>>,
    pub layers: Vec<Block>,
    pub norm: RmsNorm,
    /// `[d_model, vocab]`; `None` when tied to `embed_tokens`.
    pub lm_head: Option<Param<Tensor<2>>>,
    pub rope: RotaryEmbedding,
}

impl Llama {
    /// Builds the model from a checkpoint, setting up `method`'s trainable parameters: all of
    /// them for full fine-tuning; adapters or prefixes over a frozen base otherwise. QLoRA's
    /// base projections stay in the checkpoint's own ggml blocks where it stores them so
    /// (unless the method asks for [`QloraBase::Nf4`]) and are quantized to NF4 otherwise.
    ///
    /// Tensors are read from `checkpoint` one at a time, so for QLoRA a source that decodes on
    /// demand (GGUF) never holds the base in `f32`: each projection is kept as its blocks, or
    /// packed to NF4 with its `f32` values dropped, before the next is read.
    pub fn from_checkpoint(
        checkpoint: &impl WeightSource,
        method: &Method,
        device: &Device,
    ) -> Result<Self> {
        let config = checkpoint.config();
        config.validate()?;
        let train_base = matches!(method, Method::Full);
        let targets = method.validate()?;
        let norm = |name: String| -> Result<RmsNorm> {
            Ok(RmsNorm {
                gamma: host_param(
                    &checkpoint.read(&name, &[config.hidden_size])?,
                    train_base,
                    device,
                ),
                eps: config.rms_norm_eps,
            })
        };

        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for layer in 0..config.num_hidden_layers {
            let projection = |target: TargetModule| -> Result<Projection> {
                let [d_in, d_out] = config.projection_shape(target);
                let name = format!("{}.weight", projection_path(layer, target));
                let stored = match method {
                    Method::Qlora(lora) if lora.base == QloraBase::Stored => {
                        checkpoint.read_blocks(&name, &[d_out, d_in])?
                    }
                    _ => None,
                };
                let base = match stored {
                    Some(blocks) => BaseWeight::Blocks(PackedBlocks::new(blocks, device)),
                    None => {
                        let weight = checkpoint.read(&name, &[d_out, d_in])?.transposed();
                        match method {
                            Method::Qlora(_) => BaseWeight::Nf4(PackedWeight::new(
                                Nf4Matrix::quantize(&weight.values, [d_in, d_out])?,
                                device,
                            )),
                            _ => BaseWeight::Dense(host_param(&weight, train_base, device)),
                        }
                    }
                };
                let lora = match method.lora() {
                    Some(lora) if targets.contains(&target) => Some(lora.init(d_in, d_out, device)),
                    _ => None,
                };
                Ok(Projection { base, lora })
            };
            let prefix = match method {
                Method::PTuning(prefix) => {
                    Some(prefix.init(config.kv_heads(), config.head_dim(), device))
                }
                _ => None,
            };
            layers.push(Block {
                input_norm: norm(format!("model.layers.{layer}.input_layernorm.weight"))?,
                attention: Attention {
                    q_proj: projection(TargetModule::Q)?,
                    k_proj: projection(TargetModule::K)?,
                    v_proj: projection(TargetModule::V)?,
                    o_proj: projection(TargetModule::O)?,
                    prefix,
                    n_heads: config.num_attention_heads,
                    n_kv_heads: config.kv_heads(),
                    head_dim: config.head_dim(),
                },
                post_attention_norm: norm(format!(
                    "model.layers.{layer}.post_attention_layernorm.weight"
                ))?,
                mlp: Mlp {
                    gate_proj: projection(TargetModule::Gate)?,
                    up_proj: projection(TargetModule::Up)?,
                    down_proj: projection(TargetModule::Down)?,
                },
            });
        }
        let embed_shape = [config.vocab_size, config.hidden_size];
        let lm_head = if config.tie_word_embeddings {
            None
        } else {
            Some(host_param(
                &checkpoint
                    .read("lm_head.weight", &embed_shape)?
                    .transposed(),
                train_base,
                device,
            ))
        };
        Ok(Self {
            embed_tokens: host_param(
                &checkpoint.read("model.embed_tokens.weight", &embed_shape)?,
                train_base,
                device,
            ),
            layers,
            norm: norm("model.norm.weight".into())?,
            lm_head,
            rope: RotaryEmbedding::new(
                config.head_dim(),
                config.max_position_embeddings,
                config.rope_theta,
                device,
            ),
        })
    }

    /// - tokens: `[batch, seq]`
    /// - output (logits): `[batch, seq, vocab]`
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        self.head(self.body(tokens))
    }

    /// Embeddings and every block: the top block's output, before the final norm.
    ///
    /// - tokens: `[batch, seq]`
    /// - output: `[batch, seq, d_model]`
    pub fn body(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let mut x = self.embed(tokens);
        for layer in &self.layers {
            x = layer.forward(x, &self.rope);
        }
        x
    }

    /// Token embeddings.
    ///
    /// - tokens: `[batch, seq]`
    /// - output: `[batch, seq, d_model]`
    pub fn embed(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        embedding(self.embed_tokens.val(), tokens)
    }

    /// Final norm and output projection.
    ///
    /// - input: `[batch, seq, d_model]`
    /// - output (logits): `[batch, seq, vocab]`
    pub fn head(&self, x: Tensor<3>) -> Tensor<3> {
        let head = match &self.lm_head {
            Some(head) => head.val(),
            None => self.embed_tokens.val().transpose(),
        };
        linear(self.norm.forward(x), head, None)
    }

    /// Whether any projection is stored quantized (NF4 or ggml blocks).
    pub fn is_quantized(&self) -> bool {
        self.layers.iter().any(|layer| {
            TargetModule::ALL
                .iter()
                .any(|&t| layer.projection(t).base.is_packed())
        })
    }

    /// Applies `f` to every projection, with its Hugging Face module path.
    pub fn map_projections(
        mut self,
        mut f: impl FnMut(&str, Projection) -> Result<Projection>,
    ) -> Result<Self> {
        let device = self.embed_tokens.val().device();
        for (index, layer) in self.layers.iter_mut().enumerate() {
            for target in TargetModule::ALL {
                let slot = layer.projection_mut(target);
                let placeholder = Projection {
                    base: BaseWeight::Dense(Param::from_tensor(Tensor::zeros([1, 1], &device))),
                    lora: None,
                };
                let projection = std::mem::replace(slot, placeholder);
                *slot = f(&projection_path(index, target), projection)?;
            }
        }
        Ok(self)
    }

    /// Folds every adapter into its base weight.
    pub fn merge_adapters(self) -> Self {
        self.map_projections(|_, projection| Ok(projection.merge()))
            .expect("merging cannot fail")
    }

    /// The model's weights in Hugging Face layout and names (adapters must be merged first to
    /// be included).
    pub fn to_checkpoint(&self, config: &LlamaConfig) -> Checkpoint {
        let host = |tensor: Tensor<2>| {
            let shape = tensor.dims().to_vec();
            HostTensor {
                shape,
                values: tensor.into_data().try_to_vec::<f32>().expect("f32 tensor"),
            }
        };
        let norm = |norm: &RmsNorm| HostTensor {
            shape: vec![config.hidden_size],
            values: norm
                .gamma
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 tensor"),
        };
        let mut tensors = BTreeMap::new();
        tensors.insert(
            "model.embed_tokens.weight".into(),
            host(self.embed_tokens.val()),
        );
        for (index, layer) in self.layers.iter().enumerate() {
            for target in TargetModule::ALL {
                let weight = host(layer.projection(target).base.tensor()).transposed();
                tensors.insert(format!("{}.weight", projection_path(index, target)), weight);
            }
            tensors.insert(
                format!("model.layers.{index}.input_layernorm.weight"),
                norm(&layer.input_norm),
            );
            tensors.insert(
                format!("model.layers.{index}.post_attention_layernorm.weight"),
                norm(&layer.post_attention_norm),
            );
        }
        tensors.insert("model.norm.weight".into(), norm(&self.norm));
        if let Some(head) = &self.lm_head {
            tensors.insert("lm_head.weight".into(), host(head.val()).transposed());
        }
        Checkpoint {
            config: config.clone(),
            tensors,
        }
    }
}
