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
