"""The project's waitress server (minitwitter/web/server.py). A graceful stop: on SIGTERM the requests
in flight finish and the process exits within its bound, under a real `pserve` with the project's server.

The app here is a WSGI callable that sleeps `?seconds=`, so the tests need neither
PostgreSQL nor Redis; `make faults` (scenario 5) does the same against the real app.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from minitwitter_tools.devservices import free_port

HERE = Path(__file__).resolve().parent


def slow_app(global_config, **settings):
    """A paste app factory: answers "done" after sleeping ?seconds= (default 0)."""

    def app(environ, start_response):
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if "pid" in query:  # which process answers on this port (pserve below)
            body = str(os.getpid()).encode()
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        if "switch_interval" in query:
            body = str(sys.getswitchinterval()).encode()
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        time.sleep(float(query.get("seconds", ["0"])[0]))
        if "status" in query:  # a response without a body: ?status=204 or 304
            start_response(f"{query['status'][0]} No Body", [])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"done"]

    return app


INI = """[app:main]
use = call:test_shutdown:slow_app

[server:main]
use = egg:minitwitter#waitress
listen = 127.0.0.1:6543
threads = 2
{extra}
"""


@pytest.fixture
def pserve(tmp_path):
    """start(extra ini lines) -> the pserve process, serving on process.port."""
    processes = []

    def start(extra=""):
        ini = tmp_path / "server.ini"
        ini.write_text(INI.format(extra=extra))
        for _ in range(3):  # a free port can be taken before pserve binds it (another test run)
            port = free_port()
            env = {**os.environ, "PORT": str(port), "PYTHONPATH": str(HERE)}
            log = open(tmp_path / "pserve.log", "wb")  # closed with the process
            command = [str(Path(sys.executable).parent / "pserve"), str(ini)]
            process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
            process.port, process.log = port, log
            processes.append(process)
            deadline = time.monotonic() + 30
            while (pid := serving_pid(port)) is None and process.poll() is None:
                assert time.monotonic() < deadline, (tmp_path / "pserve.log").read_text()
                time.sleep(0.1)
            if pid == process.pid:
                return process
            process.kill()  # it could not bind, or another server answers there
        raise AssertionError((tmp_path / "pserve.log").read_text())

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.log.close()


def serving_pid(port):
    """The pid of the slow_app process answering on `port`, or None."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/?pid")
        response = conn.getresponse()
        return int(response.read()) if response.status == 200 else -1
    except (OSError, http.client.HTTPException, ValueError):
        return None


def get(port, path, conn=None):
    """(status, Connection header) of GET path, or (exception name, None)."""
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Connection")
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__, None


def in_threads(port, paths):
    results = [None] * len(paths)

    def send(i):
        results[i] = get(port, paths[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(paths))]
    for thread in threads:
        thread.start()
    return threads, results


def test_sigterm_lets_the_requests_in_flight_finish(pserve):
    process = pserve()
    idle = http.client.HTTPConnection("127.0.0.1", process.port, timeout=20)
    assert get(process.port, "/", idle)[0] == 200  # a keep-alive connection, idle from now on
    # Two run on the two threads, the third waits in the queue.
    threads, results = in_threads(process.port, ["/?seconds=1"] * 3)
    time.sleep(0.3)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", process.port), timeout=2)
    assert process.wait(5) == 0
    assert time.monotonic() - signalled < 3.5  # the queued request ran too: about 2 s
    for thread in threads:
        thread.join()
    assert results == [(200, "close")] * 3  # answered, and told not to come back
    assert get(process.port, "/", idle)[0] != 200  # the idle connection was closed


def test_idle_connections_do_not_hold_the_stop(pserve):
    process = pserve()
    conns = [http.client.HTTPConnection("127.0.0.1", process.port, timeout=20) for _ in range(5)]
    for conn in conns:
        assert get(process.port, "/", conn)[0] == 200
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(5) == 0
    assert time.monotonic() - signalled < 1.5


def test_a_request_longer_than_shutdown_timeout_is_cut_at_the_bound(pserve):
    process = pserve("shutdown_timeout = 1")
    threads, results = in_threads(process.port, ["/?seconds=30"])
    time.sleep(0.3)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(5) == 0
    assert time.monotonic() - signalled < 2.5
    threads[0].join()
    assert results[0][0] != 200


@pytest.mark.parametrize("status", [204, 304])
def test_a_response_without_a_body_keeps_the_connection_alive(pserve, status):
    """waitress alone closes every HTTP/1.1 response without Content-Length, 204s included:
    keep-alive clients reconnected after each DELETE."""
    process = pserve()
    conn = http.client.HTTPConnection("127.0.0.1", process.port, timeout=20)
    assert get(process.port, f"/?status={status}", conn) == (status, None)
    first = conn.sock
    assert get(process.port, "/", conn) == (200, None)
    assert conn.sock is first  # the same connection served both
    conn.close()
    asked_to_close = http.client.HTTPConnection("127.0.0.1", process.port, timeout=20)
    asked_to_close.request("GET", f"/?status={status}", headers={"Connection": "close"})
    assert asked_to_close.getresponse().getheader("Connection") == "close"


@pytest.mark.parametrize(
    "raw",
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    ],
    ids=["bad-content-length", "unknown-transfer-encoding", "malformed-header"],
)
def test_what_waitress_refuses_itself_is_json_too(pserve, raw):
    """Requests waitress cannot parse never reach the app: it answers them itself, now in the
    API's one error shape instead of a text/plain page."""
    process = pserve()
    with socket.create_connection(("127.0.0.1", process.port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert 400 <= status < 500 or status == 501, answer[:300]  # 501: a transfer coding it lacks
    assert b"Content-Type: application/json" in head, answer[:300]
    error = json.loads(body)
    assert set(error) == {"code", "error", "message", "details"} and error["code"] == status


@pytest.mark.parametrize("extra, interval", [("", 0.005), ("switch_interval = 0.0001", 0.0001)])
def test_the_ini_sets_the_gil_switch_interval(pserve, extra, interval):
    process = pserve(extra)
    conn = http.client.HTTPConnection("127.0.0.1", process.port, timeout=20)
    conn.request("GET", "/?switch_interval=1")
    assert float(conn.getresponse().read()) == pytest.approx(interval)
