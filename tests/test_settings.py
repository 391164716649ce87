"""Settings are declared once, in the table of minitwitter/settings.py: the page that
documents them is made from it, every key the code reads has a row, every row is read,
and each row's environment variable and type do what the row says."""

import ast
import ipaddress
import re
import subprocess
import sys
from pathlib import Path

import pyramid_retry
import pytest

import minitwitter
from minitwitter import settings
from minitwitter.scripts import config

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(minitwitter.__file__).resolve().parent
# Code that reads the service's settings by key: the package, the tooling built on it, and
# pyramid_retry, which reads retry.attempts itself.
READERS = [*sorted(PACKAGE.rglob("*.py")), *sorted((ROOT / "tools").rglob("*.py")), Path(pyramid_retry.__file__)]
# [server:main]'s keys, read by the waitress runner in minitwitter/web/server.py: not the app's.
SERVER_KEYS = {"listen", "shutdown_timeout", "switch_interval"}


def _is_settings(node):
    """`settings`, `registry.settings`, `celery_app.minitwitter_settings`, ..."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.endswith("settings")


def _pattern(key):
    """The keys a literal or an f-string key can be, as a regex; None for any other key."""
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return re.escape(key.value)
    if isinstance(key, ast.JoinedStr):
        return "".join(re.escape(part.value) if isinstance(part, ast.Constant) else ".+" for part in key.values)
    return None


def setting_reads(paths):
    """(where, key, regex) of each `x_settings["key"]` and `x_settings.get("key")` /
    `.pop("key")` read (stores and setdefault are writes, not reads)."""
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                receiver, key = node.value, node.slice
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "pop")
                and node.args
            ):
                receiver, key = node.func.value, node.args[0]
            else:
                continue
            pattern = _pattern(key)
            if _is_settings(receiver) and pattern is not None:
                where = Path(path.parent.name, path.name) if "site-packages" in path.parts else path.relative_to(ROOT)
                yield f"{where}:{node.lineno}", ast.unparse(key), pattern


def test_the_configuration_page_is_made_from_the_table():
    page = (ROOT / "docs" / "CONFIGURATION.md").read_text()
    assert page == config.markdown(), "docs/CONFIGURATION.md is stale: minitwitter-config --markdown > it"
    command = [str(Path(sys.executable).parent / "minitwitter-config"), "--markdown"]
    assert subprocess.run(command, capture_output=True, text=True, check=True).stdout == page
    for setting in settings.SETTINGS:  # every row, with its variable
        assert f"| `{setting.key}` | {f'`{setting.env}`' if setting.env else ''} |" in page


def test_the_scan_sees_the_reads_it_checks():
    """The scan below finds each form of read: a literal, a .get, an f-string, a library's."""
    found = {(where.split("/")[0], key) for where, key, _ in setting_reads(READERS)}
    assert ("minitwitter", "'jwt.audience'") in found  # settings["..."]
    assert ("minitwitter", "f'ratelimit.{name}'") in found  # registry.settings[f"..."]
    assert ("minitwitter", "'redis.url'") in found
    assert ("pyramid_retry", "'retry.attempts'") in found  # settings.get("...")


def test_every_key_the_code_reads_has_a_row():
    unknown = []
    for where, key, pattern in setting_reads(READERS):
        if "pyramid_retry" in where:
            continue  # its own settings (retry.activate_hook, set by db.py) are not ours
        if any(re.fullmatch(pattern, k) for k in SERVER_KEYS):
            assert where.startswith("minitwitter/web/server.py"), f"{where}: {key} is [server:main]'s"
            continue
        if not any(re.fullmatch(pattern, setting.key) for setting in settings.SETTINGS):
            unknown.append(f"{where}: {key}")
    assert not unknown, f"read by key but not in settings.SETTINGS: {unknown}"


def test_every_row_is_read_by_something():
    patterns = [pattern for _, _, pattern in setting_reads(READERS)]
    unread = [s.key for s in settings.SETTINGS if not any(re.fullmatch(p, s.key) for p in patterns)]
    assert not unread, f"rows of settings.SETTINGS nothing reads: {unread}"


