"""GET /api/health/ and startup settings."""

import pytest

from minitwitter.settings import SettingsError


def test_health_reports_every_dependency(app):
    body = app.get("/api/health/").json
    assert body == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}


def test_health_is_503_when_the_database_is_down(make_app, monkeypatch):
    from minitwitter_tools.devservices import free_port

    # A fault test: a database URL where nothing listens.
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=1")
    app = make_app()
    response = app.get("/api/health/", status=503)
    assert response.json["database"] == "down"
    assert response.json["cache"] == "ok"


def test_short_jwt_secret_refuses_to_start(make_app, monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "too short")
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        make_app()


def test_health_tries_a_refusing_broker_once(make_app, monkeypatch):
    """A fault test: a broker that accepts TCP and hangs up (RabbitMQ restarting) is
    "down" after one attempt. A retry waits 2 s first, longer than the load balancer's
    health check lasts: every process was taken out during a RabbitMQ restart."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def hang_up():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    port = listener.getsockname()[1]
    monkeypatch.setenv("CELERY_BROKER_URL", f"amqp://guest:guest@127.0.0.1:{port}//")
    try:
        body = make_app().get("/api/health/").json
    finally:
        listener.close()
    assert body["broker"] == "down" and body["database"] == "ok"
    assert len(accepted) == 1
