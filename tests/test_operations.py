"""Operations: request ids, JSON access logs, Prometheus metrics."""

import io
import json
import logging

from minitwitter.observability import JsonFormatter


def test_request_id_is_echoed_or_made_up(app):
    assert app.get("/api/health/", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made_up = app.get("/api/health/").headers["X-Request-ID"]
    assert len(made_up) == 32
    hostile = app.get("/api/health/", headers={"X-Request-ID": "x\r\nSet-Cookie: a=b" + "y" * 100})
    assert hostile.headers["X-Request-ID"] != "x" and "\n" not in hostile.headers["X-Request-ID"]
    # errors carry it too
    assert app.get("/nowhere", status=404, headers={"X-Request-ID": "err-1"}).headers["X-Request-ID"] == "err-1"


def test_access_log_is_json_with_the_request_id(app, alice):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("minitwitter.access")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        app.get("/api/posts/", headers={**alice.headers, "X-Request-ID": "trace-me"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["request_id"] == "trace-me"
    assert (entry["method"], entry["route"], entry["status"]) == ("GET", "/api/posts", 200)
    assert entry["queries"] >= 1 and entry["ms"] > 0


def test_metrics(app, alice):
    app.get("/api/posts/", headers=alice.headers)
    app.get("/api/posts/", headers=alice.headers)
    body = app.get("/metrics").text
    assert 'minitwitter_requests_total{method="GET",route="/api/posts",status="200"}' in body
    assert 'minitwitter_request_seconds_bucket{le="0.001",route="/api/posts"}' in body
    assert "minitwitter_db_pool_in_use" in body and "minitwitter_db_pool_size" in body
    assert 'minitwitter_cache_lookups_total{result="hit"}' in body


def test_cors_only_for_listed_origins(make_app):
    app = make_app(**{"cors.origins": "https://app.example.com https://admin.example.com"})
    ok = app.get("/api/health/", headers={"Origin": "https://app.example.com"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Credentials" not in ok.headers
    other = app.get("/api/health/", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = {"Origin": "https://admin.example.com", "Access-Control-Request-Method": "POST"}
    assert app.options("/api/posts/", headers=preflight, status=204).headers["Access-Control-Allow-Origin"]
    app.options("/api/posts/", headers={**preflight, "Origin": "https://evil.example.com"}, status=403)
