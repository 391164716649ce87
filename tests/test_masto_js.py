"""A JavaScript client from npm, masto.js (`masto`, pinned in tests/js/package-lock.json),
through Node against a live server: tests/js/journey.mjs registers an app, logs two people in
by posting the authorize form, posts with an image, replies, favourites, boosts, follows,
reads the home and tag timelines and the notifications, searches, walks pages next and prev,
deletes and revokes. .ci/cluster runs the same journey through `make cluster`'s haproxy, with
accounts it signs up itself (as the second test here).

`npm ci` installs it from the committed lock file on first use (and when the lock changes).
Without Node or npm on the machine the test is skipped saying so (.ci/run installs them).
"""

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
from conftest import PASSWORD
from live_server import serving

JS = Path(__file__).parent / "js"


@pytest.fixture(scope="session")
def node_modules():
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("Node and npm are not installed (apt-get install nodejs npm; .ci/run installs them)")
    installed = JS / "node_modules" / ".package-lock.json"
    lock = JS / "package-lock.json"
    # One install at a time: two test runs in one checkout (.ci/run's 3.11 and 3.13 at once)
    # would each empty node_modules under the other's feet (npm's ENOTEMPTY, then a module
    # missing). The second waits, then finds it installed.
    with open(JS / ".npm-ci.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=JS, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, done.stdout + done.stderr
    return JS / "node_modules"


def test_masto_js_goes_the_whole_journey(node_modules, make_app, app, make_user):
    make_user("alice"), make_user("bob")
    with serving(make_app) as base:
        env = {**os.environ, "BASE": base, "ALICE": "alice", "BOB": "bob", "PASSWORD": PASSWORD}
        run = subprocess.run(["node", "journey.mjs"], cwd=JS, env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    made = orjson.loads(run.stdout.strip().splitlines()[-1])
    # What it did is what the native face sees.
    alice = app.post_json("/api/token/", {"username": "alice", "password": PASSWORD}).json["access"]
    headers = {"Authorization": f"Bearer {alice}"}
    app.get(f"/api/posts/{made['deleted']}/", headers=headers, status=404)
    reply = app.get(f"/api/posts/{made['reply']}/", headers=headers).json
    assert reply["in_reply_to"] == int(made["deleted"]) and reply["author"]["username"] == "bob"


def test_masto_js_signs_up_its_own_accounts(node_modules, make_app):
    """As .ci/cluster runs it: BASE only, the accounts signed up through the native API."""
    with serving(make_app) as base:
        env = {**os.environ, "BASE": base}
        run = subprocess.run(["node", "journey.mjs"], cwd=JS, env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    made = orjson.loads(run.stdout.strip().splitlines()[-1])
    assert made["alice"].startswith("mja") and made["bob"].startswith("mjb") and made["alice"][3:] == made["bob"][3:]
