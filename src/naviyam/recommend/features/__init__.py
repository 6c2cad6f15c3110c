"""Wide & Deep features: the one module that training and serving both call.

The layout is documented below and in docs/architecture.md.

Wide vector (``WIDE_DIM`` = 50): slots 0-32 are defined below, 33-49 are zero
padding reserved for later features.

====  =======================  ==============================================================
slot  name                     value
====  =======================  ==============================================================
0     age_group_x_category     (n[g, c] + 1) / (max_c' n[g, c'] + 1): orders of the user's age
                               group g in the shop's category c, relative to that group's most
                               ordered category (1.0 for every category while g has no data)
1     location_x_district      (orders of the user in the shop's 구 + [shop 구 == home 구])
                               / (orders of the user + 1)
2     time_x_category          (n[t, c] + 1) / (max_c' n[t, c'] + 1) for the time of day t
                               (the NLU's time_of_day when the user said one, else the clock)
3     user_x_shop_history      min(1, (orders of the user at the shop + 2 * favourite + f) / 5),
                               f = the user's own chat feedback on the shop: 1 per click, 1 per
                               order, 2 per favourite (FEEDBACK_SIGNAL_WEIGHTS)
4     budget_compatibility     1.0 when the cheapest real menu fits the budget B, else
                               max(0, 1 - (cheapest - B) / B). B = the NLU budget_filter, else
                               the user's mean order amount; 0.5 when neither is known
5     distance                 exp(-d / 1000 m) from the request position (context lat/lon, else
                               the user's home area); 0.0 when no position is known
6     dietary_match            mean over the asked dietary preferences of the share of the
                               shop's menus that fit it; 0.5 when none was asked
7     good_shop                0.3 for a 착한가게, else 0 (bias-corrected: the raw flag 1.0 is
                               damped to 0.3 so the ranker does not push good shops blindly)
8     rating                   (rating - 3.5) / 1.5 when the mean rating >= 3.5, else 0.0
                               (also 0.0 without reviews)
9-12  funnel flags             1.0 when the collaborative / content / contextual / popularity
                               funnel produced the candidate
13-16 funnel scores            that funnel's normalised score in [0, 1] (0.0 when absent)
17-18 item-kNN flag, score     as 9-16 for the item-kNN (co-visitation) funnel
19-23 funnel ranks             1 / log2(rank + 2) of the shop in each funnel's own list
                               (collaborative, content, contextual, popularity, item-kNN); 0 when absent
24-25 shop_orders_7d / 30d     the shop's orders in the last 7 / 30 days as a lift over the average
                               shop, squashed: x / (1 + x) with x = n_shop * n_shops / n_all
26    shop_recency             exp(-days since the shop's last order / 7); 0 without orders
27    itemknn_similarity       the shop's item-kNN similarity to the user's history as of the request
                               (the state's, not the funnel's: orders, favourites, good reviews
                               and shops the user chose in chat), divided by the largest over the
                               catalogue (0 for users without history)
28    shop_popularity          all-time orders as a lift over the average shop, squashed as 24
29    user_x_category          share of the user's orders and weighted chat feedback (as in 3) in
                               the shop's category
30    layer1_score             Layer 1's merged score in [0, 1] (0 for a shop Layer 1 did not propose),
                               so the ranker starts from the order it must improve on
31    user_x_shop_feedback     min(1, f / 5) with f as in 3: the chat feedback alone
32    user_x_shop_dismissed    min(1, times the user dismissed the shop in chat / 2)
====  =======================  ==============================================================

Numerical features (``NUM_DIM`` = 10), value / scale clipped to [0, 1]: user
age / 100, favourites / 50, orders / 100, reviews / 50; shop average menu
price / 50000, menu count / 30, rating / 5, review count / 1000, order count
/ 1000, operating hours / 24.

Deep inputs (embedded by the model): user id, shop id, brand id, category and
the semantic query text.

Every count is *as of* the request time: :class:`InteractionState` is replayed
event by event when the training set is built, and loaded whole for serving,
so the same code computes the same numbers in both places. Chat feedback
(slots 3, 27, 29, 31, 32) counts only for the user who gave it; the full
training set reads none (its examples are orders, favourites and reviews), the
nightly incremental data replays it up to each interaction, and a running
service reads the feedback given since it loaded its state when it next
reloads it (:meth:`naviyam.service.runtime.Runtime.refresh`).
"""

from __future__ import annotations

from naviyam.recommend.features.builder import (  # noqa: F401 - the package's names
    FeatureBuilder,
    SimilaritySource,
    iter_wide_names,
    make_query,
)
from naviyam.recommend.features.definitions import (  # noqa: F401 - the package's names
    AGE_GROUPS,
    DIETARY_PREFERENCES,
    DISMISS_SATURATION,
    DISTANCE_SCALE_M,
    EXTRA_FUNNELS,
    FAVOURITE_WEIGHT,
    FEATURE_VERSION,
    FEEDBACK_SIGNAL_WEIGHTS,
    GOOD_REVIEW_RATING,
    GOOD_SHOP_VALUE,
    HISTORY_SATURATION,
    NUM_COLUMNS,
    NUM_DIM,
    NUM_NAMES,
    NUM_SCALES,
    RANKED_FUNNELS,
    RATING_THRESHOLD,
    SEED_FUNNELS,
    TIME_BUCKETS,
    WIDE_COLUMNS,
    WIDE_DIM,
    WIDE_NAMES,
    CandidateLike,
    FeatureRows,
    RankingQuery,
    UserInfo,
    W,
    age_at,
    age_group,
    budget_compatibility,
    candidate_funnels,
    distance_feature,
    good_shop_feature,
    history_feature,
    log,
    rating_feature,
    time_bucket,
)
from naviyam.recommend.features.state import (  # noqa: F401 - the package's names
    FEATURE_FEEDBACK_TYPES,
    Event,
    InteractionState,
    event_marks,
    load_events,
)
