"""A small world that has lived a few days with the service: trained models, chats, feedback.

``loop_world`` (session): a generated world (80 shops, 120 users) in its own
var folder with a Layer 1 index (hashing embedder), a tiny production ranker
and a tiny production NLU, then one simulated day: every user chats three
times and picks a shown shop by a rule the production ranker does not know
(a 착한가게 if one is shown, else the cheapest) with a random feedback type.
The few children without a guardian's consent chat too, minimised: ``n_trainable``
counts the feedback learning may use.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

MESSAGES = ["떡볶이 먹고 싶어", "치킨 추천해줘", "급식카드 되는 곳", "만원으로 뭐 먹지?", "근처 맛집 알려줘",
            "분식집 추천해줘", "한식 먹고 싶어"]


def pick(recs):
    """The simulated users' taste: a good shop when one is shown, else the cheapest."""
    good = [r for r in recs if r["is_good_shop"]]
    if good:
        return good[0]
    return min(recs, key=lambda r: (r["price_range"] or {}).get("min", 99_999))


def simulate_day(chat_service, engine, users, seed: int = 0, turns: int = 3) -> int:
    from naviyam.db.session import session_factory
    from naviyam.learning.feedback import record_feedback
    from naviyam.service.chat import ChatRequest

    rnd = random.Random(seed)
    sessions = session_factory(engine)
    n = 0
    for _ in range(turns):
        for uid in users:
            reply = chat_service.chat(ChatRequest(message=rnd.choice(MESSAGES), user_id=uid))
            if not reply.recommendations:
                continue
            with sessions() as db:
                record_feedback(db, user_id=uid, shop_id=pick(reply.recommendations)["shop_id"],
                                feedback_type=rnd.choice(["clicked", "ordered", "favorited"]),
                                interaction_id=reply.interaction_id)
            n += 1
    return n


def build_world(var, *, nlu: bool = True):
    """Generated world + Layer 1 + production ranker (+ NLU) in ``var``; returns (engine, registry, settings)."""
    from naviyam.config import Settings
    from naviyam.core.registry import ModelRegistry
    from naviyam.data.generate import generate_world
    from naviyam.db.session import make_engine, migrate
    from naviyam.recommend.layer1 import Layer1Config
    from naviyam.recommend.layer1_build import build_layer1
    from naviyam.recommend.ranker.pipeline import train_and_register
    from naviyam.recommend.ranker.trainer import RankerTrainConfig
    from naviyam.recommend.training_data import TrainingDataConfig, build_training_set
    from naviyam.retrieval.embedding import HashingEmbedder

    settings = Settings(var_dir=var, environment="test", admin_api_key="test-admin-key", database_url=None,
                        reload_interval_s=0, _env_file=None)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    generate_world(engine, seed=3, shops=80, users=120, days=30)
    registry = ModelRegistry(engine, settings.models_dir)
    emb = HashingEmbedder()
    build_layer1(engine, registry, config=Layer1Config(embedder=emb.name), embedder=emb)
    build_training_set(engine, var / "datasets" / "ranker",
                       TrainingDataConfig(max_positives=300, ranking_lists=40, window_days=7), embedder=emb)
    train_and_register(var / "datasets" / "ranker", registry, RankerTrainConfig(epochs=2, hidden=[16], batch_size=64))
    if nlu:
        from naviyam.nlu import train_nlu

        train_nlu(engine, registry, epochs=1, n_examples=300, with_baselines=False)
    return engine, registry, settings


@pytest.fixture(scope="session")
def _loop_world_template(tmp_path_factory):
    """The world built and lived in once per run; tests get copies of it (``loop_world``)."""
    from naviyam.service.runtime import Runtime

    var = tmp_path_factory.mktemp("learning-world")
    engine, registry, settings = build_world(var)
    runtime = Runtime.load(engine, settings)
    first_ranker = registry.current("ranker").version
    n = simulate_day(runtime.chat_service(), engine, range(1, 121))
    n_trainable = _trainable_feedback(engine)
    engine.dispose()
    return SimpleNamespace(var=var, first_ranker=first_ranker, n_feedback=n, n_trainable=n_trainable)


def _trainable_feedback(engine) -> int:
    """Feedback events learning may use: not those of the world's children without a guardian's consent."""
    from sqlalchemy import func, select

    from naviyam.db.models import FeedbackEvent
    from naviyam.db.session import session_scope

    with session_scope(engine) as s:
        return int(s.scalar(select(func.count(FeedbackEvent.id)).where(FeedbackEvent.minimised.is_(False))))


@pytest.fixture
def loop_world(_loop_world_template, tmp_path):
    """A private copy of the lived-in world: what one test learns, promotes or adds never reaches another.

    The SQLite file and the model folders are copied and the registry's paths moved to the copy, so
    each test sees the same world whatever ran before it (no dependence on test order).
    """
    import shutil

    from sqlalchemy import text

    from naviyam.config import Settings
    from naviyam.core.registry import ModelRegistry
    from naviyam.db.session import make_engine
    from naviyam.service.runtime import Runtime

    template = _loop_world_template
    var = tmp_path / "learning-world"
    shutil.copytree(template.var, var)
    settings = Settings(var_dir=var, environment="test", admin_api_key="test-admin-key", database_url=None,
                        reload_interval_s=0, _env_file=None)
    engine = make_engine(settings.resolved_database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE model_version SET path = replace(path, :old, :new)"),
                     {"old": str(template.var), "new": str(var)})
    registry = ModelRegistry(engine, settings.models_dir)
    runtime = Runtime.load(engine, settings)
    yield SimpleNamespace(var=var, engine=engine, registry=registry, settings=settings, runtime=runtime,
                          first_ranker=template.first_ranker, n_feedback=template.n_feedback,
                          n_trainable=template.n_trainable)
    engine.dispose()

