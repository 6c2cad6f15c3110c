"""NLU parse latency (p50/p95/p99): the same measurement as ``naviyam eval nlu-latency``.

    .venv/bin/python benchmarks/nlu_latency.py [--model DIR] [--repeat 3]
"""

import argparse
import json
from pathlib import Path

from naviyam.nlu.latency import measure

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", type=Path, help="model folder (default: the registry's production version)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(json.dumps(measure(args.model, args.repeat), ensure_ascii=False))
