"""The evaluation report an operator reads: a Korean markdown table and a bar chart (PNG)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from naviyam.core.charts import use_korean_font

#: Column labels of the report table (metric key -> what the operator reads).
LABELS = {
    "ndcg@10": "NDCG@10", "recall@10": "Recall@10", "mrr": "MRR", "recall@100": "Recall@100", "auc": "AUC",
    "coverage": "가게 커버리지", "meal_card_share": "급식카드 가게 비율", "good_shop_share": "착한가게 비율",
    "diversity": "목록 다양성",
}
METHOD_NAMES = {
    "popularity": "인기순", "itemknn": "item-kNN", "als": "ALS", "layer1": "Layer 1 병합 순서",
    "wide_deep": "Wide & Deep (서빙)",
}


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4f}"


def markdown_table(results: dict[str, dict[str, float]], metrics: tuple[str, ...]) -> str:
    lines = ["| 방법 | " + " | ".join(LABELS.get(m, m) for m in metrics) + " |",
             "|---|" + "---|" * len(metrics)]
    for method, vals in results.items():
        lines.append(f"| {METHOD_NAMES.get(method, method)} | "
                     + " | ".join(_fmt(vals.get(m)) for m in metrics) + " |")
    return "\n".join(lines)


def bar_chart(results: dict[str, dict[str, float]], metrics: tuple[str, ...], title: str, path: Path) -> Path:
    """Grouped bars: one group per metric, one bar per method."""
    import matplotlib  # lazy: charts only; matplotlib takes about a second to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: charts only; matplotlib takes about a second to import

    use_korean_font()
    methods = list(results)
    x = np.arange(len(metrics))
    width = 0.8 / max(1, len(methods))
    fig, ax = plt.subplots(figsize=(2.2 + 1.6 * len(metrics), 4.2))
    for i, m in enumerate(methods):
        vals = [results[m].get(k, 0.0) or 0.0 for k in metrics]
        ax.bar(x + (i - (len(methods) - 1) / 2) * width, vals, width, label=METHOD_NAMES.get(m, m))
    ax.set_xticks(x, [LABELS.get(k, k) for k in metrics])
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
