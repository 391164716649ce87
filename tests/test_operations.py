"""Operations: request ids, JSON access logs, Prometheus metrics."""

import io
import json
import logging
import os
import threading

from minitwitter.web.observability import JsonFormatter, WriterThreadHandler


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


def test_the_writer_thread_writes_every_line_whole_in_order_with_its_request_id(app, alice):
    """production.ini's handler: request threads queue their formatted lines, one thread
    writes them. 8 threads of 50 requests: 400 lines, each whole and with its own request id,
    each thread's in its order; flush() waits for what was queued."""
    stream = io.StringIO()
    handler = WriterThreadHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("minitwitter.access")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)

    def reads(t):
        for n in range(50):
            app.get("/api/health/", headers={"X-Request-ID": f"t{t}-{n}"})

    try:
        threads = [threading.Thread(target=reads, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        handler.flush()
        ids = [json.loads(line)["request_id"] for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()
    assert sorted(ids) == sorted(f"t{t}-{n}" for t in range(8) for n in range(50))
    for t in range(8):
        assert [i for i in ids if i.startswith(f"t{t}-")] == [f"t{t}-{n}" for n in range(50)]


def test_the_writer_thread_writes_what_is_queued_at_close_and_in_a_forked_child(tmp_path):
    path = tmp_path / "log"
    with open(path, "w") as stream:
        handler = WriterThreadHandler(stream)
        logger = logging.Logger("writer-test")
        logger.addHandler(handler)
        logger.warning("before the fork")
        handler.flush()
        pid = os.fork()
        if pid == 0:  # the child: its writer thread is made at the fork
            logger.warning("in the child")
            handler.flush()
            os._exit(0)
        os.waitpid(pid, 0)
        for n in range(100):
            logger.warning("parent %d", n)
        handler.close()  # what is still queued is written
    lines = path.read_text().splitlines()
    assert lines[:2] == ["before the fork", "in the child"]
    assert lines[2:] == [f"parent {n}" for n in range(100)]


def test_metrics(app, alice):
    series = 'minitwitter_requests_total{method="GET",route="/api/posts",status="200"}'

    def counted():  # the series' value now (each request counts, the memoized child too)
        found = [line.split()[-1] for line in app.get("/metrics").text.splitlines() if line.startswith(series)]
        return float(found[0]) if found else 0.0

    before = counted()
    app.get("/api/posts/", headers=alice.headers)
    app.get("/api/posts/", headers=alice.headers)  # from the cache: counted all the same
    assert counted() == before + 2
    body = app.get("/metrics").text
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
