"""Hugging Face transformers on the CPU, as a user would run it on a GGUF file.

transformers reads the GGUF file itself (`from_pretrained(dir, gguf_file=name)`): it dequantizes
every tensor to f32 (Q4_1 -> 135M f32 weights, about 540 MB) and undoes llama.cpp's q/k row
permutation, then runs its ordinary PyTorch Llama. Generation is `model.generate` under
`torch.inference_mode()` with its default dynamic KV cache.
"""

from __future__ import annotations

import os
import time

# transformers' GGUF conversion draws a bare tqdm bar, which only this variable silences; set
# before tqdm is imported. Its other bars go through `hf_logging` below.
os.environ.setdefault("TQDM_DISABLE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
import transformers.utils.logging as hf_logging  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList  # noqa: E402

from timing import Run  # noqa: E402

WARM_UP_TOKENS = 8


class FirstTokenClock(StoppingCriteria):
    """Never stops anything; records when `generate` has chosen the first new token of the batch.

    `generate` calls its stopping criteria once per step, right after appending that step's
    tokens, so the first call marks the end of the prefill (time to first token).
    """

    def __init__(self) -> None:
        self.first: float | None = None

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        if self.first is None:
            self.first = time.perf_counter()
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


class TransformersPeer:
    def __init__(self, gguf: str, threads: int) -> None:
        torch.set_num_threads(threads)
        # Progress bars of the GGUF conversion would flood the caller's log.
        hf_logging.disable_progress_bar()
        directory, name = os.path.split(os.path.abspath(gguf))
        self.version = f"transformers {transformers.__version__} (torch {torch.__version__})"
        self.tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
        # Left padding: in a batch every prompt ends at the same column, so the new tokens of all
        # streams are appended together.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()

    def chat_prompt_ids(self, prompt: str) -> list[int]:
        """The user message through the GGUF's chat template: [prompt_tokens] ids."""
        ids = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True, return_dict=False
        )
        return list(ids)

    def detokenize(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)

    def warm_up(self, prompts: list[list[int]], new_tokens: int) -> None:
        """A short `generate` of the measured batch shape: thread pool, allocator, first-call paths."""
        self.generate(prompts, min(WARM_UP_TOKENS, new_tokens))

    def generate(self, prompts: list[list[int]], new_tokens: int) -> Run:
        """Greedy decoding of exactly `new_tokens` for each prompt, all prompts in one batch.

        input_ids / attention_mask: [streams, longest prompt], left-padded.
        """
        batch = self.tokenizer.pad({"input_ids": prompts}, padding=True, return_tensors="pt")
        clock = FirstTokenClock()
        with torch.inference_mode():
            t0 = time.perf_counter()
            out = self.model.generate(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                do_sample=False,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                stopping_criteria=StoppingCriteriaList([clock]),
            )
            t2 = time.perf_counter()
        width = batch["input_ids"].shape[1]
        return Run(t0=t0, t1=clock.first, t2=t2, generated=out[:, width:].tolist())
