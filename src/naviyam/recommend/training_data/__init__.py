"""The ranker's training set, built from the database.

Positives: orders, favourites and reviews rated >= 4 (a favourite or review
of a shop already ordered from is not a new choice and is left out). The
events of children without a guardian's consent and of erased users are
never read (:func:`naviyam.core.privacy.training_exclusions`), nor fitted
into the Layer 1 funnels the candidates come from.

Requests are asked the way the service and its evaluation ask them: time is
cut into windows of ``window_days``; at the start of each window Layer 1 is
refitted on everything before it, and every user who chooses a shop during
the window asks for recommendations *at the window's start*, with the
interaction counts as of then (:class:`~naviyam.recommend.features.InteractionState`
is replayed event by event). The ranker thus learns what a user will choose
in the coming days from what is known today, not the next click of a session.
The chatbot's understanding of each request is simulated from what was
chosen (:func:`simulate_nlu`: sometimes the category, the dish, a budget that
the menu fits, the meal card, the time of day; a share of requests say
nothing at all, like "오늘 뭐 먹지?"). The user's other choices in the same
window are never negatives; a shop chosen twice in a window counts once;
when Layer 1 leaves out shops a user already chose, so does the training set.

Negatives: Layer 1 is asked for candidates for that same request; shops it
proposed that were not chosen become negatives, eight per positive: one
*hard* (the best-ranked candidate of the same category, else the best
ranked) and the others drawn at random from the rest, so each positive is
ranked against a sample of the list it will be served in. One more comes
from the whole catalogue, so the ranker also learns what users choose
beyond Layer 1's list. A positive that Layer 1 did not propose is kept, not
thrown away: its negatives are then drawn from the catalogue outside Layer
1's list, so that no funnel flag ever separates a positive from its
negatives for a reason serving never sees.

Split: 8:2 by time. The cut-off is the time of the positive at the 80 %
quantile; windows start there again, every validation example is asked at or
after it, every training example strictly before it. Some validation *orders* also get their whole candidate
list written (``recommendation_val_ranking.csv``) for ranking metrics
(NDCG, HitRate, MRR) against the Layer 1 merge order and popularity.
"""

from __future__ import annotations

from naviyam.recommend.training_data.build import build_training_set, refit_funnels
from naviyam.recommend.training_data.config import TrainingDataConfig, TrainingSetReport
from naviyam.recommend.training_data.requests import simulate_nlu

__all__ = ["TrainingDataConfig", "TrainingSetReport", "build_training_set", "refit_funnels", "simulate_nlu"]
