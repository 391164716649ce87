"""minitwitter-bench's parts that need no wrk: D3's verdicts, the growth chart's choice of
reports, and the cold feed measure on a D3-shaped database (d3tiny)."""

import io
import json

import psycopg2
import pytest
from conftest import assert_error

from minitwitter_tools import bench, populate


def row(row_id, p50, **extra):
    figures = {"rps": 1000.0, "l0_rps": 2000.0, "p50_ms": p50, "p99_ms": 2 * p50, "errors": 0, "queries": 1}
    return {"id": row_id, "what": row_id, **figures, "connects": 0.0, **extra}


def d3_report(**overrides):
    rows = [
        row("R1", 2.0),
        row("R1:typical", 2.0, cold_ms=0.8),
        row("R1:quiet_reader", 3.0, cold_ms=1.5),
        row("W1", 10.0),
        row("W1c", 19.0),
    ]
    fanout = {"p50_ms": 1200.0, "p99_ms": 9000.0, "never_seen": 0}
    return {"dataset": "D3", "rows": rows, "fanout": fanout, **overrides}


def test_d3_targets_held():
    targets = bench.d3_targets(d3_report())
    assert [(t[0], t[2]) for t in targets] == [
        ("cold feed p1 ≤ 5 ms of database time, every named reader", "held"),
        ("slowest reader ≤ 2 × typical, cold", "held"),
        ("slowest reader ≤ 2 × typical, warm p50", "held"),
        ("celebrity post p50 ≤ 2 × W1's", "held"),
        ("celebrity post in every sampled feed, p99 ≤ 10 s", "held"),
    ]
    assert targets[1][1] == "quiet_reader: 1.9 ×"


def test_d3_targets_missed():
    report = d3_report()
    report["rows"][2]["cold_ms"] = 5.1  # over 5 ms, and 6.4 x typical's cold
    report["rows"][4]["p50_ms"] = 21.0  # the celebrity posts at 2.1 x W1
    report["fanout"] = {"p50_ms": 1200.0, "p99_ms": 9000.0, "never_seen": 1}  # one feed never showed it
    report["d1"] = {"R1": row("R1", 1.5), "W1": row("W1", 1.0)}  # R1 at 1.33 x D1; W1 is no read
    targets = {target: (measured, verdict) for target, measured, verdict in bench.d3_targets(report)}
    assert targets["cold feed p1 ≤ 5 ms of database time, every named reader"] == (
        "typical 0.80, quiet_reader 5.10",
        "missed",
    )
    assert targets["slowest reader ≤ 2 × typical, cold"] == ("quiet_reader: 6.4 ×", "missed")
    assert targets["slowest reader ≤ 2 × typical, warm p50"] == ("quiet_reader: 1.5 ×", "held")
    assert targets["celebrity post p50 ≤ 2 × W1's"] == ("2.10 ×", "missed")
    assert targets["celebrity post in every sampled feed, p99 ≤ 10 s"][1] == "missed"
    assert targets["reads' p50 ≤ 1.25 × D1's"] == ("0 of 1 within; over: R1 1.33", "missed")
    # and in the Markdown, with the plans under details
    report.update(date="2026-11-30", ini="production.ini", threads=4, processes=1, cores=2, warm_up_s=2)
    report.update(measure_s=5, sweep=[], count_mismatches_after={})
    report["rows"][1]["cold_plan"] = "Limit (actual time=0.1..0.2)\nExecution Time: 0.8 ms"
    report["rows"][2]["cold_plan"] = "Execution Time: 5.1 ms"
    report["fanout"].update(what="a celebrity post in 205 followers' feeds p1", posts=1, followers=500_000)
    text = bench.markdown(report)
    assert "| quiet_reader | R1:quiet_reader | 3.0 | 6.0 | 5.10 |" in text
    assert "<details><summary>Plan, typical's feed p1, cold</summary>" in text
    assert "| celebrity post p50 ≤ 2 × W1's | 2.10 × | missed |" in text


def test_no_d3_targets_without_d3_figures():
    assert bench.d3_targets({"rows": [row("R1", 2.0), row("W1", 1.0)]}) == []


def test_growth_series_takes_the_days_reports(tmp_path):
    (tmp_path / "2026-11-30.json").write_text(json.dumps({"rows": [row("R1", 1.0), {"id": "R9", "note": "missing"}]}))
    (tmp_path / "2026-11-29-d2.json").write_text(json.dumps({"rows": [row("R1", 9.0)]}))  # another day's
    (tmp_path / "2026-11-30-d3.json").write_text(json.dumps({"rows": [row("R1", 9.0)]}))  # this run's, older
    series, missing = bench.growth_series(tmp_path, "2026-11-30", {"dataset": "D3", "rows": [row("R1", 3.0)]})
    assert series == [("D1", {"R1": 1.0}), ("D3", {"R1": 3.0})]
    assert missing == ["D2"]
    (tmp_path / "2026-11-30-d2.json").write_text(json.dumps({"rows": [row("R1", 2.0), row("R4", 1.0)]}))
    series, missing = bench.growth_series(tmp_path, "2026-11-30", {"dataset": "D3tiny", "rows": [row("R4", 3.0)]})
    assert series == [("D1", {"R1": 1.0}), ("D2", {"R1": 2.0, "R4": 1.0}), ("D3tiny", {"R4": 3.0})]
    assert missing == []
    pytest.importorskip("matplotlib")
    bench.growth_chart(series, "2026-11-30", tmp_path / "growth.png")
    assert (tmp_path / "growth.png").read_bytes()[:4] == b"\x89PNG"


