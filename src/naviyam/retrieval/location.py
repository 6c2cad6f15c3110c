"""Where a request is about: landmarks, a user's home area, their school, their current position.

Coordinates come from the Seoul gazetteer (:mod:`naviyam.core.geo`); a 동 or
구 it does not know falls back to the centroid of the catalog's shops there,
so a database imported from the operator still works. The users table has no
school: "near school" is the school landmark nearest the user's home 동
(within 4.5 km), else the home area itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from naviyam.core import geo
from naviyam.core.geo import haversine_m
from naviyam.retrieval.catalog import ShopCatalog

log = logging.getLogger(__name__)

#: Radius of "near" a point: a landmark, the current position, the school.
NEAR_RADIUS_M = 1_000.0
#: Radius around the centre of the user's home 동.
HOME_RADIUS_M = 1_500.0


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    radius_m: float
    #: What it is, in Korean, for explanations ("서울대입구역", "집", "학교", "현재 위치").
    label: str


@dataclass(frozen=True)
class Gazetteer:
    """Dong centres and schools from :mod:`naviyam.core.geo`."""

    dongs: dict[tuple[str, str], tuple[float, float]]
    schools: np.ndarray  # (n, 2) lat, lon


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    seoul = geo.load_seoul()
    dongs = {(d.district, d.name): (d.lat, d.lon) for dist in seoul.districts.values() for d in dist.dongs}
    schools = [(lm.lat, lm.lon) for lm in geo.all_landmarks() if lm.kind == "school"]
    return Gazetteer(dongs, np.array(schools, dtype=np.float64).reshape(-1, 2))


def dong_names(name: str) -> tuple[str, ...]:
    """The administrative 동 a 동 word covers ("사당동" → 사당1동 … 사당5동), the word itself included."""
    return tuple(dict.fromkeys([name, *(d.name for d in geo.find_dongs(name))]))


class LocationResolver:
    """Turns location words and user homes into coordinates over one catalog."""

    def __init__(self, catalog: ShopCatalog):
        self.catalog = catalog
        self._dong_center: dict[tuple[str | None, str], tuple[float, float]] = {}
        self._district_center: dict[str, tuple[float, float]] = {}
        self._load_gazetteer()

    def _load_gazetteer(self) -> None:
        for (district, name), ll in gazetteer().dongs.items():  # noqa: B007
            self._dong_center[(district, name)] = ll
            self._dong_center.setdefault((None, name), ll)
        for dist in geo.load_seoul().districts.values():
            self._district_center[dist.name] = dist.center
        # centroids of the catalog fill what the gazetteer lacks
        cat = self.catalog
        for dist in set(cat.districts):
            rows = cat.district_array == dist
            self._district_center.setdefault(dist, (float(cat.lat[rows].mean()), float(cat.lon[rows].mean())))
        for dist, dong in set(zip(cat.districts, cat.dongs, strict=True)):
            if not dong:
                continue
            rows = (cat.dong_array == dong) & (cat.district_array == dist)
            ll = (float(cat.lat[rows].mean()), float(cat.lon[rows].mean()))
            self._dong_center.setdefault((dist, dong), ll)
            self._dong_center.setdefault((None, dong), ll)

    def dong_center(self, dong: str, district: str | None = None) -> tuple[float, float] | None:
        ll = self._dong_center.get((district, dong)) or self._dong_center.get((None, dong))
        if ll is None:  # a colloquial name ("사당동"): the mean of the 동 it covers
            found = [d for d in geo.find_dongs(dong) if district is None or d.district == district]
            if found:
                ll = (float(np.mean([d.lat for d in found])), float(np.mean([d.lon for d in found])))
        return ll

    def district_center(self, district: str) -> tuple[float, float] | None:
        return self._district_center.get(district)

    def home(self, district: str | None, dong: str | None) -> Place | None:
        """The centre of the user's home 동 (or 구 when the 동 is unknown)."""
        ll = self.dong_center(dong, district) if dong else None
        if ll is None and district:
            ll = self.district_center(district)
            if ll is not None:
                return Place(ll[0], ll[1], HOME_RADIUS_M * 2, "집")
        return Place(ll[0], ll[1], HOME_RADIUS_M, "집") if ll else None

    def landmark(self, name: str) -> Place | None:
        lm = geo.find_landmark(name)
        ll = (lm.lat, lm.lon) if lm is not None else None
        if ll is None:  # a 동 or 구 written as a landmark ("신림동 근처")
            ll = self.dong_center(name) or self.district_center(name)
        return Place(ll[0], ll[1], NEAR_RADIUS_M, name) if ll else None

    def school(self, home: Place | None) -> Place | None:
        """The school nearest the user's home (the users table has no school), else the home itself."""
        if home is None:
            return None
        schools = gazetteer().schools
        if len(schools):
            d = haversine_m(home.lat, home.lon, schools[:, 0], schools[:, 1])
            i = int(np.argmin(d))
            if d[i] <= 3 * HOME_RADIUS_M:
                return Place(float(schools[i, 0]), float(schools[i, 1]), NEAR_RADIUS_M, "학교")
        return Place(home.lat, home.lon, HOME_RADIUS_M, "학교")
