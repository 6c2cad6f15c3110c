"""``naviyam eval nlu --out DIR``: a report an operator can read without the terminal.

Written into ``DIR``:

* ``report.md``: headline figures, per-intent precision/recall/F1 and support,
  per filter key P/R/F1, and the worst mistakes (the wrong answers given with
  the lowest confidence first — where the model knew least; then the most
  confident wrong ones, which are the dangerous kind);
* ``confusion.png``: the intent confusion matrix (rows: expected, columns: predicted);
* ``confidence.png``: confidence histogram of right and wrong intents;
* ``metrics.json`` and ``mistakes.jsonl``: the same in machine-readable form.

Charts use NanumGothic when installed (as the monitoring report does).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from naviyam.core.charts import use_korean_font


def per_intent(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of every intent seen (expected or predicted)."""
    labels = sorted({r["intent"] for r in records} | {r["pred"] for r in records})
    out = {}
    for lab in labels:
        tp = sum(1 for r in records if r["intent"] == lab and r["pred"] == lab)
        npred = sum(1 for r in records if r["pred"] == lab)
        nexp = sum(1 for r in records if r["intent"] == lab)
        p = tp / npred if npred else 0.0
        rc = tp / nexp if nexp else 0.0
        out[lab] = {"precision": round(p, 4), "recall": round(rc, 4),
                    "f1": round(2 * p * rc / (p + rc), 4) if p + rc else 0.0, "support": nexp}
    return out


def worst_mistakes(records: list[dict[str, Any]], n: int = 20) -> list[dict[str, Any]]:
    """Wrong answers (intent or filters), lowest confidence first."""
    wrong = [r for r in records if not r["exact"]]
    return sorted(wrong, key=lambda r: (r["confidence"], r["text"]))[:n]


def _plots(records: list[dict[str, Any]], out: Path, title: str) -> list[str]:
    import matplotlib  # lazy: charts only; matplotlib takes about a second to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: charts only; matplotlib takes about a second to import

    use_korean_font()
    labels = sorted({r["intent"] for r in records} | {r["pred"] for r in records})
    idx = {lab: i for i, lab in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=int)
    for r in records:
        m[idx[r["intent"]], idx[r["pred"]]] += 1
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(labels), 0.8 + 0.65 * len(labels)), dpi=110)
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("예측한 의도")
    ax.set_ylabel("정답 의도")
    hi = m.max() or 1
    for i in range(len(labels)):
        for j in range(len(labels)):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > hi / 2 else "black")
    ax.set_title(f"의도 혼동 행렬 · {title}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "confusion.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    bins = np.linspace(0, 1, 21)
    right = [r["confidence"] for r in records if r["intent"] == r["pred"]]
    wrong = [r["confidence"] for r in records if r["intent"] != r["pred"]]
    ax.hist([right, wrong], bins=bins, stacked=True, label=[f"의도 맞음 ({len(right)})", f"의도 틀림 ({len(wrong)})"],
            color=["#4c9f70", "#d1495b"])
    ax.set_xlabel("확신도 (confidence)")
    ax.set_ylabel("문장 수")
    ax.legend(fontsize=8)
    ax.set_title(f"확신도 분포 · {title}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "confidence.png")
    plt.close(fig)
    return ["confusion.png", "confidence.png"]


def _j(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False).replace("|", "\\|")


def write_report(metrics: dict[str, Any], records: list[dict[str, Any]], out_dir: Path, *, title: str,
                 n_mistakes: int = 20) -> Path:
    """Write the report files into ``out_dir`` (created); returns the markdown file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    intents = per_intent(records)
    worst = worst_mistakes(records, n_mistakes)
    confident = sorted((r for r in records if r["intent"] != r["pred"]), key=lambda r: -r["confidence"])[:5]
    _plots(records, out, title)
    lines = [f"# NLU 평가 보고서 · {title}", "",
             f"- 문장(턴) 수: {metrics['turns']}",
             f"- 의도 정확도: {metrics['intent_accuracy']:.3f} · 의도 macro F1: {metrics['intent_macro_f1']:.3f}",
             f"- 슬롯 micro F1: {metrics['slot_micro_f1']:.3f} · 필터 완전 일치: {metrics['filters_exact']:.3f}",
             f"- 완전 일치(의도+필터): {metrics['exact']:.3f} · ECE: {metrics['ece']:.3f}", "",
             "## 의도별 정밀도/재현율/F1", "",
             "| 의도 (intent) | 정밀도 | 재현율 | F1 | 정답 수 |", "| --- | ---: | ---: | ---: | ---: |"]
    for lab, v in intents.items():
        lines.append(f"| {lab} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    lines += ["", "![의도 혼동 행렬](confusion.png)", "", "![확신도 분포](confidence.png)", "",
              "## 필터 키별 정밀도/재현율/F1", "", "| 키 | 정밀도 | 재현율 | F1 | 정답 수 |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for k, v in (metrics.get("per_key") or {}).items():
        lines.append(f"| {k} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    lines += ["", f"## 가장 나쁜 실수 (틀린 답 중 확신도가 낮은 순, {len(worst)}개)", "",
              "| 확신도 | 문장 | 정답 의도 | 예측 의도 | 정답 필터 | 예측 필터 |",
              "| ---: | --- | --- | --- | --- | --- |"]
    for r in worst:
        lines.append(f"| {r['confidence']:.2f} | {_j(r['text'])} | {r['intent']} | {r['pred']} | {_j(r['filters'])} "
                     f"| {_j(r['got'])} |")
    if confident:
        lines += ["", "## 확신하고 틀린 의도 (확신도가 높은 순)", "", "| 확신도 | 문장 | 정답 의도 | 예측 의도 |",
                  "| ---: | --- | --- | --- |"]
        lines += [f"| {r['confidence']:.2f} | {_j(r['text'])} | {r['intent']} | {r['pred']} |" for r in confident]
    md = out / "report.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps({**metrics, "per_intent": intents}, ensure_ascii=False, indent=1),
                                      encoding="utf-8")
    with (out / "mistakes.jsonl").open("w", encoding="utf-8") as fh:
        for r in worst_mistakes(records, len(records)):
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return md


def confusion_counts(records: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((r["intent"], r["pred"]) for r in records)
