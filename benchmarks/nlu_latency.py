"""NLU parse latency (p50/p95/p99) — a thin entry point to ``naviyam.nlu.bench``.

    .venv/bin/python benchmarks/nlu_latency.py [--model DIR]
"""

from naviyam.nlu.bench import main

if __name__ == "__main__":
    main()
