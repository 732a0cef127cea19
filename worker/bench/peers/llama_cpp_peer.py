"""llama.cpp through llama-cpp-python, decoding several streams in one batch.

The model is loaded with the high-level `Llama(model_path, n_threads, n_threads_batch)`, which
also gives the tokenizer and the GGUF's chat template. Decoding goes through the low-level
bindings, as llama.cpp's `batched` example and its server do: one `llama_context` with
`n_seq_max = streams`, one `llama_batch` per step holding one token per stream, each with its own
sequence id and position, and a greedy pick over the logits of every stream.

Why not `Llama.generate` / `create_completion`: their context holds one sequence
(`n_seq_max = 1`), so 8 streams would run one after another. The loop here costs no more per
token than theirs (one `llama_decode`, one pick over the logits), so the baseline is not slowed.
The decoding context takes llama.cpp's own defaults (`llama_context_default_params`, e.g.
flash attention `auto` where `Llama` turns it off, a KV cache per sequence) except the sizes and
the thread counts set here.
"""

from __future__ import annotations

import logging
import time

import llama_cpp
import numpy as np
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from timing import Run

log = logging.getLogger("peers")

WARM_UP_STEPS = 8


def _round_up(n: int, multiple: int) -> int:
    return (n + multiple - 1) // multiple * multiple


class LlamaCppPeer:
    def __init__(self, gguf: str, threads: int) -> None:
        self.threads = threads
        # Its own context (n_ctx 512) serves tokenization only; decoding gets a context of its own.
        llm = llama_cpp.Llama(model_path=gguf, n_threads=threads, n_threads_batch=threads, n_ctx=512, verbose=False)
        self.llm = llm
        self.version = f"llama-cpp-python {llama_cpp.__version__}"
        log.info("llama.cpp system info: %s", llama_cpp.llama_print_system_info().decode(errors="replace").strip())
        self.vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        # Every end-of-generation token (EOS, EOT, ...): masked so no stream ends early.
        self.end_tokens = np.array(
            [t for t in range(self.n_vocab) if llama_cpp.llama_vocab_is_eog(self.vocab, t)], dtype=np.int64
        )
        template = llm.metadata.get("tokenizer.chat_template")
        if template is None:
            raise ValueError(f"{gguf} has no tokenizer.chat_template")
        eos, bos = llm.token_eos(), llm.token_bos()
        self.chat = Jinja2ChatFormatter(
            template=template,
            eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        )
        self._ctx = None
        self._ctx_shape: tuple[int, int] | None = None

    def chat_prompt_ids(self, prompt: str) -> list[int]:
        """The user message through the GGUF's chat template: [prompt_tokens] ids."""
        text = self.chat(messages=[{"role": "user", "content": prompt}]).prompt
        return self.llm.tokenize(text.encode(), add_bos=False, special=True)

    def detokenize(self, ids: list[int]) -> str:
        return self.llm.detokenize(ids, special=True).decode(errors="replace")

    def warm_up(self, prompts: list[list[int]], new_tokens: int) -> None:
        """Sizes the context for the measured request, then prefills and decodes a few steps in it."""
        self._decode(self._context(prompts, new_tokens), prompts, min(WARM_UP_STEPS, new_tokens))

    def generate(self, prompts: list[list[int]], new_tokens: int) -> Run:
        return self._decode(self._context(prompts, new_tokens), prompts, new_tokens)

    def _context(self, prompts: list[list[int]], new_tokens: int):
        """A context with one KV cache of `per_stream` cells per stream, kept across runs of one shape."""
        streams = len(prompts)
        per_stream = _round_up(max(len(ids) for ids in prompts) + new_tokens, 256)
        if self._ctx_shape != (streams, per_stream):
            if self._ctx is not None:
                llama_cpp.llama_free(self._ctx)
            params = llama_cpp.llama_context_default_params()
            params.n_ctx = streams * per_stream
            params.n_seq_max = streams
            # The whole prefill (every stream's prompt) is one llama_decode call.
            params.n_batch = max(params.n_batch, sum(len(ids) for ids in prompts))
            params.n_threads = self.threads
            params.n_threads_batch = self.threads
            params.no_perf = True
            self._ctx = llama_cpp.llama_init_from_model(self.llm.model, params)
            if self._ctx is None:
                raise RuntimeError(f"llama.cpp could not create a context for {streams} x {per_stream} tokens")
            self._ctx_shape = (streams, per_stream)
        return self._ctx

    def _decode(self, ctx, prompts: list[list[int]], new_tokens: int) -> Run:
        """Greedy decoding of exactly `new_tokens` per stream; stream s is sequence id s."""
        streams = len(prompts)
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
        batch = llama_cpp.llama_batch_init(max(sum(len(ids) for ids in prompts), streams), 0, 1)
        try:
            n = 0
            for s, ids in enumerate(prompts):
                for pos, token in enumerate(ids):
                    batch.token[n], batch.pos[n] = token, pos
                    batch.n_seq_id[n], batch.seq_id[n][0] = 1, s
                    batch.logits[n] = pos == len(ids) - 1
                    n += 1
            batch.n_tokens = n
            generated = [[] for _ in prompts]

            t0 = time.perf_counter()
            next_tokens = self._step(ctx, batch, streams)
            t1 = time.perf_counter()
            for step in range(1, new_tokens):
                for s, token in enumerate(next_tokens):
                    generated[s].append(token)
                    batch.token[s], batch.pos[s] = token, len(prompts[s]) + step - 1
                    batch.n_seq_id[s], batch.seq_id[s][0] = 1, s
                    batch.logits[s] = True
                batch.n_tokens = streams
                next_tokens = self._step(ctx, batch, streams)
            t2 = time.perf_counter()
        finally:
            llama_cpp.llama_batch_free(batch)
        for s, token in enumerate(next_tokens):
            generated[s].append(token)
        return Run(t0=t0, t1=t1, t2=t2, generated=generated)

    def _step(self, ctx, batch, streams: int) -> list[int]:
        """One llama_decode, then the greedy token of each stream.

        llama.cpp stores the logits of the tokens flagged in the batch contiguously, in batch
        order: here one row per stream, [streams, n_vocab].
        """
        status = llama_cpp.llama_decode(ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(ctx), shape=(streams, self.n_vocab))
        logits[:, self.end_tokens] = -np.inf
        return logits.argmax(axis=1).tolist()
