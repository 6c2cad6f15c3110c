"""A deterministic sample Seoul: shops, menus, users and their history.

``generate_world(engine, seed=...)`` fills an empty database; the same seed,
sizes and ``end_date`` give identical rows (only ``numpy.random`` streams
derived from the seed are used, never the wall clock).

The generative model
--------------------
*Places.* Districts are drawn with :data:`DISTRICT_WEIGHTS` (관악구 and 동작구
hold about a quarter of shops and users), a 동 uniformly within the
district, and a point jittered around the 동 centre; the point's 동 and 구
are then its *nearest* 동 centre, so ``dong``/``district`` always agree with
``lat``/``lon`` (see :func:`naviyam.core.geo.locate`).

*Shops.* A category from :data:`CATEGORY_SHARES` (every category at least
once), a brand for some (chains share one menu and price list), 4–15 menus
from :data:`MENU_CATALOG` priced inside :data:`MENU_PRICE_RANGES` (sides in
:data:`SIDE_PRICE_RANGE`), rounded to 500원, 1–3 signatures, opening hours
typical of the category (late-night shops close after midnight), sometimes a
weekly closing day. Exactly :data:`MEAL_CARD_SHARE` of shops accept the meal
card (weighted towards 분식/한식/도시락/중식) and :data:`GOOD_SHOP_SHARE` are
착한가게 (weighted towards meal-card shops). Each shop has a hidden quality
``q ~ N(0, 0.5)``.

*Users.* A segment (child 8–13, teen 14–19, parent 30–55, adult 20–70) fixes
the age, the chance of holding a meal card (children mostly, adults rarely),
the budget, the price sensitivity, the travel length and the rhythm of the
day. Hidden tastes are ``theta ~ Dirichlet(TASTE_CONCENTRATION *
segment_profile)`` over the categories; each user also has a personal mix of
meal slots (breakfast, lunch, snack, dinner, late night). :data:`CONSENT_SHARE`
of the users under 15 at the end have a guardian's consent on the day they
joined (``guardian_consent``, drawn from a stream of its own so the rest of
the world does not depend on it); the others are served minimised.

*Orders.* An active user places ``Poisson(Gamma)`` orders (mean 18–26 per 180
days by segment; about 10 % of users never order). Each order gets a day
(weekends and Fridays busier, slow growth over the window), a slot from the
user's mix (weekday/weekend profiles) and a minute inside it. Among the shops
within a few km of home that are *open* at that minute, the user picks
``argmax`` of a random-utility model::

    U(u, s) = log(theta_u[c_s] + 0.01)                 taste
            + TIME_AFFINITY[slot, c_s]                 e.g. 치킨 late, 카페 afternoon
            - dist(u, s) / travel_km_u                 distance decay
            - price_sensitivity_u * max(0, ln(price_s / budget_u))
            + meal-card holder: +1.6 if s accepts the card, -1.0 if not
            + 0.25 * good_shop_s + q_s + eps(u, s)     eps ~ N(0, 0.9), persistent
            + Gumbel noise

A menu is drawn by popularity (signatures x3, cheap ones for tight
budgets), a quantity (families order more portions), ``amount = price *
quantity``; card holders pay ``meal_card`` at shops that take it.

*Favourites* follow repeat orders (the more often, the likelier), plus a few
browsed favourites (also for users who never ordered). *Reviews* come from a
per-user propensity; the rating rises with taste match, shop quality and the
personal ``eps``; the Korean text is assembled from phrases that match the
rating, the dish and the payment.

Everything a recommender should learn is therefore in the data: who likes
which category, when, how far and at what price; which shops are good.
:func:`build_world` also returns the hidden parameters so tests (and
evaluation) can check that the signal is there.
"""
