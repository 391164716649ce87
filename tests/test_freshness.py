"""Every write declares what it makes stale (minitwitter/domain/freshness.py), read with ast.

A domain function writes when it uses a named query whose SQL is an INSERT, UPDATE or
DELETE (sql/*.sql), or queues a task (tx.enqueue_task: an outbox row), itself or through
the domain functions it calls. Each public one that writes must declare what it makes
stale: call tx.stale(...), itself or through the functions it calls, or say why nothing
with @stales_nothing("..."). A new write that does neither fails here, before a cache
serves what it changed.
"""

import ast
import re
from pathlib import Path

import pytest

from minitwitter import domain
from minitwitter.settings import DEFAULT_SQL_PATH
from minitwitter.store import queries as queries_module

DOMAIN = Path(domain.__file__).parent
PACKAGE = "minitwitter.domain"


def write_queries():
    """{(group, name)} of the named queries that write."""
    found = set()
    for group, queries in vars(queries_module.load(DEFAULT_SQL_PATH)).items():
        for name in dir(queries):
            sql = getattr(getattr(queries, name), "sql", None)
            if not isinstance(sql, str):
                continue
            sql = re.sub(r"--[^\n]*", "", sql)  # comments
            sql = re.sub(r"\bFOR\s+(NO\s+KEY\s+)?UPDATE\b", "", sql, flags=re.IGNORECASE)  # a lock is no write
            if re.search(r"\b(INSERT|UPDATE|DELETE)\b", sql, flags=re.IGNORECASE):
                found.add((group, name))
    return found


class Function:
    def __init__(self, module, node):
        self.module, self.node, self.name = module, node, node.name
        self.queries = set()  # (group, name), name "*" for any (getattr)
        self.calls = set()  # (module, function)
        self.stales = False  # calls <something>.stale(...)
        self.enqueues = False
        self.declared_nothing = any(
            isinstance(d, ast.Call) and getattr(d.func, "id", getattr(d.func, "attr", None)) == "stales_nothing"
            for d in node.decorator_list
        )

    @property
    def public(self):
        return not self.name.startswith("_")


def read_module(module, source):
    """{name: Function} of a domain module's top-level functions, with what each uses."""
    tree = ast.parse(source)
    functions = {n.name: Function(module, n) for n in tree.body if isinstance(n, ast.FunctionDef)}
    imported = {}  # local name -> (module, function) or (module, None) for a domain module
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            for alias in node.names:
                local = alias.asname or alias.name
                if node.module == PACKAGE:  # from minitwitter.domain import follows
                    imported[local] = (alias.name, None)
                else:  # from minitwitter.domain.notifications import notify
                    imported[local] = (node.module.rsplit(".", 1)[1], alias.name)
    for function in functions.values():
        _read_function(function, functions, imported)
    return functions


