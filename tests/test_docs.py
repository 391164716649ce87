"""The pages a reader follows: the README's tour runs as written, against a real server,
and every link of the README and docs/ leads to a file (and a heading) that exists."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from webtest.http import StopableWSGIServer

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def section(text, heading):
    """The text under a `## heading`, up to the next one."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def slug(heading):
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_leads_somewhere(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # links in code are not links
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not this test's
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", resolved.read_text(), flags=re.M)
            if anchor not in {slug(h) for h in headings}:
                broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: links to nothing: {broken}"


def test_the_readme_links_every_page_of_docs():
    readme = (ROOT / "README.md").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in readme, f"docs/{page.name} is not on the README's map"


def test_the_readme_is_a_first_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


@pytest.mark.skipif(not shutil.which("curl"), reason="the tour is curl commands")
def test_the_readmes_tour_runs_as_written(wsgi_app, tmp_path):
    """Every command of "A five-minute tour", in order, against the app served by waitress:
    only the port (a free one), the image's path and the Python running this test differ."""
    blocks = re.findall(r"```sh\n(.*?)```", section((ROOT / "README.md").read_text(), "A five-minute tour"), re.S)
    assert len(blocks) >= 3
    server = StopableWSGIServer.create(wsgi_app)
    try:
        script = "\n".join(blocks).replace("localhost:6543", server.application_url.rstrip("/").split("//", 1)[1])
        script = script.replace("/tmp/photo.jpg", str(tmp_path / "photo.jpg"))
        script = script.replace(".venv/bin/python", sys.executable)
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
    finally:
        server.shutdown()
    out = done.stdout
    assert done.returncode == 0, done.stderr + out
    assert '"database":"ok"' in out  # health
    assert '"username":"ana"' in out and '"username":"ben"' in out  # sign-ups, me
    assert '"followed_by_me":true' in out  # the follow
    assert '"text":"hello #lisboa"' in out and '"likes_count":1' in out  # feed, like
    assert '"type":"reply"' in out and '"in_reply_to":1' in out  # the reply, Ana's notifications
    assert '"details":[{"location":"body","name":"text"' in out  # the bad input
    assert '"content_type":"image/jpeg"' in out  # the image
    assert out.rstrip().endswith('"Refresh token is no longer valid","details":[]}')  # the spent refresh
    assert out.count('"refresh":') == 1  # one new pair
