"""What the service keeps of a turn when it must keep the least (a child under 14 without a guardian's consent).

The child is answered exactly as anyone else; only what is *stored* changes:

* no free text: the message and the answer are not kept, only what the NLU made of the message
  (intent, confidence, canonical entity values and filters) and the shops shown;
* no precise location: coordinates become the 동 and a ~1 km cell (two decimals of a degree), a
  named place (a school, a station) becomes its 동 in the stored NLU and in the dialogue state, and
  the state keeps only the nearest shown distance (what "더 가까운 곳" needs), not one per shop;
* the row is marked ``minimised``, so no training set, fitted model or learning export reads it.

Who is minimised: a database user under 14 without ``guardian_consent`` (:func:`naviyam.core.privacy.must_minimise`),
and, for one conversation, an unknown user who says they are a child ("나 초3인데",
:func:`naviyam.nlu.age.says_child`).
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from naviyam.core.clock import local_today
from naviyam.core.geo import find_landmark, nearest_dong
from naviyam.core.privacy import must_minimise
from naviyam.db.models import User
from naviyam.nlu.age import says_child

#: The one line the chat page shows a minimised child, in a child's words.
CHILD_NOTICE = ("보호자(엄마, 아빠 등)가 동의하기 전에는 네가 쓴 말과 정확한 위치를 저장하지 않아요. "
                "추천은 똑같이 해 줄게요!")
#: Decimals of a degree kept of a minimised position: 0.01° is about 1.1 km north-south, 0.9 km east-west.
CELL_DECIMALS = 2
#: The session-state key that marks a conversation as a child's (an unknown user who said so).
CHILD_SESSION_KEY = "child_without_consent"


def minimise_turn(user: User | None, *, said_child: bool = False, message: str | None = None,
                  birthday: dt.date | None = None) -> bool:
    """Whether one turn is kept minimised: a database user by their record (age on the service's own date,
    never a time the client sent), else by a birthday the client gave, else by whether they said (in
    ``message`` or earlier in the conversation: ``said_child``) that they are a child."""
    if user is not None:
        return must_minimise(user.birthday, user.guardian_consent, local_today())
    if birthday is not None and must_minimise(birthday, None, local_today()):
        return True
    return said_child or says_child(message)


def coarse_location_filter(loc: dict[str, Any]) -> dict[str, Any]:
    """A location filter with a named place replaced by its 동 (and 구); 구, 동 and 'near' stay."""
    out = {k: v for k, v in loc.items() if k != "landmark"}
    name = loc.get("landmark")
    if name:
        lm = find_landmark(str(name))
        if lm is not None:
            out.setdefault("district", lm.district)
            out.setdefault("dong", lm.dong)
    return out


def _coarse_filters(filters: dict[str, Any]) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in filters.items() if k != "location_filter"}
    loc = filters.get("location_filter")
    if isinstance(loc, dict):
        coarse = coarse_location_filter(loc)
        if coarse:
            out["location_filter"] = coarse
    return out


def minimise_nlu(nlu: dict[str, Any] | None) -> dict[str, Any] | None:
    """The NLU result without the message: intent, confidence, canonical entity values, coarse filters."""
    if not isinstance(nlu, dict):
        return None
    entities = []
    for e in nlu.get("entities") or []:
        if not isinstance(e, dict) or e.get("entity") == "landmark":
            continue  # a named place: its 동 is in the filters
        entities.append({"entity": e.get("entity"), "value": copy.deepcopy(e.get("value"))})
    filters = nlu.get("filters") if isinstance(nlu.get("filters"), dict) else {}
    out: dict[str, Any] = {"intent": nlu.get("intent"), "confidence": nlu.get("confidence"),
                           "entities": entities, "filters": _coarse_filters(filters), "minimised": True}
    return out


def request_location(lat: float | None, lon: float | None, *, minimise: bool) -> dict[str, Any] | None:
    """Where a request was made, as it may be stored: exact, or the 동 and a ~1 km cell."""
    if lat is None or lon is None:
        return None
    dong = nearest_dong(lat, lon)
    if minimise:
        return {"lat": round(lat, CELL_DECIMALS), "lon": round(lon, CELL_DECIMALS), "precision": "1km",
                "district": dong.district, "dong": dong.name}
    return {"lat": lat, "lon": lon, "precision": "exact", "district": dong.district, "dong": dong.name}


def coarse_location(location: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored location made coarse (what withdrawing consent does to what was kept)."""
    if not isinstance(location, dict):
        return None
    lat, lon = location.get("lat"), location.get("lon")
    if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
        return request_location(float(lat), float(lon), minimise=True)
    return {k: location[k] for k in ("district", "dong") if k in location} or None


def minimise_state(state: dict[str, Any] | None) -> dict[str, Any]:
    """A dialogue state as a minimised conversation keeps it (a new object: the ORM must see the change)."""
    out = copy.deepcopy(dict(state or {}))
    search = ((out.get("nlu") or {}).get("search")) if isinstance(out.get("nlu"), dict) else None
    if isinstance(search, dict) and isinstance(search.get("location_filter"), dict):
        coarse = coarse_location_filter(search["location_filter"])
        if coarse:
            search["location_filter"] = coarse
        else:
            search.pop("location_filter")
    distances = out.get("last_distances")
    if isinstance(distances, list) and len(distances) > 1:
        out["last_distances"] = [min(distances)]
    return out
