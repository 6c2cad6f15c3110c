"""Small helpers of the generator: Korean particles, rounding, sampling, place points."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from naviyam.core import geo
from naviyam.core.text import has_batchim
from naviyam.data.world.catalogue import DISTRICTS, _district_weights
from naviyam.progress import Reporter


def _josa(word: str, pair: str) -> str:
    """Korean particle after ``word``: pair "이가" -> 이/가, "은는" -> 은/는."""
    return pair[0] if has_batchim(word, last_hangul=True) else pair[1]


def _round500(x: np.ndarray | float) -> np.ndarray:
    return (np.rint(np.asarray(x, dtype=float) / 500.0) * 500).astype(np.int64)


def _pick(rng: np.random.Generator, seq: Sequence, p: Sequence[float] | None = None):
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return seq[int(rng.choice(len(seq), p=p))]


def _parse_hhmm(s: str) -> int:
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def _dong_stem(dong: str) -> str:
    """"사당1동" -> "사당", "신림동" -> "신림", "종로1·2·3·4가동" -> "종로"."""
    stem = re.sub(r"(\d+(·\d+)*가)?(\d+(·\d+)*|본)?동$", "", dong)
    return stem or dong


def _place_points(rng: np.random.Generator, n: int, jitter_km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points around dong centres: district by DISTRICT_WEIGHTS, 동 uniform, relabelled to the nearest 동.

    Returns (lat, lon, dong index into geo.dong_table()). The first min(n, 25)
    points cover every district once, so small worlds still span Seoul.
    """
    dongs = geo.dong_table()
    seoul = geo.load_seoul()
    by_district = {d: [i for i, x in enumerate(dongs) if x.district == d] for d in DISTRICTS}
    first = np.arange(min(n, len(DISTRICTS)))
    rest = rng.choice(len(DISTRICTS), size=n - len(first), p=_district_weights())
    district_idx = np.concatenate([rng.permutation(first), rest]) if n else np.zeros(0, dtype=np.int64)
    src = np.array([by_district[DISTRICTS[k]][int(rng.integers(len(by_district[DISTRICTS[k]])))]
                    for k in district_idx], dtype=np.int64)
    base_lat = np.array([dongs[i].lat for i in src])
    base_lon = np.array([dongs[i].lon for i in src])
    lat, lon = base_lat.copy(), base_lon.copy()
    todo = np.arange(n)
    km_lat = 1 / 110.95
    km_lon = 1 / (111.32 * math.cos(math.radians(37.55)))
    nearest = np.empty(n, dtype=np.int64)
    for _ in range(8):
        if todo.size == 0:
            break
        lat[todo] = np.round(base_lat[todo] + rng.normal(0, jitter_km, todo.size) * km_lat, 6)
        lon[todo] = np.round(base_lon[todo] + rng.normal(0, jitter_km, todo.size) * km_lon, 6)
        nearest[todo] = geo.nearest_dong_indices(lat[todo], lon[todo])
        nd = np.array([dongs[i] for i in nearest[todo]], dtype=object)
        dist = geo.haversine_m(lat[todo], lon[todo], np.array([d.lat for d in nd]), np.array([d.lon for d in nd]))
        radius_ok = np.array([seoul[d.district].contains(a, b) for d, a, b in zip(nd, lat[todo], lon[todo], strict=False)])
        ok = (dist <= 600.0) & radius_ok
        todo = todo[~ok]
    # whatever is left sits on its 동 centre (always inside, always its own nearest 동)
    lat[todo], lon[todo], nearest[todo] = base_lat[todo], base_lon[todo], src[todo]
    return lat, lon, nearest


def _report(progress: Reporter | None, stage: str, done: int, total: int, every: int = 250) -> None:
    if progress is not None and (done == total or done % every == 0):
        progress(stage, done, total)