def test_the_keys_and_variables_are_each_declared_once():
    keys = [setting.key for setting in settings.SETTINGS]
    variables = [setting.env for setting in settings.SETTINGS if setting.env]
    assert len(keys) == len(set(keys)) and len(variables) == len(set(variables))
    assert settings.DEFAULTS == {
        s.key: "" if isinstance(s.default, settings.Derived) else s.default for s in settings.SETTINGS
    }


def load(ini=None, environ=None):
    base = {"database.url": "postgresql:///x", "jwt.secret": "s" * 32}
    return settings.load({**base, **(ini or {})}, environ=environ or {}, require_secret=True)


# A valid value of each type, as the ini or the environment writes it, and as the code reads it.
SAMPLES = {
    settings.TEXT: ("t" * 40, "t" * 40),
    settings.URL: ("amqp://h:5672//", "amqp://h:5672//"),
    settings.PATH: ("/srv/minitwitter", "/srv/minitwitter"),
    settings.INTEGER: ("7", 7),
    settings.NUMBER: ("0.5", 0.5),
    settings.BOOLEAN: ("yes", True),
    settings.URLS: ("postgresql:///a, postgresql:///b", ["postgresql:///a", "postgresql:///b"]),
    settings.RATE: ("7/60", "7/60"),
    settings.MEDIA_STORE: ("postgres", "postgres"),
    settings.NETWORKS: ("10.0.0.0/8, ::1", (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))),
    settings.REGISTRATIONS: ("approval", "approval"),
}
MALFORMED = {settings.INTEGER: "12x", settings.NUMBER: "fast", settings.BOOLEAN: "ture", settings.RATE: "5 per 900"}
MALFORMED[settings.MEDIA_STORE] = "s3"
MALFORMED[settings.NETWORKS] = "10.0.0.0/33"
MALFORMED[settings.REGISTRATIONS] = "invite"


def test_every_row_loads_its_default():
    loaded = settings.load({"database.url": "postgresql:///x"}, environ={}, require_secret=False)
    for setting in settings.SETTINGS:
        if isinstance(setting.default, settings.Derived):
            assert loaded[setting.key] == setting.default.make(loaded), setting.key
        elif setting.key not in ("database.url",):
            assert loaded[setting.key] == setting.type.parse(setting.default), setting.key


@pytest.mark.parametrize("setting", [s for s in settings.SETTINGS if s.env], ids=lambda s: s.env)
def test_each_variable_overrides_the_ini(setting):
    written, read = SAMPLES[setting.type]
    assert load({setting.key: written})[setting.key] == read  # the ini
    ini = {setting.key: "" if setting.type is settings.BOOLEAN else SAMPLES[settings.TEXT][0]}
    if setting.type in MALFORMED:  # the variable wins over a value that would not even parse
        ini = {setting.key: MALFORMED[setting.type]}
    assert load(ini, {setting.env: written})[setting.key] == read
    assert load({setting.key: written}, {setting.env: ""})[setting.key] == read  # empty: unset


@pytest.mark.parametrize("setting", [s for s in settings.SETTINGS if s.type in MALFORMED], ids=lambda s: s.key)
def test_a_malformed_value_refuses_to_start_naming_it(setting):
    with pytest.raises(settings.SettingsError, match=re.escape(f"{setting.key} in the ini")):
        load({setting.key: MALFORMED[setting.type]})
    if setting.env:
        with pytest.raises(settings.SettingsError, match=re.escape(setting.env)):
            load(environ={setting.env: MALFORMED[setting.type]})


def test_every_refusal_is_named_at_once():
    with pytest.raises(settings.SettingsError) as refused:
        settings.load({"bcrypt.rounds": "many", "redis.timeout": "soon"}, environ={})
    assert "bcrypt.rounds" in str(refused.value) and "redis.timeout" in str(refused.value)
    with pytest.raises(settings.SettingsError) as refused:
        settings.load({"jwt.secret": "short"}, environ={})
    assert "DATABASE_URL is not set" in str(refused.value) and "JWT_SECRET must be set" in str(refused.value)
