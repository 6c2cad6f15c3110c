"""Seoul geography: districts (구), administrative 동, landmarks and distances.

The data lives in ``naviyam/resources/seoul.json``: for each of the 25 구 the
district office location (``center``), a radius that contains every listed
point, its administrative 동 with approximate centres and well-known
landmarks (stations, schools, universities, parks). The NLU uses the names as
a gazetteer; retrieval and the sample-world generator use the coordinates.

Coordinates are approximate (a few hundred metres): good for "near",
distance ranking and picking a district, not for surveying.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8

LANDMARK_KINDS = ("station", "school", "university", "park", "other")

#: Colloquial (legal) 동 names that the numbering rule in :func:`dong_aliases`
#: cannot derive, mapped to the administrative 동 they cover.
_EXTRA_DONG_ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "봉천동": ("관악구", ("보라매동", "청림동", "성현동", "행운동", "낙성대동", "청룡동", "은천동", "중앙동", "인헌동")),
    "여의도동": ("영등포구", ("여의동",)),
    "마곡동": ("강서구", ("가양1동", "발산1동")),
}
#: Stems the numbering rule would turn into names nobody uses ("종로동").
_NO_ALIAS_STEMS = {"종로", "원효로"}
_NUMBERED_DONG = re.compile(r"^(?P<stem>.+?)(?:\d+(?:·\d+)*가)?(?:\d+(?:·\d+)*|본)?동$")


@dataclass(frozen=True, slots=True)
class Dong:
    name: str
    district: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Landmark:
    name: str
    kind: str
    district: str
    dong: str
    lat: float
    lon: float
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class District:
    name: str
    center: tuple[float, float]
    radius_km: float
    dongs: tuple[Dong, ...]
    landmarks: tuple[Landmark, ...]

    @property
    def lat(self) -> float:
        return self.center[0]

    @property
    def lon(self) -> float:
        return self.center[1]

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point lies within ``radius_km`` of the district's center."""
        return haversine_m(self.lat, self.lon, lat, lon) <= self.radius_km * 1000.0


@dataclass(frozen=True)
class Seoul:
    #: District name -> District, in the order of taxonomy.json's districts_seoul.
    districts: dict[str, District]

    def __getitem__(self, name: str) -> District:
        return self.districts[name]


def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres.

    Accepts floats (returns a float) or numpy arrays that broadcast together
    (returns an array), so one function serves both lookups and vectorised
    distance matrices.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    d = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d



