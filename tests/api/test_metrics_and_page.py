def test_metrics_count_requests_by_route_template(client):
    client.get("/shops/1")
    client.get("/shops/999")
    text = client.get("/metrics").text
    assert 'naviyam_http_requests_total{method="GET",route="/shops/{shop_id}",status="200"} 1.0' in text
    assert 'naviyam_http_requests_total{method="GET",route="/shops/{shop_id}",status="404"} 1.0' in text
    assert "naviyam_http_request_seconds_bucket" in text


def test_chat_page_is_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "나비얌" in r.text and "/static/chat.js" in r.text
    assert client.get("/static/chat.js").status_code == 200


def test_metrics_report_the_nlu_cache_hit_rate(client):
    """The same message twice: the second parse is answered from the NLU cache and /metrics says so."""
    before = client.app.state.runtime.parser.cache_counts()
    backend = client.app.state.engine.url.get_backend_name()  # the parser is shared by both databases' runs
    for _ in range(2):
        assert client.post("/chat", json={"message": f"떡볶이 먹고 싶어요 {backend}"}).status_code == 200
    hits, misses = client.app.state.runtime.parser.cache_counts()
    assert (hits - before[0], misses - before[1]) == (1, 1)
    text = client.get("/metrics").text
    assert f'naviyam_cache_lookups_total{{cache="nlu",result="hit"}} {float(hits)}' in text
    assert f'naviyam_cache_lookups_total{{cache="nlu",result="miss"}} {float(misses)}' in text
