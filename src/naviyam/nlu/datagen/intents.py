"""The generator's intents: a draft (pieces and gold filters) per intent, then rendered with noise."""

from __future__ import annotations

import re as _re
from collections.abc import Iterator
from typing import Any

from naviyam.nlu.datagen.phrases import (
    BUDGET_FRAMES,
    BUDGET_VALUES,
    BYE,
    COUPON_BARE,
    COUPON_Q,
    DECOY_ADJ,
    DECOY_HEAD,
    FEEDBACK_BARE,
    FEEDBACK_PAY,
    FEEDBACK_S,
    FOLLOW_FOOD,
    FOLLOW_SORT,
    FOOD_CTX,
    GENERIC_FOOD,
    GREET,
    HEADS,
    HELP,
    INTRO,
    MENU_Q,
    OOS,
    REQ,
    RESET,
    SHOP_OPEN_Q,
    SHOP_PAY_Q,
    SHOP_Q,
    TAIL,
    WANT,
)
from naviyam.nlu.datagen.pieces import Draft, P, Piece, merge_filters, money_surface
from naviyam.nlu.datagen.render import render
from naviyam.nlu.datagen.slots import SlotSampler

# ---------------------------------------------------------------- the generator


class Generator(SlotSampler):
    """Generates NLU examples; ``rng`` decides everything, so a seed reproduces a data set."""

    def food_recommendation(self) -> Draft:
        d = Draft("FOOD_RECOMMENDATION")
        r = self.rng.random()
        if r < 0.06:
            d.add(self.pick(GENERIC_FOOD))
            return d
        if r < 0.09:
            return self.hungry()
        if r < 0.2:
            return self.follow_up()
        k = self.rng.choices([0, 1, 2, 3, 4], weights=[1, 4, 4, 2, 1])[0]
        mods = self._modifiers(k)
        has_food = self.chance(0.65)
        excl = self.chance(0.15)
        parts: list[list[Piece]] = []
        for m in mods:
            pieces, f = getattr(self, m)()
            merge_filters(d.filters, f)
            parts.append(pieces)
        if self.chance(0.15):
            parts.insert(self.rng.randrange(len(parts) + 1), [P(self.pick(DECOY_ADJ))])
        self.rng.shuffle(parts)
        d.add(self.pick(INTRO))
        if excl:
            pieces, f = self.exclusion()
            merge_filters(d.filters, f)
            d.pieces += pieces
            d.add(" ")
        style = self.rng.random()  # drawn with or without a food word: the same seed gives the same data
        if has_food:
            self._with_food(d, parts, style)
        else:
            _add_parts(d, parts)
            if self.chance(0.2):
                d.add(self.pick(DECOY_HEAD), " ", self.pick(REQ))
            else:
                d.add(self.pick(HEADS), " ", self.pick(REQ + ["없나", "있을까"]))
        d.add(self.pick(TAIL))
        return d

    def _with_food(self, d: Draft, parts: list[list[Piece]], style: float) -> None:
        """The request around a food word: modifiers before it, after it, or it inside a carrier phrase."""
        fp, f = self.food()
        merge_filters(d.filters, f)
        if style < 0.45:
            _add_parts(d, parts)
            ctx = self.pick(FOOD_CTX)
            pre, post = ctx.split("{f}")
            d.add(pre)
            d.pieces += fp
            if post:
                d.add(post, " ", self.pick(HEADS), " ", self.pick(REQ))
            else:
                d.add(" ", self.pick(REQ + WANT))
        elif style < 0.75:
            d.pieces += fp
            d.add(self.pick(["", " ", "은 ", "는 ", "을 ", "를 ", "으로 ", "로 "]))
            _add_parts(d, parts)
            d.add(self.pick(WANT + REQ + ["먹을 데 " + self.pick(REQ)]))
        else:
            _add_parts(d, parts)
            d.pieces += fp
            d.add(self.pick(["", " ", " 먹을 ", " 파는 ", "집 " if fp[0].label == "DISH" else " "]))
            d.add(self.pick(HEADS + [""]), " ", self.pick(REQ))

    def hungry(self) -> Draft:
        d = Draft("FOOD_RECOMMENDATION")
        d.add(self.pick(INTRO))
        if self.chance(0.5):
            s = self.pick(["출출해", "출출하다", "출출한데", "출출"])
            d.add(Piece(s, "TIME", "snack"), self.pick(["", " 뭐 먹지", "ㅠㅠ", " 먹을 거 추천", " 뭐 사 먹을까"]))
            d.filters["time_of_day"] = "snack"
        else:
            v = "meal_card" if self.chance(0.7) else "coupon"
            d.add(Piece(self.pick(self.pay[v]), "PAY", v),
                  self.pick([" 되는 곳 알려줘", " 되는 데", " 되는 곳", " 받는 곳 알려주세요", " 쓸 수 있는 데 있어?",
                             " 사용 가능한 곳 찾아줘", " 되는 식당 알려줘요", " 가맹점 알려줘", " 되는 데 어디야",
                             " 받는 식당 있어?"]))
            d.filters["payment_method"] = v
        d.add(self.pick(TAIL))
        return d

    def follow_up(self) -> Draft:
        d = Draft("FOOD_RECOMMENDATION")
        r = self.rng.random()
        if r < 0.3:
            fp, f = self.food()
            frame = self.pick(FOLLOW_FOOD)
            pre, post = frame.split("{f}")
            if post[:1] in ("는", "은"):
                post = ("은" if self._has_final(fp[0].text) else "는") + post[1:]
            if post[:1] == "로" and self._has_final(fp[0].text) and fp[0].text[-1] != "ㄹ":
                post = "으" + post
            d.add(pre)
            d.pieces += fp
            d.add(post)
            merge_filters(d.filters, f)
        elif r < 0.5:
            v = self.pick(list(FOLLOW_SORT))
            s = self.pick(FOLLOW_SORT[v])
            # Tag the sort word inside the fixed phrase.
            for w in sorted(self.sort[v], key=len, reverse=True):
                if w in s:
                    i = s.index(w)
                    d.add(s[:i], Piece(w, "SORT", v), s[i + len(w):])
                    break
            else:
                d.add(s)
            d.filters["sort"] = v
        elif r < 0.62:
            pieces, f = self.exclusion()
            d.pieces += pieces
            merge_filters(d.filters, f)
            d.add(self.pick(["", " 딴 거", " 다른 거", " 추천해줘", " 다른 데"]))
        elif r < 0.72:
            d.add(self.pick(RESET))
        else:
            m = self.pick(["location", "companion", "party", "time_of_day", "dietary", "payment", "open_now",
                           "budget_mod", "good_shop"])
            pieces, f = getattr(self, m)()
            d.pieces += pieces
            merge_filters(d.filters, f)
            d.add(self.pick(["", "는?", " 데로", " 곳으로", " 갈 거야", " 데는?", "로 다시", " 위주로", " 곳만", "요"]))
        d.add(self.pick(TAIL[:8]))
        return d

    def budget_inquiry(self) -> Draft:
        d = Draft("BUDGET_FOOD_INQUIRY")
        d.add(self.pick(INTRO))
        if self.chance(0.12):
            piece, v = self.money_range()
            money = [piece]
        else:
            v = self.pick(BUDGET_VALUES)
            money = [Piece(money_surface(self.rng, v, bare_ok=True), "BUDGET", str(v))]
        d.filters["budget_filter"] = v
        pre_frame, ends = self.pick(BUDGET_FRAMES)
        pre, post = pre_frame.split("{m}")
        end = self.pick(ends)
        mods = self._modifiers(self.rng.choices([0, 1, 2], weights=[4, 4, 1])[0],
                               exclude=("budget_mod", "sort_by", "good_shop", "open_now"))
        parts = []
        for m in mods:
            pieces, f = getattr(self, m)()
            merge_filters(d.filters, f)
            parts.append(pieces)
        if self.chance(0.5):
            for p in parts:
                d.pieces += p
                d.add(" ")
            parts = []
        d.add(pre)
        d.pieces += money
        d.add(post)
        for p in parts:
            d.pieces += p
            d.add(" ")
        if "{x}" in end:
            fp, f = self.food()
            merge_filters(d.filters, f)
            a, b = end.split("{x}")
            d.add(a)
            d.pieces += fp
            d.add(b)
        else:
            d.add(end)
        d.add(self.pick(TAIL))
        return d

    def shop(self) -> Piece:
        if self.shop_pool and self.chance(0.45):
            name = self.pick(self.shop_pool)
        else:
            name = self.pick(self.lex.shop_prefixes) + self.pick(self.lex.shop_suffixes)
            if self.chance(0.08):
                name += self.pick([" " + self.pick(self.lex.landmark_prefixes) + "점", " 본점", " 2호점"])
        return Piece(name, "SHOP", name, noisy=False)

    def _fill_shop(self, d: Draft, frame: str, extra: dict[str, list[Piece]] | None = None) -> None:
        for tok in _re.split(r"(\{[a-z]\})", frame):
            if tok == "{s}":
                sp = self.shop()
                d.pieces.append(sp)
                d.filters["shop_name"] = sp.text
            elif extra and tok in extra:
                d.pieces += extra[tok]
            elif tok:
                # particle after a shop name: 은/는, 이/가 by final consonant
                if d.pieces and d.pieces[-1].label == "SHOP" and tok[:1] in ("은", "는"):
                    tok = ("은" if self._has_final(d.pieces[-1].text) else "는") + tok[1:]
                d.add(tok)

    def menu_inquiry(self) -> Draft:
        d = Draft("MENU_INQUIRY")
        d.add(self.pick(INTRO[:12]))
        frame = self.pick(MENU_Q)
        extra = {}
        if "{d}" in frame:
            dish = self.pick(list(self.dish_surfaces))
            extra["{d}"] = [Piece(self.surface(dish, self.dish_surfaces[dish], 0.8), "DISH", dish)]
            merge_filters(d.filters, {"menu": dish, "category": self.lex.dish_category[dish]})
        self._fill_shop(d, frame, extra)
        d.add(self.pick(TAIL[:10]))
        return d

    def shop_info(self) -> Draft:
        d = Draft("SHOP_INFO")
        d.add(self.pick(INTRO[:12]))
        r = self.rng.random()
        if r < 0.25:
            v = "meal_card" if self.chance(0.8) else "coupon"
            s = self.pick(self.pay[v])
            frame = self.pick(SHOP_PAY_Q)
            self._fill_shop(d, frame, {"{p}": [Piece(s, "PAY", v)]})
            d.filters["payment_method"] = v
        elif r < 0.32:
            o = self.pick(["지금 열었", "지금 문 열었", "지금 영업 중이", "지금 하"])
            frame = self.pick(SHOP_OPEN_Q)
            self._fill_shop(d, frame, {"{o}": [Piece(o, "OPEN", "true")]})
            d.filters["open_now"] = True
        else:
            self._fill_shop(d, self.pick(SHOP_Q))
        d.add(self.pick(TAIL[:10]))
        return d

    def coupon_inquiry(self) -> Draft:
        d = Draft("COUPON_INQUIRY")
        d.add(self.pick(INTRO[:8]))
        if self.chance(0.12):
            d.add(self.pick(COUPON_BARE))
        else:
            v = "meal_card" if self.chance(0.55) else "coupon"
            s = self.pick(self.pay[v])
            frame = self.pick(COUPON_Q)
            pre, post = frame.split("{p}")
            if post.startswith("로") and self._has_final(s):
                post = "으" + post
            d.add(pre, Piece(s, "PAY", v), post)
            d.filters["payment_method"] = v
        d.add(self.pick(TAIL[:10]))
        return d

    def junk(self) -> Draft:
        """Input that is not a request at all: emoji, Latin/Chinese text, code, keyboard mashing."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.2:
            s = "".join(rng.choice("😀😂🤣😍🥺😭👍🙏🔥💯✨🎉❤️🐶🍀⭐") for _ in range(rng.randint(1, 6)))
        elif kind < 0.4:
            s = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz     ") for _ in range(rng.randint(2, 40))).strip() or "abc"
        elif kind < 0.5:
            s = rng.choice(["你好", "我想吃饭", "谢谢", "こんにちは", "ありがとう", "привет", "hola amigo", "bonjour"])
        elif kind < 0.65:
            s = rng.choice(["'; DROP TABLE shop; --", "<script>alert(1)</script>", "SELECT * FROM users", "<b>hi</b>",
                            "{\"a\": 1}", "../../etc/passwd", "rm -rf /", "print('hi')", "1=1 OR", "<div></div>",
                            "http://example.com", "www.naver.com", "test@test.com", "#$%^&*", "!!!!", "????", "....."])
        elif kind < 0.8:
            s = "".join(rng.choice("ㅁㄴㅇㄹㅋㅌㅊㅍㅗㅓㅏㅣ") for _ in range(rng.randint(2, 8)))
        elif kind < 0.9:
            s = str(rng.randint(0, 10**rng.randint(1, 9)))
        else:
            s = rng.choice(["x", "a", "ㅇ", "?", ".", "ㅋ", "ㅎ", "z", "아", "음", "어", "으"]) * rng.randint(1, 30)
        return Draft("OUT_OF_SCOPE").add(s)

    def simple(self, intent: str, pool: list[str]) -> Draft:
        d = Draft(intent)
        if intent == "OUT_OF_SCOPE" and self.chance(0.25):
            return self.junk()
        s = self.pick(pool)
        if intent == "GREETING" and self.chance(0.1):
            s = s + " " + self.pick(["나비얌", "반가워", "ㅎㅎ"])
        d.add(s, self.pick(TAIL[:12]))
        return d

    def feedback(self) -> Draft:
        d = Draft("FEEDBACK")
        r = self.rng.random()
        if r < 0.35:
            d.add(self.pick(FEEDBACK_BARE))
        elif r < 0.45:
            v = "meal_card"
            s = self.pick(self.pay[v])
            self._fill_shop(d, self.pick(FEEDBACK_PAY), {"{p}": [Piece(s, "PAY", v)]})
            d.filters["payment_method"] = v
        else:
            self._fill_shop(d, self.pick(FEEDBACK_S))
        d.add(self.pick(TAIL[:12]))
        return d

    def draft(self, intent: str) -> Draft:
        if intent == "FOOD_RECOMMENDATION":
            return self.food_recommendation()
        if intent == "BUDGET_FOOD_INQUIRY":
            return self.budget_inquiry()
        if intent == "MENU_INQUIRY":
            return self.menu_inquiry()
        if intent == "SHOP_INFO":
            return self.shop_info()
        if intent == "COUPON_INQUIRY":
            return self.coupon_inquiry()
        if intent == "FEEDBACK":
            return self.feedback()
        pools = {"GREETING": GREET, "GOODBYE": BYE, "HELP": HELP, "OUT_OF_SCOPE": OOS}
        return self.simple(intent, pools[intent])

    # -- rendering with noise
    def render(self, d: Draft) -> dict[str, Any]:
        return render(self.rng, d)

    def generate(self, n: int, intent_weights: dict[str, float] | None = None) -> Iterator[dict[str, Any]]:
        w = intent_weights or DEFAULT_INTENT_WEIGHTS
        intents = list(w)
        weights = [w[i] for i in intents]
        for _ in range(n):
            intent = self.rng.choices(intents, weights=weights)[0]
            yield self.render(self.draft(intent))


def _add_parts(d: Draft, parts: list[list[Piece]]) -> None:
    for p in parts:
        d.pieces += p
        d.add(" ")


DEFAULT_INTENT_WEIGHTS = {
    "FOOD_RECOMMENDATION": 0.40, "BUDGET_FOOD_INQUIRY": 0.12, "MENU_INQUIRY": 0.08, "SHOP_INFO": 0.10,
    "COUPON_INQUIRY": 0.06, "GREETING": 0.04, "GOODBYE": 0.04, "HELP": 0.04, "FEEDBACK": 0.06,
    "OUT_OF_SCOPE": 0.06,
}

