"""Start-up work for ``make run``: sample world into an empty database, missing models built."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine

from naviyam.config import Settings
from naviyam.core.process import wall_seconds
from naviyam.core.registry import ModelRegistry
from naviyam.core.threads import share_build_cores
from naviyam.data.excel import import_workbook
from naviyam.data.generate import generate_world
from naviyam.db.data_versions import ASPECT_NAMES
from naviyam.db.session import session_scope
from naviyam.learning.ranker_gate import gate_ranker
from naviyam.nlu import train_nlu
from naviyam.progress import progress_reporter
from naviyam.recommend.layer1_build import build_layer1
from naviyam.recommend.ranker.pipeline import default_dataset_dir, train_ranker
from naviyam.recommend.ranker.trainer import RankerTrainConfig
from naviyam.service.warming import warming_path, write_warming
from naviyam.shops import count_shops

log = logging.getLogger(__name__)

def _build_nlu(engine: Engine, registry: ModelRegistry, settings: Settings) -> str:
    return train_nlu(engine, registry, epochs=settings.nlu_epochs, n_examples=settings.nlu_train_examples,
                     with_baselines=False).version


def _build_index(engine: Engine, registry: ModelRegistry, settings: Settings) -> str:
    """A new index; a rebuild (production exists) goes through the index's promotion gate."""
    rebuild = registry.current("index") is not None
    report = build_layer1(engine, registry, gate=rebuild)
    if rebuild and not report.promoted:
        log.warning("index %s kept as a candidate: %s", report.version, "; ".join(report.gate_reasons))
    return registry.current("index").version


def _build_ranker(engine: Engine, registry: ModelRegistry, settings: Settings) -> str:
    """A new ranker; a rebuild (production exists) is a candidate promoted only past the ranker's gate."""
    production = registry.current("ranker")
    folder = default_dataset_dir(settings)
    mv, result, _report = train_ranker(engine, registry, folder, rebuild_data=True,
                                       train_config=RankerTrainConfig(epochs=settings.ranker_epochs),
                                       status="production" if production is None else "candidate")
    if production is not None:
        gate = gate_ranker(registry, mv, result.metrics, folder, production_mv=production, prefer_fresh=True)
        if not gate.promoted:
            log.warning("ranker %s kept as a candidate: %s", mv.version, "; ".join(gate.reasons))
    return registry.current("ranker").version


#: kind → builder(engine, registry, settings) returning the new version string, in build order
#: (the ranker's training set needs the Layer 1 index). Each builds only when no production version exists.
MODEL_BUILDERS: dict[str, Callable[[Engine, ModelRegistry, Settings], str]] = {
    "nlu": _build_nlu,
    "index": _build_index,
    "ranker": _build_ranker,
}


def ensure_operator_data(engine: Engine, workbook, console: Console | None = None) -> dict[str, int] | None:
    """Import the operator's workbook when the shop table is empty; return rows per sheet, or None.

    Raises :class:`naviyam.data.excel.ImportValidationError` (nothing written) for a bad workbook.
    """
    with session_scope(engine) as s:
        if count_shops(s):
            return None
    with progress_reporter(console) as report:
        result = import_workbook(engine, workbook, progress=report)
    return dict(result)


def ensure_sample_world(engine: Engine, settings: Settings, console: Console | None = None) -> dict[str, int] | None:
    """Generate the sample world when the shop table is empty; return its counts, or None."""
    with session_scope(engine) as s:
        if count_shops(s):
            return None
    with progress_reporter(console) as report:
        return generate_world(engine, seed=settings.sample_seed, shops=settings.sample_shops,
                              users=settings.sample_users, days=settings.sample_days, progress=report)


def models_to_build(registry: ModelRegistry, *, force: bool = False) -> dict[str, str]:
    """kind → why it must be built now: missing, older than the data it reads (stale), or ``force``.

    A rebuilt index makes the ranker's features move too, so the ranker follows the index.
    """
    stale = registry.stale()
    todo: dict[str, str] = {}
    for kind in MODEL_BUILDERS:
        if registry.current(kind) is None:
            todo[kind] = "없음 (처음 만들기)"
        elif force:
            todo[kind] = "--force"
        elif kind in stale:
            todo[kind] = "데이터가 바뀜: " + ", ".join(ASPECT_NAMES.get(a, a) for a in stale[kind])
        elif kind == "ranker" and "index" in todo:
            todo[kind] = "후보 인덱스(index)를 다시 만듦"
    return todo


