"""Training the NLU: generate data, fit intent + tagger, calibrate, evaluate, register.

``train_nlu(engine, registry)`` is what ``naviyam train nlu`` runs. The
registry hands out the version folder; the files written there are the
parser's plain artefacts (see :meth:`NLUParser.save`), and the metrics on the
held-out generated split, the public contract examples and the hand-written
set go into the registry with the version.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from naviyam.nlu.canonical import Span
from naviyam.nlu.datagen import generate_dataset, write_jsonl
from naviyam.nlu.evaluate import cases_from_examples, evaluate_cases, load_cases
from naviyam.nlu.features import analyse, bio_labels, crf_features, intent_features
from naviyam.nlu.intent import IntentClassifier, TfidfBaseline
from naviyam.nlu.lexicon import ENTITY_NAMES, Lexicon, compact
from naviyam.nlu.operator import add_aliases, operator_aliases, operator_repeat, split_operator
from naviyam.nlu.parser import NLUParser, NLUResult
from naviyam.nlu.parser import NLUParser as _P
from naviyam.nlu.tagger import CRFTagger
from naviyam.progress import FractionReporter

log = logging.getLogger(__name__)

ENTITY_TO_LABEL = {v: k for k, v in ENTITY_NAMES.items()}
ENTITY_TO_LABEL.update({"exclude_category": "CAT", "exclude_menu": "DISH"})



@dataclass
class NLUTrainConfig:
    n_examples: int = 16000
    heldout: float = 0.12
    calibration: float = 0.08
    seed: int = 13
    epochs: int = 10
    intent_C: float = 4.0
    crf_c1: float = 0.05
    crf_c2: float = 0.01

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def resource_path(name: str) -> Path:
    return Path(str(resources.files("naviyam.resources") / "nlu" / name))


def public_examples() -> list[dict[str, Any]]:
    return load_cases(resource_path("nlu_examples.jsonl"))


def handwritten_cases(name: str = "handwritten_eval.jsonl") -> list[dict[str, Any]]:
    p = resource_path(name)
    return load_cases(p) if p.exists() else []


def eval_sets(heldout_rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every evaluation set: held-out generated split, public examples, the two hand-written sets."""
    return {"heldout_generated": cases_from_examples(heldout_rows), "nlu_examples": public_examples(),
            "handwritten": handwritten_cases(), "handwritten_blind": handwritten_cases("handwritten_blind.jsonl")}


def fit_parser(lexicon: Lexicon, train_rows: list[dict[str, Any]], cal_rows: list[dict[str, Any]],
               folder: Path, cfg: NLUTrainConfig, progress: FractionReporter | None = None,
               version: str = "dev") -> NLUParser:
    """Fit intent classifier and tagger on ``train_rows``, calibrate on ``cal_rows``, save into ``folder``."""
    prog = progress or (lambda s, f: None)
    parser = NLUParser(lexicon, version=version)
    prog("analysing", 0.0)
    analyses = []
    for i, r in enumerate(train_rows):
        analyses.append(analyse(r["text"], parser.matcher))
        if i % 500 == 0:
            prog("analysing", i / len(train_rows))
    prog("intent", 0.0)
    X = [intent_features(a) for a in analyses]
    y = [r["intent"] for r in train_rows]
    clf = IntentClassifier(C=cfg.intent_C, max_iter=max(100, 30 * cfg.epochs)).fit(X, y)
    prog("tagger", 0.0)
    rng = random.Random(cfg.seed)
    intents = sorted(set(y))
    Xc, Yc = [], []
    for a, r in zip(analyses, train_rows, strict=False):
        # A few examples see a wrong intent, so the tagger does not trust it blindly.
        it = r["intent"] if rng.random() > 0.05 else rng.choice(intents)
        Xc.append(crf_features(a, it))
        Yc.append(bio_labels(a, r["entities"], ENTITY_TO_LABEL))
    tagger = CRFTagger(c1=cfg.crf_c1, c2=cfg.crf_c2, max_iterations=10 * cfg.epochs).fit(Xc, Yc, folder)
    prog("calibrating", 0.0)
    if cal_rows:
        cal_an = [analyse(r["text"], parser.matcher) for r in cal_rows]
        clf.calibrate([intent_features(a) for a in cal_an], [r["intent"] for r in cal_rows])
    parser.intent_model = clf
    parser.tagger = tagger
    parser.save(folder, {"train_config": cfg.as_dict(), "lexicon_sources": lexicon.sources})
    return parser


def rules_parse_factory(lexicon: Lexicon, intent_of: Callable[[str], str]):
    """A parse function using the rules-only slot extractor with intents from ``intent_of``."""
    rp = _P(lexicon)

    def parse(text: str, session):
        an = analyse(text, rp.matcher)
        intent = intent_of(text)
        spans = [Span("LMK" if m.label == "LMKPAT" else m.label, m.start, m.end) for m in an.greedy]
        ents, f = rp.canon.canonicalise(text, an.norm, spans, intent)

        if session is not None:
            f = session.state.apply(intent, f, reset=rp.canon.is_reset(an.norm) and intent == "FOOD_RECOMMENDATION")
        return NLUResult(text, intent, 1.0, ents, "", f)

    return parse


