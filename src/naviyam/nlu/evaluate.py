"""Evaluation of an NLU parser on files in the nlu_examples.jsonl format.

A case is ``{"id", "turns": [...], "expect": [{"intent", "filters"}, ...]}``;
the turns of a case share one session. Figures:

* ``intent_accuracy`` and ``intent_macro_f1`` over turns;
* per filter key precision/recall/F1 and ``slot_micro_f1`` over filter *items*
  (a list contributes one item per element, ``location_filter`` one per
  sub-key) — item = (key, value);
* ``filters_exact``: turns whose filters equal the expected ones (list order
  ignored); ``exact``: intent and filters both right;
* ``multiturn_exact``: multi-turn cases whose every turn is exact;
* ``ece``: expected calibration error of ``confidence`` against intent
  correctness, 10 equal-width bins: ECE = Σ_b |B_b|/N · |acc(B_b) − conf(B_b)|.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from naviyam.nlu.state import NLUSession


def load_cases(path: Path | str) -> list[dict[str, Any]]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            out.append(json.loads(line))
    return out


def cases_from_examples(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Single-turn cases from generated training rows."""
    return [{"id": f"g{i}", "turns": [r["text"]], "expect": [{"intent": r["intent"], "filters": r["filters"]}]}
            for i, r in enumerate(rows)]


def filter_items(f: dict[str, Any]) -> set[tuple[str, str]]:
    items: set[tuple[str, str]] = set()
    for k, v in (f or {}).items():
        if isinstance(v, list):
            items |= {(k, json.dumps(x, ensure_ascii=False)) for x in v}
        elif isinstance(v, dict):
            items |= {(f"{k}.{kk}", json.dumps(vv, ensure_ascii=False)) for kk, vv in v.items()}
        else:
            items.add((k, json.dumps(v, ensure_ascii=False)))
    return items


def _canon(f: dict[str, Any]) -> str:
    def norm(v):
        if isinstance(v, list):
            return sorted(json.dumps(x, ensure_ascii=False) for x in v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in sorted(v.items())}
        return v

    return json.dumps({k: norm(v) for k, v in sorted((f or {}).items())}, ensure_ascii=False, sort_keys=True)


def ece(confs: list[float], correct: list[bool], bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    table = []
    n = len(confs)
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confs) if (lo <= c < hi) or (b == bins - 1 and c == 1.0)]
        if not idx:
            continue
        acc = sum(correct[i] for i in idx) / len(idx)
        conf = sum(confs[i] for i in idx) / len(idx)
        total += len(idx) / n * abs(acc - conf)
        table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": len(idx), "accuracy": round(acc, 4), "confidence": round(conf, 4)})
    return (total if n else 0.0), table