def distances_from_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres from one point to many (the ranker's distance feature).

    The same formula as :func:`haversine_m`, with the one origin's trigonometry done in Python
    floats; the rounding differs from it in the last bits, and the ranker's features keep this one.
    """
    p1, p2 = math.radians(lat), np.radians(lats)
    dphi = p2 - p1
    dlmb = np.radians(lons) - math.radians(lon)
    a = np.sin(dphi / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))

@lru_cache(maxsize=1)
def load_seoul() -> Seoul:
    """Read ``resources/seoul.json`` once and return typed, immutable objects."""
    raw = json.loads(resources.files("naviyam.resources").joinpath("seoul.json").read_text(encoding="utf-8"))
    districts: dict[str, District] = {}
    for name, d in raw["districts"].items():
        dongs = tuple(Dong(x["name"], name, float(x["lat"]), float(x["lon"])) for x in d["dongs"])
        landmarks = tuple(
            Landmark(
                x["name"], x["kind"], name, x["dong"], float(x["lat"]), float(x["lon"]), tuple(x.get("aliases", ()))
            )
            for x in d["landmarks"]
        )
        districts[name] = District(name, (float(d["center"][0]), float(d["center"][1])), float(d["radius_km"]),
                                   dongs, landmarks)
    return Seoul(districts)


def district_names() -> list[str]:
    return list(load_seoul().districts)


def get_district(name: str) -> District:
    """The district called ``name`` (e.g. "관악구"); KeyError if unknown."""
    return load_seoul().districts[name]


def all_dongs() -> list[tuple[str, str]]:
    """Every administrative 동 as (dong, district); a name may occur in two 구 (신사동)."""
    return [(d.name, d.district) for dist in load_seoul().districts.values() for d in dist.dongs]


def all_landmarks() -> list[Landmark]:
    return [lm for dist in load_seoul().districts.values() for lm in dist.landmarks]


@lru_cache(maxsize=1)
def _landmark_index() -> dict[str, Landmark]:
    index: dict[str, Landmark] = {}
    for lm in all_landmarks():
        for key in (lm.name, *lm.aliases):
            index.setdefault(_norm(key), lm)
    return index


def _norm(name: str) -> str:
    return re.sub(r"\s+", "", name)


def find_landmark(name: str) -> Landmark | None:
    """A landmark by its name or an alias ("서울대" -> 서울대학교); spaces are ignored.

    A station may be named without its final 역 ("서울대입구" -> 서울대입구역).
    """
    index = _landmark_index()
    key = _norm(name)
    found = index.get(key)
    if found is None and not key.endswith("역"):
        found = index.get(key + "역")
        if found is not None and found.kind != "station":
            found = None
    return found


@lru_cache(maxsize=1)
def dong_aliases() -> dict[str, tuple[Dong, ...]]:
    """Colloquial 동 names mapped to the administrative 동 they cover.

    Numbered administrative 동 give their common name ("사당1동".."사당5동" ->
    "사당동", "상계3·4동" -> "상계동", "성수1가1동" -> "성수동"), plus a few
    legal names used every day ("봉천동", "여의도동").
    """
    seoul = load_seoul()
    groups: dict[str, list[Dong]] = {}
    for dist in seoul.districts.values():
        for d in dist.dongs:
            m = _NUMBERED_DONG.match(d.name)
            if not m or m["stem"] in _NO_ALIAS_STEMS:
                continue
            alias = m["stem"] + "동"
            if alias != d.name:
                groups.setdefault(alias, []).append(d)
    for alias, (district, names) in _EXTRA_DONG_ALIASES.items():
        by_name = {d.name: d for d in seoul.districts[district].dongs}
        groups[alias] = [by_name[n] for n in names]
    return {k: tuple(v) for k, v in groups.items()}


def find_dongs(name: str) -> list[Dong]:
    """The administrative 동 a name refers to: the 동 itself and the 동 its colloquial use covers.

    "사당동" -> 사당1동..사당5동; "삼성동" -> 관악구 삼성동, 강남구 삼성1동 and
    삼성2동 (exact matches first). Empty when unknown.
    """
    key = _norm(name)
    exact = [d for dist in load_seoul().districts.values() for d in dist.dongs if d.name == key]
    return exact + [d for d in dong_aliases().get(key, ()) if d not in exact]


@lru_cache(maxsize=1)
def _dong_arrays() -> tuple[tuple[Dong, ...], np.ndarray, np.ndarray]:
    dongs = tuple(d for dist in load_seoul().districts.values() for d in dist.dongs)
    return dongs, np.array([d.lat for d in dongs]), np.array([d.lon for d in dongs])


def nearest_dong(lat: float, lon: float) -> Dong:
    dongs, lats, lons = _dong_arrays()
    return dongs[int(np.argmin(haversine_m(lat, lon, lats, lons)))]


def nearest_dong_indices(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Vectorised :func:`nearest_dong`: indices into :func:`dong_table`'s order."""
    _, dlat, dlon = _dong_arrays()
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    out = np.empty(lats.shape[0], dtype=np.int64)
    for start in range(0, lats.shape[0], 4096):
        sl = slice(start, start + 4096)
        out[sl] = np.argmin(haversine_m(lats[sl, None], lons[sl, None], dlat[None, :], dlon[None, :]), axis=1)
    return out


def dong_table() -> tuple[Dong, ...]:
    """Every administrative 동 in a fixed order (districts in taxonomy order)."""
    return _dong_arrays()[0]


def locate(lat: float, lon: float) -> str:
    """The district a point lies in: the district of its nearest 동 centre.

    Nearest 동 (about 420 points) follows the real borders far better than
    nearest district office; points outside Seoul get the closest district.
    """
    return nearest_dong(lat, lon).district


__all__ = [
    "EARTH_RADIUS_M",
    "LANDMARK_KINDS",
    "District",
    "Dong",
    "Landmark",
    "Seoul",
    "all_dongs",
    "all_landmarks",
    "district_names",
    "dong_aliases",
    "dong_table",
    "find_dongs",
    "find_landmark",
    "get_district",
    "haversine_m",
    "load_seoul",
    "locate",
    "nearest_dong",
    "nearest_dong_indices",
]
