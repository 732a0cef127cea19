"""One measured request of a peer, and the figures `decode.py` reports from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Run:
    """One measured request: the three clock readings and the generated ids, [streams][new_tokens]."""

    t0: float
    t1: float
    t2: float
    generated: list[list[int]]

    def ttft_ms(self) -> float:
        return (self.t1 - self.t0) * 1000.0

    def decode_tokens_per_s(self) -> float:
        streams, new_tokens = len(self.generated), len(self.generated[0])
        return streams * (new_tokens - 1) / (self.t2 - self.t1)

    def total_tokens_per_s(self) -> float:
        streams, new_tokens = len(self.generated), len(self.generated[0])
        return streams * new_tokens / (self.t2 - self.t0)