def announce_warming(engine: Engine, settings: Settings, pid: int) -> None:
    """Say ``warming`` from the first request: the state of a build just started in process ``pid``, written
    before that process has imported enough to write its own (which then replaces this one)."""
    todo = models_to_build(ModelRegistry(engine, settings.models_dir))
    path = warming_path(settings)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            return  # the build already reports for itself
    except (OSError, ValueError, AttributeError):
        pass
    if todo:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_warming(path, {"pid": pid, "todo": list(todo), "done": [], "building": None,
                             "started": wall_seconds(), "seconds": {}, "cpu_seconds": {}})


#: Kinds that read no model another kind builds: with ``parallel`` they are built in a process of their own
#: beside the others (on two cores the NLU trains while the index embeds the shops; the ranker needs the index).
SIDE_KINDS = ("nlu",)


class _Warming:
    """The build's progress for ``/health`` (:data:`naviyam.service.warming.WARMING_FILE`), shared by the main
    build and the side build's watcher thread; kinds are reported done in build order whatever order they finish
    in."""

    def __init__(self, path: Path | None, todo: dict[str, str]) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.state = {"pid": os.getpid(), "todo": list(todo), "done": [], "building": None,
                      "started": wall_seconds(), "seconds": {}, "cpu_seconds": {}}
        self.building: list[str] = []
        self.write()

    def write(self, **extra) -> None:
        if self.path is None:
            return
        with self.lock:
            state = {**self.state, "building": ", ".join(self.building) or None, **extra}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_warming(self.path, state)

    def start(self, kind: str) -> None:
        with self.lock:
            self.building.append(kind)
        self.write()

    def finish(self, kind: str, seconds: float, cpu_seconds: float) -> None:
        with self.lock:
            if kind in self.building:
                self.building.remove(kind)
            done = {*self.state["done"], kind}
            self.state["done"] = [k for k in MODEL_BUILDERS if k in done]
            self.state["seconds"][kind] = round(seconds, 1)
            self.state["cpu_seconds"][kind] = round(cpu_seconds, 1)
        log.info("%s model built in %.1f s (%.1f CPU s)", kind, seconds, cpu_seconds)
        self.write()

    def stopped(self, kind: str) -> None:
        with self.lock:
            if kind in self.building:
                self.building.remove(kind)
        self.write()


def build_missing_models(engine: Engine, settings: Settings, console: Console | None = None, *,
                         force: bool = False, report_warming: bool = False,
                         parallel: bool = False) -> dict[str, str]:
    """Build every model kind that is missing or older than the data it reads; return kind → version.

    What is rebuilt and why is told on ``console`` and logged; models that are up to date are kept.
    ``report_warming``: keep :data:`naviyam.service.warming.WARMING_FILE` up to date for ``/health`` while
    building.
    ``parallel``: on a machine with more than one core, build the :data:`SIDE_KINDS` in a forked process
    beside the others (each job then spreads over one core less, see :func:`naviyam.core.threads.build_threads`).
    """
    registry = ModelRegistry(engine, settings.models_dir)
    todo = models_to_build(registry, force=force)
    built: dict[str, str] = {}
    warming = _Warming(warming_path(settings) if report_warming else None, todo)
    side = None
    try:
        side_kinds = [k for k in SIDE_KINDS if k in todo]
        if parallel and (os.cpu_count() or 1) > 1 and side_kinds and len(side_kinds) < len(todo):
            side = _SideBuild.start(engine, settings, console, side_kinds[0], todo[side_kinds[0]],
                                    registry.current(side_kinds[0]), warming, built)
        for kind, builder in MODEL_BUILDERS.items():
            current = registry.current(kind)
            if side is not None and kind == side.kind:
                continue
            if kind not in todo:
                built[kind] = current.version
                continue
            warming.start(kind)
            t0, c0 = time.monotonic(), time.process_time()
            try:
                _build_one(engine, registry, settings, console, kind, builder, todo[kind], current, built)
            finally:
                warming.stopped(kind)
            warming.finish(kind, time.monotonic() - t0, time.process_time() - c0)
        if side is not None:
            side.wait()
    except Exception:
        if side is not None:
            side.finish_quietly()  # what failed here does not concern the side build: let it finish
        raise
    finally:
        if side is not None:
            side.stop()
        warming.write(finished=True)
    return {k: built[k] for k in MODEL_BUILDERS if k in built}


