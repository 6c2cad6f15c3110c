"""``naviyam simulate``: does the nightly learning loop make recommendations better, day after day?

Two arms, each on its own *copy* of the current world (the SQLite file and the
model folders are copied into ``<out>/<arm>/`` and the registry's paths moved
there; the production database is used only with ``in_place``, and then only
by the learning arm):

* ``control`` keeps the day-0 models all along, and the day-0 interaction
  counts the ranker's features read (the state loaded at start: the world's
  orders, favourites and reviews; it never reloads, so the chat feedback of
  the run never reaches its features). Its users' feedback is still stored
  in its copy, as a service would store it;
* ``learning`` runs the real nightly :func:`naviyam.learning.learn.run_learning`
  (what ``naviyam learn`` calls) after every simulated day, and the service
  picks promoted models up by its hot reload (:meth:`Runtime.refresh`), which
  also reads the interaction counts again, the day's chat feedback included
  (``reload_state``; production does the same on ``POST /admin/reload`` or
  every ``state_reload_s``). During a day both arms serve fixed counts.

Simulated users are the world's users with their hidden tastes
(:mod:`naviyam.service.sim_users`). The design (``SimulateConfig.design``):

* ``paired`` (default): every chosen user lives in *both* worlds, on the same
  random numbers (the same days, meal times, messages, positions and choice
  draws), so the two arms differ only where their lists differ. The truth a
  simulation can know and an online test cannot: per user, CTR under learning
  minus CTR under control, tested with the paired t-test
  (:func:`naviyam.learning.ab.paired_t_test`). The A/B log is written as an
  online test would see it: each user's turns from the one arm the A/B hash
  gives the user (:func:`naviyam.learning.ab.assign_arm`, share ½, salt
  ``naviyam-sim-<seed>``; ``learning`` plays the candidate arm), so
  ``naviyam ab report`` on it is a real split test of the same run, to be
  checked against the paired truth;
* ``split``: each user lives in the one arm the hash gives (an online test's
  design; half the turns, far less power: users differ much more from each
  other than one user's two lives do).

On a day
an active user has one or more turns at lunch or dinner time: the clock is
pinned to that instant (``core.clock``), the message goes through the arm's
real :class:`~naviyam.service.chat.ChatService` (NLU, engine, storage) with
the user's position, and what the user does with the list — click, order,
favourite, dismiss, by the documented choice model — is recorded through
:func:`naviyam.learning.feedback.record_feedback`, the code ``POST /feedback`` runs.

Per day and arm: CTR (turns that showed shops and got a click / turns that
showed shops), conversion (… an order), the mean rank of the clicked shop,
and the learning arm's promotions. Per user over the whole run: CTR and
conversion, compared within users (``paired``) or across arms with Welch's
t-test (``split``; from the learning arm's first exposure to its last, the
period an A/B report reads: :func:`naviyam.learning.ab_report.summarise`).
The exposure log (arms,
turns, feedback) is written as an A/B log into ``<out>/ab/naviyam.db`` so that
``NAVIYAM_VAR_DIR=<out>/ab naviyam ab report`` reads the run the way it reads
a real test, and can be checked against the simulation's own per-user figures.
Everything is deterministic given the seed.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select, text

from naviyam.core import clock, geo
from naviyam.db.models import ProductOrder
from naviyam.db.session import make_engine, migrate, session_factory, session_scope
from naviyam.learning.feedback import record_feedback
from naviyam.learning.incremental import IncrementalDataConfig
from naviyam.learning.learn import LearnConfig, run_learning
from naviyam.recommend.ranker.finetune import FineTuneConfig
from naviyam.service.chat import ChatRequest
from naviyam.service.runtime import Runtime
from naviyam.service.sim_report import compare_arms, online_view, write_ab_log
from naviyam.service.sim_types import (
    ARMS,
    DESIGNS,
    LEARNING,
    MEAL_WINDOWS,
    PAIRED,
    ArmResult,
    DayStats,
    Exposure,
    Say,
    SimulateConfig,
    SimulationError,
    SimulationResult,
    arm_of,
)
from naviyam.service.sim_users import SimUser, World, choose, draw_message, hidden_users

log = logging.getLogger(__name__)

@dataclass
class ArmEnv:
    arm: str
    settings: Any
    engine: Engine
    runtime: Any


def _sqlite_path(settings) -> Path:
    url = settings.resolved_database_url
    if not url.startswith("sqlite:///"):
        raise SimulationError("시뮬레이션은 세계를 복사해서 돌려요: 지금은 SQLite 데이터베이스만 복사할 수 있어요 "
                              "(PostgreSQL이면 --in-place로 운영 DB에서 학습 그룹만 돌릴 수 있어요).")
    return Path(url[len("sqlite:///"):])


def copy_world(settings, dest: Path) -> Any:
    """Copy the database file (SQLite online backup) and the model and dataset folders into ``dest``.

    Returns the settings of the copy; the registry's paths point into it."""
    src_db = _sqlite_path(settings)
    if not src_db.exists():
        raise SimulationError(f"데이터베이스가 없어요: {src_db}. 먼저 `naviyam setup`으로 세계와 모델을 만드세요.")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    src_var = Path(settings.var_dir).resolve()
    for sub in ("models", "datasets"):
        if (src_var / sub).is_dir():
            shutil.copytree(src_var / sub, dest / sub)
    # read-only: the production file is only read (no checkpoint on close)
    src = sqlite3.connect(f"file:{src_db.as_posix()}?mode=ro", uri=True)
    dst = sqlite3.connect(dest / "naviyam.db")
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    copy = settings.model_copy(update={"var_dir": dest, "database_url": None, "reload_interval_s": 0.0,
                                       "ab_share": 0.0})
    engine = make_engine(copy.resolved_database_url)
    with engine.begin() as conn:
        for col in ("path", "config"):
            conn.execute(text(f"UPDATE model_version SET {col} = replace({col}, :old, :new)"),  # noqa: S608
                         {"old": str(src_var), "new": str(dest.resolve())})
    engine.dispose()
    return copy


