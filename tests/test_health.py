"""GET /api/health/ and startup settings."""

import pytest

from minitwitter.settings import SettingsError


def test_health_reports_every_dependency(app):
    body = app.get("/api/health/").json
    assert body == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}


def test_health_is_503_when_the_database_is_down(make_app, monkeypatch):
    from minitwitter.devservices import free_port

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
