"""Parse latency of the NLU (a measurement, not a timed test): ``naviyam eval nlu-latency [--model DIR]``.

Measures model load time, then per-utterance ``parse`` latency after load
(warm: one untimed pass first) over the public examples, the hand-written
sets and a sample of held-out generated sentences, with a fresh session per
case; prints p50/p95/p99/max in milliseconds as one JSON line.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from naviyam.core.registry import default_registry
from naviyam.nlu import load_parser
from naviyam.nlu.features import get_kiwi
from naviyam.nlu.parser import NLUParser
from naviyam.nlu.train import handwritten_cases, public_examples


def benchmark(parser: NLUParser, texts: list[str], repeat: int = 3) -> dict[str, float]:
    """Per-message parse latency of the models: the parser's per-text cache is emptied before every timed
    parse (a repeated message is served from that cache in a fraction of this)."""
    for t in texts:  # warm-up (kiwi's lazy init)
        parser.parse(t)
    lat: list[float] = []
    for _ in range(repeat):
        for t in texts:
            parser.clear_cache()
            t0 = time.perf_counter()
            parser.parse(t)
            lat.append((time.perf_counter() - t0) * 1000.0)
    lat.sort()

    def q(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 3)

    return {"n": len(lat), "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99), "max_ms": round(lat[-1], 3),
            "mean_ms": round(statistics.fmean(lat), 3)}


def bench_texts(folder: Path | None = None, n_generated: int = 300) -> list[str]:
    texts = [t for c in public_examples() for t in c["turns"]]
    texts += [t for c in handwritten_cases() for t in c["turns"]]
    texts += [t for c in handwritten_cases("handwritten_blind.jsonl") for t in c["turns"]]
    if folder is not None and (Path(folder) / "heldout.jsonl").exists():
        lines = (Path(folder) / "heldout.jsonl").read_text(encoding="utf-8").splitlines()[:n_generated]
        texts += [json.loads(x)["text"] for x in lines if x.strip()]
    return texts


def measure(model: Path | None = None, repeat: int = 3) -> dict[str, Any]:
    """Kiwi's and the model's load time, then p50/p95/p99/max/mean parse latency in milliseconds."""
    t0 = time.perf_counter()
    get_kiwi()
    kiwi_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    parser = NLUParser.load(model) if model else load_parser(fallback="error")
    load_s = time.perf_counter() - t0
    folder = model
    if folder is None:
        mv = default_registry().current("nlu")
        folder = Path(mv.path) if mv else None
    res: dict[str, Any] = benchmark(parser, bench_texts(folder), repeat)
    res.update({"model": parser.version, "kiwi_load_s": round(kiwi_s, 3), "model_load_s": round(load_s, 3)})
    return res