def open_arm(arm: str, settings) -> ArmEnv:
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    runtime = Runtime.load(engine, settings)
    if runtime.recommender is None:
        raise SimulationError("추천 모델(1단계 색인)이 없어요. 먼저 `naviyam setup` 또는 `naviyam train all`을 실행하세요.")
    return ArmEnv(arm, settings, engine, runtime)


# --------------------------------------------------------------------------- the days


def _first_day(engine: Engine) -> dt.date:
    with session_scope(engine) as s:
        last = s.scalar(select(func.max(ProductOrder.ordered_at)))
    return (last.date() + dt.timedelta(days=1)) if last else dt.date(2026, 11, 2)


def pick_users(users: dict[int, SimUser], n: int, seed: int) -> list[int]:
    ids = sorted(users)
    if n >= len(ids):
        return ids
    rng = np.random.default_rng([seed, 1])
    return sorted(int(x) for x in rng.choice(ids, size=n, replace=False))


def _turn_times(rng: np.random.Generator, day: dt.date, n: int) -> list[dt.datetime]:
    out = []
    for _ in range(n):
        h, span = MEAL_WINDOWS[int(rng.integers(len(MEAL_WINDOWS)))]
        minute = int(rng.integers(span))
        out.append(dt.datetime.combine(day, dt.time(h), tzinfo=clock.zone()) + dt.timedelta(minutes=minute))
    return sorted(out)


def _utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def simulate_day(env: ArmEnv, users: list[SimUser], world: World, day_index: int, day: dt.date, seed: int,
                 cfg: SimulateConfig, log_rows: list[Exposure], per_user: dict[int, list[int]]) -> DayStats:
    """Every user of this arm lives one day: chats at meal times, then clicks, orders, favourites, dismisses."""
    stats = DayStats()
    sessions = session_factory(env.engine)
    chat = env.runtime.chat_service()
    for user in users:
        rng = np.random.default_rng([seed, user.id, day_index])
        if rng.random() >= cfg.active_share:
            continue
        stats.users += 1
        n_turns = 1 + int(rng.poisson(cfg.extra_turns))
        home_dong = _home_dong(user)
        for k, at in enumerate(_turn_times(rng, day, n_turns)):
            trng = np.random.default_rng([seed, user.id, day_index, k])
            kind, message = draw_message(user, world, trng, home_dong)
            lat = user.lat + float(trng.normal(0, 0.002))
            lon = user.lon + float(trng.normal(0, 0.002))
            with clock.pinned(at):
                reply = chat.chat(ChatRequest(message=message, user_id=user.id, lat=lat, lon=lon,
                                                now=clock.to_local(at)))
            stats.turns += 1
            shown = [int(r["shop_id"]) for r in reply.recommendations]
            if not shown:
                continue
            stats.shown += 1
            counts = per_user.setdefault(user.id, [0, 0, 0])
            counts[0] += 1
            c = choose(user, shown, world, trng)
            events: list[tuple[str, int, dt.datetime]] = []
            t = at + dt.timedelta(seconds=20)
            for sid in c.dismissed:
                events.append(("dismissed", sid, t))
            if c.shop_id is not None:
                events.append(("clicked", c.shop_id, t + dt.timedelta(seconds=10)))
                if c.ordered:
                    events.append(("ordered", c.shop_id, t + dt.timedelta(minutes=2)))
                if c.favourited:
                    events.append(("favorited", c.shop_id, t + dt.timedelta(minutes=3)))
                stats.clicked += 1
                stats.rank_sum += int(c.rank or 0)
                counts[1] += 1
                if c.ordered:
                    stats.ordered += 1
                    counts[2] += 1
                stats.favourited += int(c.favourited)
            stats.dismissed += len(c.dismissed)
            for kind_, sid, when in events:
                with clock.pinned(when), sessions() as db:
                    record_feedback(db, user_id=user.id, shop_id=sid, feedback_type=kind_,
                                    interaction_id=reply.interaction_id)
            log_rows.append(Exposure(env.arm, user.id, reply.session_id, message, reply.intent, shown, _utc(at),
                                     [(k_, s_, _utc(w_)) for k_, s_, w_ in events]))
    return stats


