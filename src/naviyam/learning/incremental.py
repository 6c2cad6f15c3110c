"""Incremental learning data from what users did with what they were shown.

Ranker rows come from stored interactions that got feedback:

* positives: shown shops the user clicked, ordered or favourited, weighted
  1 / 2 / 1.5 (:data:`FEEDBACK_WEIGHTS`; a shop with several events keeps
  its largest weight);
* negatives: shops shown in the *same* interaction and not chosen. Hard
  negatives — shown above a chosen shop, of a chosen shop's category, or
  dismissed — weigh ``hard_negative_weight``, the rest ``negative_weight``.

Position bias. A shop lower in the list is less often even looked at, so
a click there says more and a shop left there unclicked says less. With the
examination propensity of rank k modelled as ``p(k) = k^-η``
(``position_eta``; η = 1 is the usual default of unbiased learning to rank):

* a positive's weight is multiplied by ``min(1 / p(rank), max_ipw)``
  (inverse propensity weighting);
* a shop shown *below* the best chosen one was perhaps never looked at: its
  negative weight is multiplied by ``p(rank) / p(chosen rank)`` (< 1);
  shops above it were passed over on the way down and stay hard negatives.

Every row carries its ``propensity`` p(rank) so that the comparison of
candidate and production on the held-out lists can correct for the same bias
(:func:`ips_mrr`).

Interactions without any positive feedback give no rows: nobody knows
whether their list was even looked at. Feedback sent without an
``interaction_id`` is attached to the user's latest interaction, within
``match_hours`` before it, that showed that shop.

Each row's features are computed as the ranker sees them at serving time
(:class:`~naviyam.recommend.features.FeatureBuilder`), with the interaction
counts — the users' earlier chat feedback included — replayed up to the moment of the interaction, the stored NLU filters
and semantic query, the funnel scores stored with the shown list, and the
request position Layer 1 resolves for that request (from the stored
coordinates when the client sent them).

Nothing of a child without a guardian's consent (minimised turns and
feedback) or of an erased user is ever read (:mod:`naviyam.core.privacy`).

NLU rows ("good conversations"): the messages of those same
interactions whose recommendations were chosen and that nobody rated below
4, with the intent and entities the model produced.

The split is by time: the most recent ``holdout_share`` of labelled
interactions is held out to compare candidate and production — of those
production has not been trained on (after ``seen_until``, the end of a
fine-tuned production ranker's data window), so production is never judged
on its own training lists.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from naviyam.core.clock import to_local
from naviyam.core.privacy import training_exclusions
from naviyam.db.models import FeedbackEvent, Interaction
from naviyam.db.session import session_scope
from naviyam.nlu.canonical import SEARCH_INTENTS
from naviyam.recommend.features import FeatureBuilder, InteractionState, RankingQuery, load_events
from naviyam.recommend.layer1 import RequestContext

log = logging.getLogger(__name__)

#: Weight of a positive by the strongest feedback it got.
FEEDBACK_WEIGHTS = {"clicked": 1.0, "ordered": 2.0, "favorited": 1.5}
POSITIVE_TYPES = tuple(FEEDBACK_WEIGHTS)


@dataclass
class IncrementalDataConfig:
    #: days of interactions (before the run) that feed the incremental data
    window_days: int = 28
    #: the most recent share of labelled interactions, held out for the comparison
    holdout_share: float = 0.2
    negative_weight: float = 1.0
    hard_negative_weight: float = 2.0
    #: unlinked feedback is matched to an interaction at most this long before it
    match_hours: float = 6.0
    #: a conversation rated below this (1-5) is not a good one for the NLU
    min_satisfaction: float = 4.0
    #: examination propensity of rank k: k ** -position_eta (0: no position-bias correction)
    position_eta: float = 1.0
    #: the largest inverse-propensity factor a positive gets
    max_ipw: float = 10.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LabelledInteraction:
    interaction_id: int
    user_id: int | None
    created_at: dt.datetime  # UTC, as stored
    message: str
    nlu: dict[str, Any]
    shown: list[dict[str, Any]]
    #: shop id -> set of feedback types the user gave it (for this interaction)
    feedback: dict[int, set[str]] = field(default_factory=dict)
    satisfaction: list[float] = field(default_factory=list)
    #: where the request was made ({lat, lon, ...} as stored), when the client sent coordinates
    location: dict[str, Any] | None = None

    @property
    def chosen(self) -> set[int]:
        return {s for s, kinds in self.feedback.items() if kinds & set(POSITIVE_TYPES)}


@dataclass
class IncrementalData:
    train: pd.DataFrame
    holdout: pd.DataFrame
    nlu_rows: list[dict[str, Any]]
    n_interactions: int
    n_train_interactions: int
    n_holdout_interactions: int
    positives: dict[str, int]
    window: tuple[dt.datetime, dt.datetime]
    skipped_unknown_shops: int = 0


def propensity(rank: int, eta: float) -> float:
    """Examination propensity of 1-based ``rank``: ``rank ** -eta``."""
    return float(max(rank, 1)) ** -eta


def ips_mrr(frame: pd.DataFrame, scores: np.ndarray) -> tuple[float | None, int]:
    """Position-bias-corrected MRR over the lists in ``frame`` (rows with ``query_id``, ``label``, ``propensity``).

    Each list's reciprocal rank (of its best chosen shop under ``scores``) is weighted by ``1 / p`` of the
    rank that shop was shown at, so lists whose choice was made low in the served order count more:
    ``Σ_l RR_l / p_l / Σ_l 1 / p_l``. Returns (value, lists); None without lists."""
    if not len(frame) or "propensity" not in frame:
        return None, 0
    num = den = 0.0
    n = 0
    labels = frame["label"].to_numpy(np.float64)
    props = frame["propensity"].to_numpy(np.float64)
    for idx in frame.groupby("query_id", sort=False).indices.values():
        y = labels[idx]
        if not np.any(y > 0.5):
            continue
        order = np.argsort(-scores[idx], kind="stable")
        first = int(np.flatnonzero(y[order] > 0.5)[0])
        chosen = order[first]
        w = 1.0 / max(props[idx][chosen], 1e-6)
        num += w / (first + 1)
        den += w
        n += 1
    return (num / den if den else None), n


def _positive_weight(kinds: set[str]) -> float:
    return max((FEEDBACK_WEIGHTS[k] for k in kinds if k in FEEDBACK_WEIGHTS), default=0.0)


def collect_labelled(engine: Engine, start: dt.datetime, end: dt.datetime,
                     config: IncrementalDataConfig | None = None) -> list[LabelledInteraction]:
    """Interactions created in ``[start, end)`` (UTC) that showed shops, with the feedback they got.

    Minimised turns and events (children without a guardian's consent) and everything of users no
    training may use (:func:`~naviyam.core.privacy.training_exclusions`) are left out."""
    cfg = config or IncrementalDataConfig()
    excluded = training_exclusions(engine)
    with session_scope(engine) as s:
        its = list(s.scalars(select(Interaction).where(Interaction.created_at >= start, Interaction.created_at < end,
                                                       Interaction.minimised.is_(False))
                             .order_by(Interaction.created_at, Interaction.id)))
        fbs = list(s.scalars(select(FeedbackEvent).where(
            FeedbackEvent.created_at >= start, FeedbackEvent.minimised.is_(False),
            FeedbackEvent.created_at < end + dt.timedelta(hours=cfg.match_hours)).order_by(FeedbackEvent.id)))
    its = [it for it in its if it.user_id not in excluded]
    fbs = [fb for fb in fbs if fb.user_id not in excluded]
    by_id: dict[int, LabelledInteraction] = {}
    by_user: dict[int, list[LabelledInteraction]] = defaultdict(list)
    for it in its:
        if not it.recommendations or not isinstance(it.nlu, dict):
            continue
        li = LabelledInteraction(it.id, it.user_id, it.created_at, it.message, it.nlu, list(it.recommendations),
                                 location=it.location if isinstance(it.location, dict) else None)
        by_id[it.id] = li
        if it.user_id is not None:
            by_user[it.user_id].append(li)
    window = dt.timedelta(hours=cfg.match_hours)
    for fb in fbs:
        li = by_id.get(fb.interaction_id) if fb.interaction_id is not None else None
        if li is None and fb.interaction_id is None and fb.user_id is not None:
            for cand in reversed(by_user.get(fb.user_id, [])):
                if cand.created_at <= fb.created_at <= cand.created_at + window and any(
                        r.get("shop_id") == fb.shop_id for r in cand.shown):
                    li = cand
                    break
        if li is None:
            continue
        if fb.satisfaction_score is not None:
            li.satisfaction.append(float(fb.satisfaction_score))
        li.feedback.setdefault(int(fb.shop_id), set()).add(fb.feedback_type)
    return [li for li in by_id.values() if li.chosen]


def good_conversation_rows(labelled: list[LabelledInteraction], min_satisfaction: float = 4.0) -> list[dict[str, Any]]:
    """NLU training rows (text, intent, entities, filters) of conversations whose recommendations were chosen."""
    rows, seen = [], set()
    for li in labelled:
        if li.satisfaction and min(li.satisfaction) < min_satisfaction:
            continue
        intent = li.nlu.get("intent")
        text = li.message.strip()
        if intent not in SEARCH_INTENTS or not text or text in seen:
            continue
        seen.add(text)
        ents = [dict(e) for e in li.nlu.get("entities") or []
                if isinstance(e, dict) and {"entity", "start", "end"} <= set(e)
                and 0 <= int(e["start"]) < int(e["end"]) <= len(text)]
        rows.append({"text": text, "intent": intent, "entities": ents, "filters": li.nlu.get("filters") or {},
                     "source": "conversation", "interaction_id": li.interaction_id})
    return rows


@dataclass
class _Shown:
    shop_id: int
    funnels: dict[str, float]


def _local(t_utc: dt.datetime) -> dt.datetime:
    return to_local(t_utc.replace(tzinfo=dt.UTC))


def ranker_rows(engine: Engine, generator, labelled: list[LabelledInteraction],
                config: IncrementalDataConfig | None = None) -> tuple[pd.DataFrame, int]:
    """Weighted feature rows (one per shown shop) of labelled interactions; (frame, shops skipped)."""
    cfg = config or IncrementalDataConfig()
    catalog = generator.catalog
    builder = FeatureBuilder(catalog)
    state = InteractionState.empty(InteractionState.load_users(engine), catalog)
    events = load_events(engine, trainable_only=True, feedback=True)
    e = 0
    frames: list[pd.DataFrame] = []
    skipped = 0
    for li in sorted(labelled, key=lambda x: (x.created_at, x.interaction_id)):
        when = _local(li.created_at)
        while e < len(events) and events[e].when < when:
            state.apply(events[e])
            e += 1
        shown = [r for r in sorted(li.shown, key=lambda r: r.get("rank") or 0) if r.get("shop_id") in catalog.row_of]
        skipped += len(li.shown) - len(shown)
        chosen = li.chosen
        if not shown or not chosen & {r["shop_id"] for r in shown}:
            continue
        filters = dict(li.nlu.get("filters") or {})
        semantic = str(li.nlu.get("semantic_query") or li.nlu.get("text") or "")
        # Where Layer 1 placed this request (a named place, else the user's home area).
        loc = li.location or {}
        l1 = generator.candidates(li.user_id, {**li.nlu, "filters": filters},
                                  RequestContext(now=when, lat=loc.get("lat"), lon=loc.get("lon")), k=1)
        origin = l1.origin
        query = RankingQuery(user_id=li.user_id, filters=filters, semantic_query=semantic, when=when,
                             position=(origin.lat, origin.lon) if origin else None,
                             position_source=origin.label if origin else None)
        cands = [_Shown(int(r["shop_id"]), {str(k): float(v or 0.0) for k, v in (r.get("funnels") or {}).items()}
                        if isinstance(r.get("funnels"), dict) else {str(k): 0.0 for k in r.get("funnels") or []})
                 for r in shown]
        rows = builder.build(query, cands, state, similarity=generator.funnels.get("itemknn"))
        ranks = [int(r.get("rank") or i + 1) for i, r in enumerate(shown)]
        labels, weights, kinds, props = _labels(li, cands, ranks, catalog, cfg)
        df = rows.to_frame()
        df.insert(2, "label", np.asarray(labels))
        df["weight"] = weights
        df["kind"] = kinds
        df["query_id"] = li.interaction_id
        df["layer1_rank"] = ranks
        df["propensity"] = props
        df["event_time"] = when.isoformat()
        frames.append(df)
    if not frames:
        return pd.DataFrame(), skipped
    return pd.concat(frames, ignore_index=True), skipped


def _labels(li: LabelledInteraction, cands: list, ranks: list[int], catalog, cfg: IncrementalDataConfig):
    """(labels, weights, kinds, propensities) of the shops shown in one interaction.

    A chosen shop is a positive weighted by its feedback and the inverse of its position's propensity
    (capped); a shop not chosen is a negative, hard when dismissed, ranked above a chosen one or of a
    chosen category, and discounted below the chosen one (perhaps never looked at).
    """
    chosen = li.chosen
    best_chosen_rank = min(i for i, c in enumerate(cands) if c.shop_id in chosen)
    chosen_cats = {catalog.categories[catalog.row_of[c.shop_id]] for c in cands if c.shop_id in chosen}
    labels, weights, kinds, props = [], [], [], []
    p_chosen = propensity(ranks[best_chosen_rank], cfg.position_eta)
    for i, c in enumerate(cands):
        fb = li.feedback.get(c.shop_id, set())
        p = propensity(ranks[i], cfg.position_eta)
        props.append(p)
        if c.shop_id in chosen:
            labels.append(1.0)
            weights.append(_positive_weight(fb) * min(1.0 / p, cfg.max_ipw))
            kinds.append(max((k for k in fb if k in FEEDBACK_WEIGHTS), key=FEEDBACK_WEIGHTS.get))
        else:
            hard = ("dismissed" in fb or i < best_chosen_rank
                    or catalog.categories[catalog.row_of[c.shop_id]] in chosen_cats)
            w = cfg.hard_negative_weight if hard else cfg.negative_weight
            if i > best_chosen_rank and "dismissed" not in fb:
                w *= min(1.0, p / p_chosen)  # perhaps never looked at
            labels.append(0.0)
            weights.append(w)
            kinds.append("hard_negative" if hard else "negative")
    return labels, weights, kinds, props


def build_incremental_data(engine: Engine, generator, end: dt.datetime,
                           config: IncrementalDataConfig | None = None,
                           seen_until: dt.datetime | None = None) -> IncrementalData:
    """Ranker rows split by time into fine-tuning and held-out parts, and the good conversations.

    ``seen_until`` (UTC): interactions before it were in production's training data; the held-out share
    is taken from the interactions after it."""
    cfg = config or IncrementalDataConfig()
    start = end - dt.timedelta(days=cfg.window_days)
    labelled = collect_labelled(engine, start, end, cfg)
    labelled.sort(key=lambda x: (x.created_at, x.interaction_id))
    n = len(labelled)
    unseen = [li for li in labelled if seen_until is None or li.created_at >= seen_until]
    n_hold = int(round(len(unseen) * cfg.holdout_share)) if len(unseen) >= 5 else 0
    hold_ids = {li.interaction_id for li in unseen[len(unseen) - n_hold:]} if n_hold else set()
    frame, skipped = ranker_rows(engine, generator, labelled, cfg) if generator is not None else (pd.DataFrame(), 0)
    if len(frame):
        is_hold = frame["query_id"].isin(hold_ids)
        train, holdout = frame[~is_hold].reset_index(drop=True), frame[is_hold].reset_index(drop=True)
        positives = frame.loc[frame["label"] > 0.5, "kind"].value_counts().to_dict()
    else:
        train = holdout = frame
        positives = {}
    nlu_rows = good_conversation_rows([li for li in labelled if li.interaction_id not in hold_ids],
                                      cfg.min_satisfaction)
    return IncrementalData(train, holdout, nlu_rows, n, n - n_hold, n_hold,
                           {k: int(v) for k, v in positives.items()}, (start, end), skipped)