def evaluate_cases(parse: Callable[[str, NLUSession], Any], cases: list[dict[str, Any]],
                   keep_errors: int = 0, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run ``parse(text, session)`` (returning an object with intent/filters/confidence) over the cases.

    ``records``, when given, receives one dict per turn (text, expected and predicted intent and
    filters, confidence, whether it was exact) for reports.
    """
    tally = _Tally()
    mt_total = mt_ok = 0
    errors = []
    for case in cases:
        session = NLUSession()
        all_ok = True
        for text, exp in zip(case["turns"], case["expect"], strict=False):
            res = parse(text, session)
            f_ok, ok = tally.add(exp, res)
            all_ok &= ok
            if records is not None:
                records.append({"id": case.get("id"), "text": text, "intent": exp["intent"], "pred": res.intent,
                                "confidence": float(res.confidence), "filters": exp.get("filters", {}),
                                "got": res.filters, "filters_ok": f_ok, "exact": ok})
            if not ok and len(errors) < keep_errors:
                errors.append({"id": case.get("id"), "text": text, "expect": exp,
                               "got": {"intent": res.intent, "filters": res.filters}})
        if len(case["turns"]) > 1:
            mt_total += 1
            mt_ok += all_ok
    out = tally.summary()
    out["multiturn_cases"] = mt_total
    out["multiturn_exact"] = round(mt_ok / mt_total, 4) if mt_total else None
    out = {k: out[k] for k in _SUMMARY_ORDER}
    if keep_errors:
        out["errors"] = errors
    return out


_SUMMARY_ORDER = ("turns", "intent_accuracy", "intent_macro_f1", "slot_precision", "slot_recall", "slot_micro_f1",
                  "filters_exact", "exact", "multiturn_cases", "multiturn_exact", "ece", "reliability", "per_key")


class _Tally:
    """Expected against predicted turns: intents, confidences, filter items per key, exact turns."""

    def __init__(self) -> None:
        self.y_true: list[str] = []
        self.y_pred: list[str] = []
        self.confs: list[float] = []
        self.tp: Counter[str] = Counter()
        self.fp: Counter[str] = Counter()
        self.fn: Counter[str] = Counter()
        self.n_turns = self.filters_ok = self.exact_ok = 0

    def add(self, exp: dict[str, Any], res: Any) -> tuple[bool, bool]:
        """Count one turn; (filters right, intent and filters right)."""
        got_f = res.filters
        exp_f = exp.get("filters", {})
        self.y_true.append(exp["intent"])
        self.y_pred.append(res.intent)
        self.confs.append(float(res.confidence))
        gi, ei = filter_items(got_f), filter_items(exp_f)
        for key, _ in gi & ei:
            self.tp[key.split(".")[0]] += 1
        for key, _ in gi - ei:
            self.fp[key.split(".")[0]] += 1
        for key, _ in ei - gi:
            self.fn[key.split(".")[0]] += 1
        f_ok = _canon(got_f) == _canon(exp_f)
        ok = f_ok and res.intent == exp["intent"]
        self.n_turns += 1
        self.filters_ok += f_ok
        self.exact_ok += ok
        return f_ok, ok

    def macro_f1(self) -> float:
        f1s = []
        pairs = list(zip(self.y_true, self.y_pred, strict=False))
        for lab in sorted(set(self.y_true) | set(self.y_pred)):
            t = sum(1 for a, b in pairs if a == lab and b == lab)
            p_ = sum(1 for b in self.y_pred if b == lab)
            r_ = sum(1 for a in self.y_true if a == lab)
            prec = t / p_ if p_ else 0.0
            rec = t / r_ if r_ else 0.0
            f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
        return sum(f1s) / max(1, len(f1s))

    def per_key(self) -> dict[str, dict[str, float]]:
        tp, fp, fn = self.tp, self.fp, self.fn
        out = {}
        for k in sorted(set(tp) | set(fp) | set(fn)):
            p_ = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else 0.0
            r_ = tp[k] / (tp[k] + fn[k]) if tp[k] + fn[k] else 0.0
            out[k] = {"precision": round(p_, 4), "recall": round(r_, 4),
                      "f1": round(2 * p_ * r_ / (p_ + r_), 4) if p_ + r_ else 0.0, "support": tp[k] + fn[k]}
        return out

    def summary(self) -> dict[str, Any]:
        n_turns = self.n_turns
        TP, FP, FN = sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values())
        micro_p = TP / (TP + FP) if TP + FP else 1.0
        micro_r = TP / (TP + FN) if TP + FN else 1.0
        right = [a == b for a, b in zip(self.y_true, self.y_pred, strict=False)]
        e, table = ece(self.confs, right)
        return {
            "turns": n_turns,
            "intent_accuracy": round(sum(right) / max(1, n_turns), 4),
            "intent_macro_f1": round(self.macro_f1(), 4),
            "slot_precision": round(micro_p, 4), "slot_recall": round(micro_r, 4),
            "slot_micro_f1": round(2 * micro_p * micro_r / (micro_p + micro_r), 4) if micro_p + micro_r else 0.0,
            "filters_exact": round(self.filters_ok / max(1, n_turns), 4),
            "exact": round(self.exact_ok / max(1, n_turns), 4),
            "ece": round(e, 4),
            "reliability": table,
            "per_key": self.per_key(),
        }


def confusion(cases_results: list[tuple[str, str]]) -> dict[str, dict[str, int]]:
    m: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t, p in cases_results:
        m[t][p] += 1
    return {k: dict(v) for k, v in m.items()}
