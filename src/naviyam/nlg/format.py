"""Small Korean formatting helpers shared by answers and reasons."""

from __future__ import annotations

from naviyam.core.text import particle

#: Walking speed used for "걸어서 N분" (metres per minute; a child's pace).
WALK_M_PER_MIN = 70


def won(amount: int | float) -> str:
    """8000 → "8,000원"."""
    return f"{int(round(amount)):,}원"


def distance(metres: float) -> str:
    """350 → "350m", 1234 → "1.2km"."""
    return f"{int(round(metres, -1))}m" if metres < 1000 else f"{metres / 1000:.1f}km"


def walk_minutes(metres: float) -> int:
    return max(1, round(metres / WALK_M_PER_MIN))


def walk(metres: float) -> str:
    """"걸어서 5분" up to about 30 minutes, else the distance."""
    minutes = walk_minutes(metres)
    return f"걸어서 {minutes}분" if minutes <= 30 else distance(metres)


def price_range(low: int | None, high: int | None) -> str:
    if low is None:
        return "가격 정보 없음"
    return won(low) if high is None or high == low else f"{won(low)}~{won(high)}"


def topic_particle(word: str) -> str:
    """은/는 after ``word`` by its final consonant (Latin or digits: 은)."""
    return particle(word, "은", "는")


def subject_particle(word: str) -> str:
    return particle(word, "이", "가")