def evaluate_all(parser: NLUParser, heldout_rows: list[dict[str, Any]], keep_errors: int = 0,
                 operator_rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out = {}
    sets = eval_sets(heldout_rows)
    if operator_rows:
        sets["operator_heldout"] = cases_from_examples(operator_rows)
    for name, cases in sets.items():
        if cases:
            out[name] = evaluate_cases(parser.parse, cases, keep_errors=keep_errors)
    return out


def baseline_metrics(lexicon: Lexicon, train_rows, heldout_rows) -> dict[str, Any]:
    """TF-IDF char n-gram LR (intents) and the rules-only slot extractor on the same data sets."""
    base = TfidfBaseline().fit([r["text"] for r in train_rows], [r["intent"] for r in train_rows])
    out: dict[str, Any] = {}
    for name, cases in eval_sets(heldout_rows).items():
        if not cases:
            continue
        texts = [t for c in cases for t in c["turns"]]
        preds = dict(zip(texts, base.predict(texts), strict=False))
        m = evaluate_cases(rules_parse_factory(lexicon, preds.__getitem__), cases)
        out[name] = {k: m[k] for k in ("intent_accuracy", "intent_macro_f1", "slot_micro_f1", "filters_exact",
                                       "exact", "multiturn_exact")}
    return out


def summary(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("intent_accuracy", "intent_macro_f1", "slot_micro_f1", "filters_exact", "exact", "multiturn_exact", "ece")
    return {name: {k: m.get(k) for k in keys} for name, m in metrics.items() if isinstance(m, dict) and "turns" in m}


def train_nlu(engine: Any, registry: Any, epochs: int = 10, n_examples: int | None = None, seed: int = 13,
              progress: FractionReporter | None = None, with_baselines: bool = True,
              data_dir: Path | None = None, status: str = "production",
              extra_rows: list[dict[str, Any]] | None = None, heldout_rows: list[dict[str, Any]] | None = None,
              parent: str | None = None, operator_rows: list[dict[str, Any]] | None = None,
              operator_heldout: list[dict[str, Any]] | None = None, operator_share: float = 0.15,
              inherit_operator: bool = True):
    """Train, evaluate and register a new NLU version; returns the registry's ModelVersion.

    ``engine`` provides the shop names for the gazetteer (None: built-in fallback list).
    ``extra_rows`` (e.g. good conversations) are added to the generated training rows;
    ``heldout_rows`` replaces the generated held-out split (to compare with an earlier
    version on the same data: generated rows with the same text are left out of training).
    ``operator_rows`` are the operator's labelled examples (:mod:`naviyam.nlu.operator`): a stable
    fifth is held out (with ``operator_heldout``, e.g. production's held-out examples), the words
    they teach become aliases of this version's lexicon and the rest are repeated so that they
    weigh about ``operator_share`` of the generated training rows.

    With ``inherit_operator`` (the default) the operator's examples that the production NLU was
    trained and held out on come along (not split again), so a retrain (plain ``train nlu``, ``naviyam learn``, a stale
    rebuild by ``setup``/``train all``) never silently forgets what the operator taught.
    """
    t0 = time.perf_counter()
    prog = progress or (lambda s, f: None)
    cfg = NLUTrainConfig(epochs=epochs, seed=seed)
    if n_examples:
        cfg.n_examples = n_examples
    lexicon = Lexicon.build(engine)
    prog("generating", 0.0)
    held, cal, train = _generated_split(lexicon, cfg, heldout_rows, extra_rows)
    if inherit_operator:
        inherited_train, inherited_held = _production_operator_rows(registry)
        operator_heldout = list(operator_heldout or []) + inherited_held
    else:
        inherited_train = []
    op = _operator_examples(lexicon, operator_rows, operator_heldout, inherited_train, len(train), operator_share)
    train = train + [r for r in op.train for _ in range(op.repeat)]
    alloc = registry.allocate("nlu")
    if data_dir is not None:
        write_jsonl(train, Path(data_dir) / "train.jsonl")
        write_jsonl(held, Path(data_dir) / "heldout.jsonl")
    write_jsonl(held, alloc.path / "heldout.jsonl")
    if op.train or op.held:
        write_jsonl(op.train, alloc.path / "operator_train.jsonl")
        write_jsonl(op.held, alloc.path / "operator_heldout.jsonl")
    parser = fit_parser(lexicon, train, cal, alloc.path, cfg, prog, version=alloc.version)
    train_s = time.perf_counter() - t0
    metrics = _metrics(parser, lexicon, prog, held, cal, train, op, with_baselines=with_baselines,
                       n_extra=len(extra_rows or []), share=operator_share, train_s=train_s)
    prog("registering", 1.0)
    mv = registry.register(alloc, metrics=metrics, config={**cfg.as_dict(), "lexicon_sources": lexicon.sources},
                           status=status, parent=parent)
    log.info("trained NLU %s in %.1fs", alloc.version, train_s)
    return mv


def _metrics(parser: NLUParser, lexicon: Lexicon, prog, held: list[dict], cal: list[dict], train: list[dict],
             op: _OperatorExamples, *, with_baselines: bool, n_extra: int, share: float,
             train_s: float) -> dict[str, Any]:
    """The registered metrics: held-out (and operator) scores, baselines, sizes, the calibration temperature."""
    prog("evaluating", 0.0)
    metrics: dict[str, Any] = evaluate_all(parser, held, operator_rows=op.held)
    if op.train:
        metrics["operator_train"] = evaluate_cases(parser.parse, cases_from_examples(op.train))
    if with_baselines:
        prog("baselines", 0.0)
        metrics["baselines"] = baseline_metrics(lexicon, train, held)
    metrics["train_seconds"] = round(train_s, 1)
    metrics["n_train"], metrics["n_heldout"], metrics["n_calibration"] = len(train), len(held), len(cal)
    metrics["n_extra"] = n_extra
    if op.train or op.held:
        metrics["operator"] = {"n_train": len(op.train), "n_heldout": len(op.held), "repeat": op.repeat,
                               "share": share, "aliases": [list(a) for a in op.aliases]}
    metrics["temperature"] = parser.intent_model.temperature_ if parser.intent_model else None
    return metrics


def _generated_split(lexicon: Lexicon, cfg: NLUTrainConfig, heldout_rows: list[dict[str, Any]] | None,
                     extra_rows: list[dict[str, Any]] | None) -> tuple[list[dict], list[dict], list[dict]]:
    """(held-out, calibration, training) rows: generated and shuffled by the seed, ``heldout_rows`` replacing
    the generated held-out split (its texts left out of the rest), ``extra_rows`` added to training."""
    rows = generate_dataset(lexicon, cfg.n_examples, seed=cfg.seed)
    rng = random.Random(cfg.seed)
    rng.shuffle(rows)
    n_held = int(len(rows) * cfg.heldout)
    n_cal = int(len(rows) * cfg.calibration)
    held, cal, train = rows[:n_held], rows[n_held:n_held + n_cal], rows[n_held + n_cal:]
    if heldout_rows is not None:
        held = list(heldout_rows)
        held_texts = {r["text"] for r in held}
        cal = [r for r in cal if r["text"] not in held_texts]
        train = [r for r in train if r["text"] not in held_texts]
    if extra_rows:
        held_texts = {r["text"] for r in held}
        train = train + [r for r in extra_rows if r["text"] not in held_texts]
    return held, cal, train


@dataclass
class _OperatorExamples:
    train: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    aliases: list[tuple[str, str, str]] = field(default_factory=list)
    #: how many times each training example is repeated
    repeat: int = 0


def _operator_examples(lexicon: Lexicon, operator_rows: list[dict[str, Any]] | None,
                       operator_heldout: list[dict[str, Any]] | None, inherited_train: list[dict[str, Any]],
                       n_generated: int, share: float) -> _OperatorExamples:
    """The operator's examples split into training and held-out (each text once); the words they teach
    become aliases of ``lexicon`` (changed in place); the repeat count that makes them weigh ``share``."""
    op = _OperatorExamples()
    for r in operator_heldout or []:
        if compact(r["text"]) not in {compact(x["text"]) for x in op.held}:
            op.held.append(r)
    if not (operator_rows or op.held or inherited_train):
        return op
    op_train, new_held = split_operator(list(operator_rows or []))
    op_train = op_train + inherited_train  # already split when production learnt them: not split again
    known = {compact(r["text"]) for r in op.held}
    op.held += [r for r in new_held if compact(r["text"]) not in known]
    held_op = {compact(r["text"]) for r in op.held}
    seen: set[str] = set()
    op.train = [r for r in op_train if compact(r["text"]) not in held_op
                and not (compact(r["text"]) in seen or seen.add(compact(r["text"])))]
    # aliases come from every example (held-out ones too: a word is a word), after data generation
    op.aliases = operator_aliases(list(operator_rows or []) + op.train + op.held, lexicon)
    add_aliases(lexicon, op.aliases)
    op.repeat = operator_repeat(n_generated, len(op.train), share=share)
    return op


def _read_jsonl_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _production_operator_rows(registry: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The operator examples the production NLU learnt from and held out (empty when none)."""
    prod = registry.current("nlu") if registry is not None else None
    if prod is None:
        return [], []
    folder = Path(prod.path)
    return _read_jsonl_rows(folder / "operator_train.jsonl"), _read_jsonl_rows(folder / "operator_heldout.jsonl")
