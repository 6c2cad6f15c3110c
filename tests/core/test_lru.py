from naviyam.core.lru import LRU


def test_the_least_recently_used_entry_goes_first_and_a_put_may_set_a_smaller_bound():
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the newest
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert cache.put("d", 4, maxsize=1) == 4
    assert len(cache) == 1 and cache.get("d") == 4
