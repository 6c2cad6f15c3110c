"""Korean NLU for Naviyam: message → intent + filters (contracts/nlu.md), with dialogue state.

Public API::

    from naviyam.nlu import load_parser, NLUSession

    parser = load_parser()                  # production version from the model registry
    session = NLUSession()                     # or NLUSession.from_dict(stored_json)
    result = parser.parse("만원으로 치킨 먹을 수 있어?", session)
    result.to_dict()                        # the contract object
    session.to_dict()                       # plain JSON for a database / Redis

    train_nlu(engine, registry, epochs=10)  # generate data, train, evaluate, register

``load_parser`` loads the registry's production ``nlu`` version. When there
is none (a fresh install) it trains a small model in a temporary folder
(logged as a warning, version ``fallback-small``, ~20 s once per process); if
even that fails it returns the rules-only parser (version ``rules``), so the
service can always parse.
"""

from __future__ import annotations

import logging
import random
import tempfile
import threading
from pathlib import Path
from typing import Any

from naviyam.core.registry import default_registry
from naviyam.nlu.datagen import generate_dataset
from naviyam.nlu.lexicon import Lexicon
from naviyam.nlu.parser import NLUParser, NLUResult
from naviyam.nlu.state import DialogueState, NLUSession
from naviyam.nlu.train import NLUTrainConfig, fit_parser
from naviyam.nlu.train import train_nlu as _train

log = logging.getLogger(__name__)

__all__ = ["NLUParser", "NLUResult", "NLUSession", "DialogueState", "load_parser", "train_nlu", "fallback_parser",
           "rules_parser"]

_FALLBACK: NLUParser | None = None
_FALLBACK_LOCK = threading.Lock()


def train_nlu(engine: Any, registry: Any, epochs: int = 10, **kw: Any):
    """Train, evaluate and register a new NLU version (see :func:`naviyam.nlu.train.train_nlu`)."""
    return _train(engine, registry, epochs=epochs, **kw)


def rules_parser(engine: Any = None) -> NLUParser:
    """Lexicon-and-rules parser with keyword intents: the last-resort fallback and the slot baseline."""
    return NLUParser(Lexicon.build(engine), version="rules")


def fallback_parser(engine: Any = None, n_examples: int = 3000, epochs: int = 4) -> NLUParser:
    """A small model trained in a temporary folder, once per process (used when the registry has none)."""
    global _FALLBACK
    with _FALLBACK_LOCK:
        if _FALLBACK is not None:
            return _FALLBACK
        try:
            log.warning("no trained NLU model in the registry: training a small fallback model "
                        "(run `naviyam train nlu` for the real one)")
            lex = Lexicon.build(engine)
            rows = generate_dataset(lex, n_examples, seed=7)
            random.Random(7).shuffle(rows)
            k = max(1, len(rows) // 10)
            folder = Path(tempfile.mkdtemp(prefix="naviyam-nlu-fallback-"))
            _FALLBACK = fit_parser(lex, rows[k:], rows[:k], folder, NLUTrainConfig(epochs=epochs),
                                   version="fallback-small")
        except Exception:  # noqa: BLE001
            log.exception("fallback NLU training failed; using the rules-only parser")
            _FALLBACK = rules_parser(engine)
        return _FALLBACK


def load_parser(registry: Any = None, *, fallback: str = "train") -> NLUParser:
    """The production NLU parser.

    ``registry``: a :class:`~naviyam.core.registry.ModelRegistry` (default: the configured one).
    ``fallback``: what to do when no version is registered or it cannot be loaded — ``"train"`` (a small
    model, see :func:`fallback_parser`), ``"rules"`` (rules only) or ``"error"`` (raise).
    """
    engine = None
    try:
        if registry is None:
            registry = default_registry()
        engine = registry.engine
        mv = registry.current("nlu")
        if mv is not None:
            parser = NLUParser.load(Path(mv.path), version=mv.version)
            log.info("loaded NLU model %s", mv.version)
            return parser
        reason = "no production nlu version"
    except Exception as e:  # noqa: BLE001
        if fallback == "error":
            raise
        reason = f"could not load the registered NLU model: {e}"
        log.warning(reason)
    if fallback == "error":
        raise LookupError(reason)
    if fallback == "rules":
        log.warning("%s; using the rules-only parser", reason)
        return rules_parser(engine)
    return fallback_parser(engine)