class _SideBuild:
    """One kind built in a forked child process while the parent builds the others.

    The child inherits everything (settings, builders, the engine, whose pooled connections it drops), sends
    back the version (or the error) and its own CPU seconds; a watcher thread in the parent reports the kind
    done as soon as it is, and meanwhile every other build job spreads over one core less.
    """

    def __init__(self, kind: str, process, conn, warming: _Warming, built: dict[str, str]) -> None:
        self.kind, self.process, self.conn, self.warming, self.built = kind, process, conn, warming, built
        self.error: str | None = None
        self.t0 = time.monotonic()
        self.restore_threads = share_build_cores()
        self.watcher = threading.Thread(target=self._watch, name=f"naviyam-build-{kind}", daemon=True)
        self.watcher.start()

    @classmethod
    def start(cls, engine, settings, console, kind, why, current, warming: _Warming, built) -> _SideBuild:
        ctx = multiprocessing.get_context("fork")
        parent_conn, child_conn = ctx.Pipe(duplex=False)
        warming.start(kind)
        process = ctx.Process(target=_side_main, name=f"naviyam-build-{kind}",
                              args=(child_conn, engine, settings, console, kind, why, current), daemon=True)
        process.start()
        child_conn.close()
        return cls(kind, process, parent_conn, warming, built)

    def _watch(self) -> None:
        try:
            status, value, cpu = self.conn.recv()
        except (EOFError, OSError):
            status, value, cpu = "error", f"the {self.kind} build process ended without an answer", 0.0
        self.restore_threads()
        if status == "ok":
            self.built[self.kind] = value
            self.warming.finish(self.kind, time.monotonic() - self.t0, cpu)
        else:
            self.error = value
            self.warming.stopped(self.kind)

    def wait(self) -> None:
        self.watcher.join()
        self.process.join()
        if self.error is not None:
            raise RuntimeError(f"{self.kind} model build failed: {self.error}")

    def finish_quietly(self) -> None:
        """Wait for the side build without raising its error (the caller raises its own)."""
        self.watcher.join()
        self.process.join()
        if self.error is not None:
            log.error("%s model build failed too: %s", self.kind, self.error)

    def stop(self) -> None:
        """After an error in the parent: end the child (a no-op once it has finished)."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=30)
        self.restore_threads()


def _side_main(conn, engine, settings, console, kind, why, current) -> None:  # pragma: no cover - runs forked
    """The side build's child: build ``kind`` and send (status, version or error, CPU seconds) to the parent."""
    engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    built: dict[str, str] = {}
    try:
        registry = ModelRegistry(engine, settings.models_dir)
        _build_one(engine, registry, settings, console, kind, MODEL_BUILDERS[kind], why, current, built)
        conn.send(("ok", built[kind], time.process_time()))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, which raises it
        log.exception("%s model build failed", kind)
        conn.send(("error", f"{type(exc).__name__}: {exc}", time.process_time()))
    finally:
        conn.close()


def _build_one(engine, registry, settings, console, kind, builder, why, current, built) -> None:
    """Build one kind into ``built``; a ranker that cannot be built yet (too few orders) is told, not raised."""
    log.info("building %s model: %s", kind, why)
    if console is not None:
        console.print(f"{kind} 모델을 만들어요 — {why}")
    try:
        built[kind] = builder(engine, registry, settings)
        if current is not None and built[kind] == current.version and console is not None:
            console.print(f"[yellow]새 {kind} 모델이 운영 모델보다 낫지 않아 후보로만 보관했어요 "
                          "(운영 모델을 계속 씁니다; `naviyam models list`).[/yellow]")
    except ValueError as exc:
        if kind != "ranker":
            raise
        # Too few orders for a time split: the service still answers, in Layer 1's order.
        log.warning("ranker not built: %s", exc)
        if console is not None:
            console.print("[yellow]주문 기록이 아직 적어 순위 모델(ranker)을 만들지 못했어요. 추천은 후보 순서"
                          "(Layer 1)로 하고, 주문이 쌓이면 `naviyam train ranker`로 만들 수 있어요.[/yellow]")