def _group(node, groups):
    """The query group an expression names: X.queries.<group>, or a local bound to one."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "queries":
        return node.attr
    if isinstance(node, ast.Name):
        return groups.get(node.id)
    return None


def _read_function(function, functions, imported):
    groups = {}  # local name -> query group (q = tx.queries.accounts; queries, db = tx.queries.search, tx.db)
    for node in ast.walk(function.node):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                pairs = (
                    zip(target.elts, node.value.elts, strict=False)
                    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                    else [(target, node.value)]
                )
                for name, value in pairs:
                    if isinstance(name, ast.Name) and _group(value, {}) is not None:
                        groups[name.id] = _group(value, {})
    for node in ast.walk(function.node):
        if isinstance(node, ast.Attribute):
            group = _group(node.value, groups)
            if group is not None:
                function.queries.add((group, node.attr))
            if node.attr == "stale":
                function.stales = True
            if node.attr == "enqueue_task":
                function.enqueues = True
            if isinstance(node.value, ast.Name) and imported.get(node.value.id, (None, 0))[1] is None:
                module = imported.get(node.value.id, (None, 0))[0]
                if module is not None:  # follows.unfollow
                    function.calls.add((module, node.attr))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" and node.args:
            group = _group(node.args[0], groups)
            if group is not None:  # getattr(tx.queries.safety, verb)
                function.queries.add((group, "*"))
        elif isinstance(node, ast.Name):
            if node.id in functions and node.id != function.name:
                function.calls.add((function.module, node.id))
            elif imported.get(node.id, (None, None))[1] is not None:
                function.calls.add(imported[node.id])


def walk(sources, writes):
    """{(module, name): Function} with .writes and .declares settled over the calls."""
    everything = {}
    for module, source in sources.items():
        for name, function in read_module(module, source).items():
            everything[(module, name)] = function
    for function in everything.values():
        function.writes = function.enqueues or any(
            q in writes or (q[1] == "*" and any(w[0] == q[0] for w in writes)) for q in function.queries
        )
        function.declares = function.stales
    changed = True
    while changed:  # through the calls, to a fixed point
        changed = False
        for function in everything.values():
            callees = [everything[c] for c in function.calls if c in everything]
            writes = function.writes or any(c.writes for c in callees)
            declares = function.declares or any(c.declares for c in callees)
            if (writes, declares) != (function.writes, function.declares):
                function.writes, function.declares, changed = writes, declares, True
    return everything


def undeclared(everything):
    return sorted(
        f"{module}.{name}"
        for (module, name), f in everything.items()
        if f.public and f.writes and not f.declares and not f.declared_nothing
    )


@pytest.fixture(scope="module")
def domain_writes():
    sources = {path.stem: path.read_text() for path in sorted(DOMAIN.glob("*.py")) if path.stem != "__init__"}
    return walk(sources, write_queries())


def test_every_write_declares_what_it_makes_stale(domain_writes):
    assert undeclared(domain_writes) == []


def test_the_walk_sees_the_writes_and_what_they_declare(domain_writes):
    """The walk is worth its verdict: it finds writes and reads where they are."""

    def f(name):
        return domain_writes[tuple(name.split("."))]

    for name in (
        "likes.like",
        "follows.follow",
        "posts.create",
        "safety.block",
        "accounts.delete_account",
        "accounts.sign_up",
    ):
        assert f(name).writes and f(name).declares, name  # through helpers (_likes_changed, _change, ...)
    for name in ("reports.file", "posts.add_favorite", "notifications.notify", "timelines.feed_rows"):
        assert f(name).writes and f(name).declared_nothing, name
    assert f("accounts.request_password_reset").writes  # an outbox row only
    for name in (
        "posts.live_post",
        "safety.hidden",
        "search.post_keys",
        "blocked.refuse_blocked",
        "notifications.lock",
    ):
        assert not f(name).writes, name  # reads (a lock is no write)


def test_a_new_write_that_declares_nothing_is_caught():
    source = (
        "from minitwitter.domain import freshness\n"
        "from minitwitter.domain.freshness import stales_nothing\n"
        "def pin(tx, user_id, post_id):\n"  # writes through a helper, declares nothing
        "    _store(tx, post_id)\n"
        "def _store(tx, post_id):\n"
        "    q = tx.queries.posts\n"
        "    q.update_text(tx.db, post_id=post_id, text='')\n"
        "def unpin(tx, user_id, post_id):\n"  # declares in its body
        "    _store(tx, post_id)\n"
        "    tx.stale(freshness.post(post_id))\n"
        "@stales_nothing('nothing cached shows pins')\n"
        "def repin(tx, user_id, post_id):\n"
        "    tx.queries.posts.update_text(tx.db, post_id=post_id, text='')\n"
        "def read(tx, post_id):\n"
        "    return tx.queries.posts.get_post(tx.db, post_id=post_id)\n"
        "def queue(tx, post_id):\n"
        "    tx.enqueue_task('pin_email', {'post_id': post_id})\n"
    )
    assert undeclared(walk({"pins": source}, {("posts", "update_text")})) == ["pins.pin", "pins.queue"]
