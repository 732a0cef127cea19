#!/usr/bin/env python3
"""Decode speed of the worker's peers on the same GGUF model: Hugging Face transformers on the
CPU and llama.cpp (through llama-cpp-python).

`attribution-worker bench decode` spawns this script and reads the ONE JSON line it prints on
stdout; everything else goes to stderr. Both peers run the same work:

* the prompt goes through the model's chat template (one user turn, generation prompt added),
  stream i gets prompt i modulo the number of `--prompt`s;
* greedy decoding of exactly `--new-tokens` tokens per stream, end-of-sequence masked so no
  stream stops early (transformers: `min_new_tokens`; llama.cpp: the EOS logits set to -inf
  before the argmax, which is what a logit bias of -inf does);
* `--streams` sequences decoded together in one batch (transformers: `generate` on a
  left-padded batch; llama.cpp: `llama_decode` on a `llama_batch` with one sequence id per
  stream, as llama.cpp's `batched` example and its server do);
* a warm-up of the same batch shape (8 new tokens) first, then `--repeats` measured runs; the median run (by
  decode rate) is reported.

Timing of one run (wall clock, `time.perf_counter`):
  t0 -- start of the request; t1 -- first token of every stream chosen (prefill done);
  t2 -- last token chosen.
  ttft_ms = (t1 - t0) * 1000
  decode_tokens_per_s = streams * (new_tokens - 1) / (t2 - t1)
  total_tokens_per_s  = streams * new_tokens / (t2 - t0)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time

# The Rust bench runs this from the source tree: leave no __pycache__ of the peer modules there.
sys.dont_write_bytecode = True

log = logging.getLogger("peers")

DEFAULT_PROMPT = "What is the capital of France?"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peer", required=True, choices=["transformers", "llama.cpp"])
    p.add_argument("--gguf", required=True, help="path of the GGUF model file")
    p.add_argument("--threads", type=int, default=2, help="CPU threads the peer may use")
    p.add_argument("--new-tokens", type=int, default=128, help="tokens generated per stream")
    p.add_argument("--streams", type=int, default=1, help="sequences decoded together")
    p.add_argument(
        "--prompt",
        action="append",
        help=f"user message (repeatable; stream i takes prompt i mod count; default {DEFAULT_PROMPT!r})",
    )
    p.add_argument("--repeats", type=int, default=1, help="measured runs after the warm-up; the median is reported")
    args = p.parse_args(argv)
    if not os.path.isfile(args.gguf):
        p.error(f"--gguf {args.gguf}: no such file")
    for name in ("threads", "new_tokens", "streams", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.new_tokens < 2:
        p.error("--new-tokens must be at least 2 (the decode rate is measured after the first token)")
    args.prompt = args.prompt or [DEFAULT_PROMPT]
    return args


def load_peer(args: argparse.Namespace):
    """Imports only the peer asked for: loading torch for a llama.cpp run would cost seconds and memory."""
    if args.peer == "transformers":
        from transformers_peer import TransformersPeer

        return TransformersPeer(args.gguf, args.threads)
    from llama_cpp_peer import LlamaCppPeer

    return LlamaCppPeer(args.gguf, args.threads)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # The caller reads stdout as one JSON line: keep a handle on it, and point file descriptor 1
    # at stderr so nothing the native libraries print can land there.
    result_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="peers/decode: %(message)s")

    t = time.perf_counter()
    peer = load_peer(args)
    log.info("%s loaded in %.1f s", peer.version, time.perf_counter() - t)

    prompts = [peer.chat_prompt_ids(args.prompt[i % len(args.prompt)]) for i in range(args.streams)]
    log.info("prompt tokens per stream: %s", [len(ids) for ids in prompts])

    # A few tokens of the same shape first: thread pools, allocations, caches.
    peer.warm_up(prompts, args.new_tokens)
    runs = []
    for i in range(args.repeats):
        run = peer.generate(prompts, args.new_tokens)
        if any(len(ids) != args.new_tokens for ids in run.generated):
            raise RuntimeError(f"{args.peer} generated {[len(ids) for ids in run.generated]} tokens, not {args.new_tokens}")
        log.info(
            "run %d: ttft %.1f ms, decode %.1f tokens/s, total %.1f tokens/s",
            i + 1,
            run.ttft_ms(),
            run.decode_tokens_per_s(),
            run.total_tokens_per_s(),
        )
        runs.append(run)
    log.info("stream 0 answered: %r", peer.detokenize(runs[0].generated[0]))
    log.info("stream 0 first ids: %s", runs[0].generated[0][:16])
    log.info("load average: %s", " ".join(f"{x:.2f}" for x in os.getloadavg()))

    rate = statistics.median_low([r.decode_tokens_per_s() for r in runs])
    median = next(r for r in runs if r.decode_tokens_per_s() == rate)
    print(
        json.dumps(
            {
                "peer": args.peer,
                "version": peer.version,
                "threads": args.threads,
                "streams": args.streams,
                "new_tokens": args.new_tokens,
                "prompt_tokens": sum(len(ids) for ids in prompts),
                "ttft_ms": round(median.ttft_ms(), 2),
                "decode_tokens_per_s": round(median.decode_tokens_per_s(), 2),
                "total_tokens_per_s": round(median.total_tokens_per_s(), 2),
                "mode": "batched",
            }
        ),
        file=result_out,
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