def test_dataset_names():
    assert [bench.dataset_name(d) for d in ("d1", "d3", "d3tiny")] == ["D1", "D3", "D3tiny"]
    assert bench.dataset_name("d1", 10) == "D2"


def test_explained_cursor_returns_the_rows_and_keeps_the_plan(services):
    conn = psycopg2.connect(
        services["DATABASE_URL"], connection_factory=bench.ExplainedConnection, cursor_factory=bench.ExplainedCursor
    )
    with conn.cursor() as cur:
        cur.execute("SELECT g FROM generate_series(1, %(n)s) g", {"n": 3})
        assert [r["g"] for r in cur.fetchall()] == [1, 2, 3]
    [(ms, plan)] = conn.plans
    assert "Function Scan on generate_series" in plan and "Execution Time" in plan and ms >= 0
    conn.close()


def test_cold_feed_runs_the_views_query(services, wsgi_app, db):
    out = io.StringIO()
    assert populate.populate(services["DATABASE_URL"], populate.DATASETS["d3tiny"], rounds=4, force=True, out=out) == {}
    with db.cursor() as cur:
        cur.execute("SELECT username, id FROM users WHERE username = ANY(%s)", (list(populate.NAMED_READERS),))
        ids = dict(cur.fetchall())
    ms, plan = bench.cold_feed(wsgi_app, ids["typical"], runs=2)
    # The view's own path: populate filled the named readers' home timelines, so the suspended
    # accounts (domain/moderation.py: on idx_users_suspended), the timeline's state, then its
    # page (no Redis: nothing comes from a cache).
    assert plan.count("Execution Time") == 3
    assert "home_timeline" in plan and "idx_users_suspended" in plan
    assert 0 < ms < 10_000
    ms, plan = bench.cold_feed(wsgi_app, ids["newcomer"], runs=1)
    assert plan.count("Execution Time") == 3 and ms > 0


def test_s4_s5_suspend_authors_through_the_domain_and_the_undo_leaves_the_database_as_it_was(
    app, make_user, wsgi_app, db
):
    """S4-S5's setup and teardown on a small database: the fixture picks the authors with
    followers but the rows' own users; `suspensions` hides them from a warm feed and the
    all-posts page at once, as a moderator's suspension does, and lifts them; the counts stay
    exact; UNDO drops the audit entries (append-only elsewhere), so the log is as it was."""
    reader, author, quiet, named, hider = (make_user(n) for n in ("reader", "author", "quiet", "typical", "hider"))
    for follower, followee in ((reader, author), (reader, named), (hider, author)):
        app.post(f"/api/users/{followee['id']}/follow/", headers=follower.headers)
    for user in (author, quiet, named):  # quiet: posts, no follower; typical: a named reader, excluded
        app.post_json("/api/posts/", {"text": f"by {user['username']}"}, headers=user.headers, status=201)
    f = {"users": ["reader"], "typical": ["reader"], "named": list(populate.NAMED_READERS)}
    f.update(heavy=populate.HEAVY_READER, hider="hider", reposts_reader="nobody")
    with db.cursor() as cur:
        for name in ("suspend_ids", "suspended_followees", "max_audit"):
            cur.execute(bench.FIXTURES[name], f)
            f[name] = [row[0] for row in cur.fetchall()]
    f["suspended_followees"], f["max_audit"] = f["suspended_followees"][0], f["max_audit"][0]
    assert (f["suspend_ids"], f["suspended_followees"]) == ([author["id"]], 1)

    def authors():
        feed = app.get("/api/feed/", headers=reader.headers).json["results"]
        every = app.get("/api/posts/", headers=reader.headers).json["results"]
        return sorted(p["author"]["username"] for p in feed), sorted(p["author"]["username"] for p in every)

    for _ in range(2):  # warm: cached now
        before = authors()
    assert before == (["author", "typical"], ["author", "quiet", "typical"])
    assert bench.suspensions(wsgi_app, f, True) == 1
    assert authors() == (["typical"], ["quiet", "typical"])
    assert_error(app.get("/api/users/me/", headers=author.headers, status=401), 401)
    assert bench.suspensions(wsgi_app, f, False) == 1
    assert authors() == before
    assert {k: v for k, v in populate.check_counts(db).items() if v} == {}
    with db.cursor() as cur:
        cur.execute("SELECT action FROM moderation_audit WHERE id > %s ORDER BY id", (f["max_audit"],))
        assert [r[0] for r in cur.fetchall()] == ["suspend", "unsuspend"]
        for sql in bench.UNDO:
            if "moderation_audit" in sql:
                cur.execute(sql, f)
        cur.execute("SELECT coalesce(max(id), 0) FROM moderation_audit")
        assert cur.fetchone() == (f["max_audit"],)
        cur.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = 'moderation_audit_no_update'")
        assert cur.fetchone() == ("O",)  # append-only again
