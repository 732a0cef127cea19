"""The training peer: PyTorch + transformers + PEFT on the batches the worker's bench trains on.

`attribution-worker bench train --model M --peers PYTHON` writes a plan (JSON): the model path,
threads, the adapter settings, AdamW's settings, gradient clipping, and every step's batch as token
ids (`inputs`, `targets`, `mask`: [batch, seq], right-padded by the worker) with its learning rate.
This script trains one method on those batches in this process and prints ONE JSON line of figures
on stdout (logs go to stderr):

    python train.py --plan plan.json --method lora

What runs, so that nothing is slowed on purpose:

- the model: `AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=torch.float32)` for a
  GGUF (transformers dequantizes every tensor to f32), or `from_pretrained(dir)` for a Hugging Face
  directory; `model.train()`, default attention implementation (`sdpa`), no gradient checkpointing
  (the worker has none either), `use_cache=False` (a training forward has no use for a KV cache).
- full: every parameter trains (the tied embedding / LM head once).
- lora: `peft.get_peft_model` with `LoraConfig(r, lora_alpha, lora_dropout=0, target_modules=the
  seven projections, bias="none")`.
- p-tuning-v2: `peft.PrefixTuningConfig(num_virtual_tokens=prefix_length)` without the
  reparameterisation MLP (`prefix_projection=False`), PEFT's P-tuning v2.
- a step: forward on `inputs` [batch, seq], cross-entropy of the logits against `targets`, summed
  over the positions `mask` keeps and divided by their count (the worker's loss), backward,
  `clip_grad_norm_(max_grad_norm)`, `torch.optim.AdamW` (betas, eps, weight decay from the plan, the
  step's learning rate), `zero_grad(set_to_none=True)`. Its wall time is one `perf_counter`
  difference; the first `warmup` steps are not reported in `step_ms`.

Memory: `peak_rss_bytes` is the process's peak resident set (VmHWM, loading included),
`train_peak_rss_bytes` the VmHWM of the training steps alone (reset through `/proc/self/clear_refs`
after loading; null where the kernel refuses).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# transformers' GGUF conversion draws a bare tqdm bar that only this variable silences.
os.environ.setdefault("TQDM_DISABLE", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
import transformers.utils.logging as hf_logging  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

METHODS = ("full", "lora", "p-tuning-v2")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def vm_hwm_bytes() -> int:
    """Peak resident set of this process so far (VmHWM in /proc/self/status)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_vm_hwm() -> bool:
    """Starts a new VmHWM at the current resident set (Linux: `echo 5 > /proc/self/clear_refs`)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def load_model(path: str) -> torch.nn.Module:
    hf_logging.disable_progress_bar()
    if path.endswith(".gguf"):
        directory, name = os.path.split(os.path.abspath(path))
        return AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)


def prepare(model: torch.nn.Module, method: str, plan: dict) -> torch.nn.Module:
    """The model with `method`'s trainable parameters (everything else frozen)."""
    if method == "full":
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        return model
    import peft

    if method == "lora":
        config = peft.LoraConfig(
            r=plan["rank"],
            lora_alpha=plan["alpha"],
            lora_dropout=0.0,
            target_modules=TARGETS,
            bias="none",
            task_type="CAUSAL_LM",
        )
    else:
        config = peft.PrefixTuningConfig(
            num_virtual_tokens=plan["prefix_length"], prefix_projection=False, task_type="CAUSAL_LM"
        )
    return peft.get_peft_model(model, config)


def masked_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the kept positions. logits [b, s, vocab], targets/mask [b, s]."""
    vocab = logits.shape[-1]
    per_token = F.cross_entropy(logits.reshape(-1, vocab).float(), targets.reshape(-1), reduction="none")
    kept = mask.reshape(-1)
    return (per_token * kept).sum() / kept.sum().clamp(min=1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, help="the plan JSON the worker wrote")
    parser.add_argument("--method", required=True, choices=METHODS)
    args = parser.parse_args()
    with open(args.plan) as file:
        plan = json.load(file)

    torch.set_num_threads(plan["threads"])
    torch.manual_seed(plan["seed"])
    model = prepare(load_model(plan["model"]), args.method, plan)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = plan["optimizer"]
    adamw = torch.optim.AdamW(
        trainable,
        lr=plan["batches"][0]["learning_rate"],
        betas=tuple(optimizer["betas"]),
        eps=optimizer["epsilon"],
        weight_decay=optimizer["weight_decay"],
    )
    batches = [
        (
            torch.tensor(b["inputs"], dtype=torch.long),
            torch.tensor(b["targets"], dtype=torch.long),
            torch.tensor(b["mask"], dtype=torch.float32),
            b["learning_rate"],
        )
        for b in plan["batches"]
    ]
    load_peak = vm_hwm_bytes()
    train_rss_reset = reset_vm_hwm()

    losses, seconds = [], []
    for inputs, targets, mask, learning_rate in batches:
        start = time.perf_counter()
        for group in adamw.param_groups:
            group["lr"] = learning_rate
        logits = model(input_ids=inputs, use_cache=False).logits
        loss = masked_loss(logits, targets, mask)
        loss.backward()
        if optimizer["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(trainable, optimizer["max_grad_norm"])
        adamw.step()
        adamw.zero_grad(set_to_none=True)
        losses.append(loss.item())
        seconds.append(time.perf_counter() - start)

    import peft

    warmup = plan["warmup"]
    print(
        json.dumps(
            {
                "peer": "peft",
                "version": f"peft {peft.__version__}, transformers {transformers.__version__}, torch {torch.__version__}",
                "method": args.method,
                "threads": torch.get_num_threads(),
                "attention": getattr(model.config, "_attn_implementation", None),
                "trainable_params": sum(p.numel() for p in trainable),
                "step_seconds": seconds[warmup:],
                "losses": losses,
                "peak_rss_bytes": max(load_peak, vm_hwm_bytes()),
                "train_peak_rss_bytes": vm_hwm_bytes() if train_rss_reset else None,
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