def _home_dong(user: SimUser) -> str | None:
    try:
        return geo.locate(user.lat, user.lon) or None
    except Exception:  # noqa: BLE001 - a place request is then an "anything" request
        return None


def nightly_learning(env: ArmEnv, day: dt.date, cfg: SimulateConfig, say: Say) -> tuple[list[str], float]:
    """The real ``naviyam learn`` on the arm's copy at 03:00 after ``day``, then the service's hot reload."""
    night = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3), tzinfo=clock.zone())
    lcfg = LearnConfig.from_settings(env.settings, data=IncrementalDataConfig(window_days=cfg.learn_window_days),
                                     finetune=FineTuneConfig(epochs=cfg.learn_epochs, lr=cfg.learn_lr),
                                     train_nlu=cfg.learn_nlu)
    t0 = time.perf_counter()
    with clock.pinned(night):
        report = run_learning(env.engine, env.runtime.registry, lcfg, now=_utc(night), say=lambda m: log.info(m))
        env.runtime.refresh(reload_state=True)
    promoted = [f"{m.kind}:{m.version}" for m in report.models if m.status == "promoted"]
    outcome = ", ".join(f"{m.kind} {m.status}" for m in report.models) or report.status
    say(f"  {day:%m-%d} 밤 학습: {outcome} ({time.perf_counter() - t0:.0f}초)")
    return promoted, time.perf_counter() - t0


def run_simulation(settings, cfg: SimulateConfig, out_dir: Path, *, say: Say | None = None) -> SimulationResult:
    """The whole simulation (see the module doc); files go to ``out_dir``."""
    say = say or (lambda m: log.info(m))
    t0 = time.perf_counter()
    if cfg.days < 1 or cfg.users < 2:
        raise SimulationError("--days는 1 이상, --users는 2 이상이어야 해요.")
    unknown = [a for a in cfg.arms if a not in ARMS]
    if unknown or not cfg.arms or len(set(cfg.arms)) != len(cfg.arms):
        raise SimulationError(f"--arms는 control, learning 중에서 골라요 (받은 값: {', '.join(cfg.arms) or '없음'}).")
    if cfg.design not in DESIGNS:
        raise SimulationError(f"--design는 paired 또는 split이에요 (받은 값: {cfg.design}).")
    if cfg.in_place and tuple(cfg.arms) != (LEARNING,):
        raise SimulationError("--in-place는 운영 세계에서 학습 그룹만 돌려요: --arms learning과 함께 쓰세요.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    envs: dict[str, ArmEnv] = {}
    for arm in cfg.arms:
        arm_settings = settings if cfg.in_place else copy_world(settings, out_dir / arm)
        envs[arm] = open_arm(arm, arm_settings)
        say(f"{arm}: {'운영 세계에서 직접' if cfg.in_place else '세계 복사본 ' + str(out_dir / arm)}")
    first = next(iter(envs.values()))
    world = World.load(first.engine)
    users = hidden_users(first.engine, world, seed=settings.sample_seed, n_users=settings.sample_users,
                         days=settings.sample_days)
    chosen = pick_users(users, cfg.users, cfg.seed)
    source = users[chosen[0]].source if chosen else "none"
    start = cfg.start or _first_day(first.engine)
    dates = [start + dt.timedelta(days=i) for i in range(cfg.days)]
    paired = cfg.design == PAIRED
    by_arm = {a: [users[u] for u in chosen if paired or arm_of(u, cfg.arms, cfg.seed) == a] for a in cfg.arms}
    results = {a: ArmResult(a, [u.id for u in by_arm[a]]) for a in cfg.arms}
    who = ("모두 두 세계에서" if paired and len(cfg.arms) > 1
           else ", ".join(f"{a} {len(by_arm[a])}명" for a in cfg.arms))
    say(f"사용자 {len(chosen)}명 ({who}), "
        f"{dates[0]} ~ {dates[-1]}, 취향: {'생성기의 숨은 취향' if source == 'generator' else '주문 기록으로 추정'}")
    log_rows: list[Exposure] = []
    for i, day in enumerate(dates):
        for arm, env in envs.items():
            stats = simulate_day(env, by_arm[arm], world, i, day, cfg.seed, cfg, log_rows, results[arm].per_user)
            results[arm].days.append(stats)
            promoted: list[str] = []
            if arm == LEARNING:
                promoted, secs = nightly_learning(env, day, cfg, say)
                results[arm].learn_seconds.append(secs)
            results[arm].promotions.append(promoted)
        say(f"{day} " + " · ".join(f"{a} CTR {results[a].days[-1].ctr:.3f} 전환 {results[a].days[-1].conversion:.3f}"
                                   for a in cfg.arms))
    for env in envs.values():
        env.engine.dispose()
    result = SimulationResult(cfg, dates, results, source, out_dir, time.perf_counter() - t0, exposures=log_rows)
    write_ab_log(out_dir / "ab", online_view(result))
    result.comparison = compare_arms(result)
    return result
