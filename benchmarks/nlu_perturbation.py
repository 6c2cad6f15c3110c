"""NLU indifference to children's typing, with and without masking their decorations.

Parses our evaluation sentences (tests/nlu/test_children_typing.py's and the
single-turn contract examples) clean and with openers, endings, emoji, no spaces
and drawn-out endings, using the production NLU of the configured database:

    NAVIYAM_VAR_DIR=var .venv/bin/python benchmarks/nlu_perturbation.py

Prints JSON: for masking off ("before") and on ("after"), the share of perturbed
sentences whose intent, and intent + filters, equal the clean sentence's.
"""

from __future__ import annotations

import json
from pathlib import Path

from naviyam.config import get_settings
from naviyam.core.registry import ModelRegistry
from naviyam.db.session import get_engine, migrate
from naviyam.nlu import features, load_parser
from naviyam.nlu.perturb import invariance

SENTENCES = [
    "떡볶이 먹고 싶어", "급식카드 되는 치킨집 추천해줘", "만원으로 뭐 먹지", "학교 근처 분식집 알려줘", "잘가",
    "뭐 할 수 있어?", "안녕", "고마워", "행복분식 몇 시까지 해?", "더 싼 데는?", "중국집 말고 다른 거 추천해줘",
    "안 매운 거 추천해줘", "5천원으로 먹을 수 있는 거", "돈까스 먹을래", "피자 먹고 싶어",
]
CONTRACT_EXAMPLES = Path("/work/shared/contracts/nlu_examples.jsonl")


def main() -> None:
    settings = get_settings()
    engine = get_engine()
    migrate(engine)
    parser = load_parser(ModelRegistry(engine, settings.models_dir), fallback="error")
    sentences = list(SENTENCES)
    if CONTRACT_EXAMPLES.exists():
        rows = [json.loads(x) for x in CONTRACT_EXAMPLES.read_text(encoding="utf-8").splitlines()]
        sentences += [r["turns"][0] for r in rows if len(r["turns"]) == 1]
    out = {"nlu_version": getattr(parser, "version", None), "sentences": len(sentences)}
    for label, mask in (("before", False), ("after", True)):
        features.MASK_DECORATIONS = mask
        res = invariance(parser.parse, sentences)
        out[label] = {"perturbed": res["n"], "intent_same": round(res["intent_same"], 4),
                      "intent_and_filters_same": round(res["all_same"], 4), "misses": res["misses"][:5]}
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
