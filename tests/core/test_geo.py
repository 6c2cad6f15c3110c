"""The Seoul gazetteer: districts, 동, landmarks, distances and lookups."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from naviyam.core import geo

GWANAK_DONGS = {
    "보라매동", "청림동", "성현동", "행운동", "낙성대동", "청룡동", "은천동", "중앙동", "인헌동", "남현동", "서원동",
    "신원동", "서림동", "신사동", "신림동", "난향동", "조원동", "대학동", "삼성동", "미성동", "난곡동",
}
DONGJAK_DONGS = {
    "노량진1동", "노량진2동", "상도1동", "상도2동", "상도3동", "상도4동", "흑석동", "사당1동", "사당2동", "사당3동",
    "사당4동", "사당5동", "대방동", "신대방1동", "신대방2동",
}


def _taxonomy_districts() -> list[str]:
    raw = resources.files("naviyam.resources").joinpath("taxonomy.json").read_text(encoding="utf-8")
    return json.loads(raw)["districts_seoul"]


def test_all_25_districts_in_taxonomy_order():
    assert geo.district_names() == _taxonomy_districts()
    assert len(geo.district_names()) == 25


def test_gwanak_and_dongjak_list_every_administrative_dong():
    assert {d.name for d in geo.get_district("관악구").dongs} == GWANAK_DONGS
    assert {d.name for d in geo.get_district("동작구").dongs} == DONGJAK_DONGS


def test_every_district_has_dongs_and_landmarks():
    for district in geo.load_seoul().districts.values():
        assert len(district.dongs) >= 5, district.name
        assert len(district.landmarks) >= 3, district.name
        names = [d.name for d in district.dongs]
        assert len(names) == len(set(names)), district.name
        assert all(n.endswith("동") for n in names), district.name
    for name in ("관악구", "동작구"):
        landmarks = geo.get_district(name).landmarks
        assert len(landmarks) >= 15
        assert {lm.kind for lm in landmarks} >= {"station", "school", "university", "park"}


def test_every_dong_and_landmark_lies_within_its_district_radius():
    for district in geo.load_seoul().districts.values():
        assert 1.0 <= district.radius_km <= 10.0
        for place in (*district.dongs, *district.landmarks):
            assert district.contains(place.lat, place.lon), (district.name, place.name)
            assert geo.haversine_m(district.lat, district.lon, place.lat, place.lon) <= district.radius_km * 1000


def test_coordinates_are_in_seoul():
    for district in geo.load_seoul().districts.values():
        for place in (*district.dongs, *district.landmarks):
            assert 37.41 <= place.lat <= 37.71 and 126.76 <= place.lon <= 127.19, place


def test_landmarks_name_a_dong_of_their_district_and_a_known_kind():
    for district in geo.load_seoul().districts.values():
        dongs = {d.name for d in district.dongs}
        for lm in district.landmarks:
            assert lm.kind in geo.LANDMARK_KINDS
            assert lm.district == district.name
            assert lm.dong in dongs, lm


def test_haversine_known_distances_and_arrays():
    # one degree of latitude is about 111.2 km everywhere
    assert geo.haversine_m(37.0, 127.0, 38.0, 127.0) == pytest.approx(111_195, abs=60)
    assert geo.haversine_m(37.5, 127.0, 37.5, 127.0) == 0.0
    a = geo.haversine_m(37.4812, 126.9527, 37.4765, 126.9816)  # 서울대입구역 -> 사당역
    assert a == pytest.approx(geo.haversine_m(37.4765, 126.9816, 37.4812, 126.9527))
    assert 2400 < a < 2800
    arr = geo.haversine_m(37.48, 126.95, np.array([37.48, 37.49]), np.array([126.95, 126.95]))
    assert isinstance(arr, np.ndarray) and arr.shape == (2,)
    assert arr[0] == 0.0 and arr[1] == pytest.approx(1112, abs=5)
    assert isinstance(geo.haversine_m(37.0, 127.0, 37.1, 127.0), float)



def test_distances_from_one_point_agree_with_haversine():
    lats, lons = np.array([37.48, 37.4765, 38.0]), np.array([126.95, 126.9816, 127.0])
    got = geo.distances_from_m(37.48, 126.95, lats, lons)
    assert got[0] == 0.0
    assert got == pytest.approx(geo.haversine_m(37.48, 126.95, lats, lons), rel=1e-12)


@pytest.mark.parametrize(
    ("lat", "lon", "district"),
    [
        (37.4812, 126.9527, "관악구"),  # 서울대입구역
        (37.4842, 126.9297, "관악구"),  # 신림역
        (37.5135, 126.9425, "동작구"),  # 노량진역
        (37.5051, 126.9571, "동작구"),  # 중앙대학교
        (37.4979, 127.0276, "강남구"),  # 강남역
        (37.5256, 126.9226, "영등포구"),  # 여의도공원
        (37.6556, 127.0617, "노원구"),  # 노원역
        (37.5796, 126.9770, "종로구"),  # 경복궁
    ],
)
def test_locate_known_places(lat, lon, district):
    assert geo.locate(lat, lon) == district


def test_every_dong_centre_locates_to_its_own_district():
    for name, district in geo.all_dongs():
        dong = next(d for d in geo.get_district(district).dongs if d.name == name)
        assert geo.locate(dong.lat, dong.lon) == district
        assert geo.nearest_dong(dong.lat, dong.lon) == dong


def test_most_landmarks_locate_to_their_district():
    landmarks = geo.all_landmarks()
    hits = sum(geo.locate(lm.lat, lm.lon) == lm.district for lm in landmarks)
    # border landmarks (사당역, 신도림역, ...) may fall either way
    assert hits / len(landmarks) >= 0.85


def test_nearest_dong_indices_matches_scalar_lookup():
    lats = np.array([37.4812, 37.5135, 37.6556])
    lons = np.array([126.9527, 126.9425, 127.0617])
    idx = geo.nearest_dong_indices(lats, lons)
    table = geo.dong_table()
    assert [table[i] for i in idx] == [geo.nearest_dong(a, b) for a, b in zip(lats, lons, strict=False)]


def test_find_landmark_by_name_alias_spaces_and_without_station_suffix():
    assert geo.find_landmark("서울대입구역").district == "관악구"
    assert geo.find_landmark("서울대").name == "서울대학교"
    assert geo.find_landmark("서울대입구").name == "서울대입구역"
    assert geo.find_landmark("인헌 중학교").name == "인헌중학교"
    assert geo.find_landmark("총신대입구역").name == "이수역"
    assert geo.find_landmark("봉천초등학교").kind == "school"
    assert geo.find_landmark("보라매공원").district == "동작구"
    assert geo.find_landmark("없는역") is None
    assert geo.find_landmark("서울대학") is None


def test_find_dongs_resolves_administrative_and_colloquial_names():
    assert [d.name for d in geo.find_dongs("낙성대동")] == ["낙성대동"]
    sadang = geo.find_dongs("사당동")
    assert sorted(d.name for d in sadang) == ["사당1동", "사당2동", "사당3동", "사당4동", "사당5동"]
    assert {d.district for d in geo.find_dongs("봉천동")} == {"관악구"}
    assert len(geo.find_dongs("봉천동")) == 9
    samsung = geo.find_dongs("삼성동")
    assert samsung[0].district == "관악구" and {d.district for d in samsung} == {"관악구", "강남구"}
    assert geo.find_dongs("여의도동")[0].name == "여의동"
    assert geo.find_dongs("없는동") == []


def test_all_dongs_pairs_and_loader_cache():
    pairs = geo.all_dongs()
    assert len(pairs) == len(set(pairs)) >= 400
    assert ("신사동", "관악구") in pairs and ("신사동", "강남구") in pairs
    assert geo.load_seoul() is geo.load_seoul()
    with pytest.raises(KeyError):
        geo.get_district("부산진구")
