"""Search: posts by words, "phrases" and #tags; hashtags and users by prefix."""

import hashlib

import pytest
from conftest import assert_error, explain

SPECIAL = ["%", "_", "\\", "'", '"', "&", "|", "!", ":", "*", "(", ")", "<", ">", "-", "<->", ":*", "!!", "''", "\\'"]


def create(app, user, text):
    return app.post_json("/api/posts/", {"text": text}, headers=user.headers, status=201).json["id"]


def search(app, user, q, status=200, **params):
    return app.get("/api/search/posts/", {"q": q, **params}, headers=user.headers, status=status)


def found(app, user, q, **params):
    return [p["id"] for p in search(app, user, q, **params).json["results"]]


def test_words_are_and_ed(app, alice):
    both = create(app, alice, "a red apple")
    create(app, alice, "a green apple")
    create(app, alice, "a red car")
    assert found(app, alice, "red apple") == [both]
    assert found(app, alice, "apple red") == [both]
    assert found(app, alice, "red apple banana") == []


def test_a_quoted_phrase_matches_those_words_in_that_order(app, alice):
    quick_brown = create(app, alice, "the quick brown fox")
    brown_quick = create(app, alice, "the brown and quick fox")
    assert found(app, alice, '"quick brown"') == [quick_brown]
    assert found(app, alice, '"quick brown" fox') == [quick_brown]
    assert found(app, alice, "quick brown") == [brown_quick, quick_brown]
    assert found(app, alice, '"quick brown') == [quick_brown]  # an unclosed quote runs to the end


def test_a_tag_matches_that_tag_exactly(app, alice):
    cat = create(app, alice, "I love my #Cat")
    cats = create(app, alice, "I love #cats")
    create(app, alice, "a cat without a tag")
    assert found(app, alice, "#cat") == [cat]
    assert found(app, alice, "#CAT") == [cat]
    assert found(app, alice, "#cats") == [cats]
    assert found(app, alice, "#ca") == []
    assert found(app, alice, "#nobody_uses_this") == []


def test_tags_and_words_together(app, alice):
    sleeps = create(app, alice, "#cat sleeps all day")
    create(app, alice, "#cat eats")
    create(app, alice, "#dog sleeps")
    both = create(app, alice, "#cat and #dog sleep")
    assert found(app, alice, "#cat sleeps") == [sleeps]
    assert found(app, alice, "sleeps #cat") == [sleeps]
    assert found(app, alice, "#cat #dog") == [both]
    assert found(app, alice, "#cat #dog sleeps") == []
    assert found(app, alice, "#cat #unknown") == []
    assert found(app, alice, '#cat "all day"') == [sleeps]


@pytest.mark.parametrize("q", ["cafe", "CAFE", "Café", "cafÉ", "sao paulo", "SAO PAULO", "São Paulo", '"sao paulo"'])
def test_case_and_accents_fold(app, alice, q):
    post = create(app, alice, "Um café em São Paulo")
    create(app, alice, "something else")
    assert found(app, alice, q) == [post]


def test_portuguese_and_english(app, alice):
    portuguese = create(app, alice, "Ação e coração no Nordeste, não é?")
    english = create(app, alice, "Running in the rain with a naïve smile")
    assert found(app, alice, "acao coracao") == [portuguese]
    assert found(app, alice, "NAO e") == [portuguese]  # no stop words: short words count
    assert found(app, alice, "the rain") == [english]
    assert found(app, alice, "naive") == [english]
    assert found(app, alice, "running") == [english]
    assert found(app, alice, "run") == []  # no stemming: whole words only (migrations/0002 says why)


def test_words_with_digits_fold_too(app, alice):
    post = create(app, alice, "Café2026 em Évora-2")
    assert found(app, alice, "cafe2026") == [post]
    assert found(app, alice, "evora-2") == [post]


def test_newest_first(app, alice, bob):
    ids = [create(app, user, f"weather report {i}") for i, user in enumerate([alice, bob, alice])]
    create(app, bob, "unrelated")
    body = search(app, alice, "weather").json
    assert [p["id"] for p in body["results"]] == ids[::-1]
    assert body["count"] is None and body["next"] is None and body["page"] == 1
    assert body["results"][0]["text"] == "weather report 2"  # whole posts, as everywhere
    assert body["results"][0]["author"]["username"] == "alice"


def test_pages_by_cursor_walk_every_match_once(app, alice):
    matches = []
    for i in range(25):
        matches.append(create(app, alice, f"match number {i}"))
        create(app, alice, f"other {i}")
    url, seen = "/api/search/posts/?q=match&page_size=7", []
    while url:
        body = app.get(url, headers=alice.headers).json
        seen += [p["id"] for p in body["results"]]
        url = body["next"]
        assert url is None or ("cursor=" in url and "q=match" in url)
    assert seen == matches[::-1]


def test_pages_by_number(app, alice):
    matches = [create(app, alice, f"numbered {i}") for i in range(5)]
    body = search(app, alice, "numbered", page=2, page_size=2).json
    assert [p["id"] for p in body["results"]] == matches[::-1][2:4]
    assert "page=3" in body["next"] and "page=1" in body["previous"]


def test_tag_pages_by_cursor_walk_every_match_once(app, alice):
    matches = [create(app, alice, f"tagged {i} #walk") for i in range(9)]
    url, seen = "/api/search/posts/?q=%23walk&page_size=4", []
    while url:
        body = app.get(url, headers=alice.headers).json
        seen += [p["id"] for p in body["results"]]
        url = body["next"]
    assert seen == matches[::-1]


def test_order_by_relevance(app, alice):
    most = create(app, alice, "tea tea tea, all the tea")
    some = create(app, alice, "tea and biscuits")
    create(app, alice, "coffee")
    newest = create(app, alice, "tea")
    assert found(app, alice, "tea") == [newest, some, most]
    ranked = found(app, alice, "tea", order="relevance")
    assert ranked[0] == most and sorted(ranked) == sorted([most, some, newest])
    first = search(app, alice, "tea", order="relevance", page_size=2).json
    assert first["page"] == 1 and "page=2" in first["next"] and "order=relevance" in first["next"]
    second = app.get(first["next"], headers=alice.headers).json
    assert [p["id"] for p in first["results"] + second["results"]] == ranked


def test_relevance_with_tags(app, alice):
    tagged = create(app, alice, "tea tea #morning")
    create(app, alice, "tea tea tea")
    assert found(app, alice, "tea #morning", order="relevance") == [tagged]
    assert found(app, alice, "#morning", order="relevance") == [tagged]


def test_relevance_pages_by_number_not_cursor(app, alice):
    response = search(app, alice, "tea", status=400, order="relevance", cursor="azE")
    assert_error(response, 400, "cursor")


@pytest.mark.parametrize("order", ["oldest", "RELEVANCE", "relevance;", "rank"])
def test_bad_order_is_400_naming_order(app, alice, order):
    assert_error(search(app, alice, "tea", status=400, order=order), 400, "order")


def test_an_edit_shows_at_once(app, alice):
    post = create(app, alice, "old words #before")
    assert found(app, alice, "old") == [post]
    app.put_json(f"/api/posts/{post}/", {"text": "new words #after"}, headers=alice.headers)
    assert found(app, alice, "old") == []
    assert found(app, alice, "#before") == []
    assert found(app, alice, "new words") == [post]
    assert found(app, alice, "#after") == [post]
    assert found(app, alice, "new", order="relevance") == [post]


def test_a_delete_shows_at_once(app, alice):
    keep = create(app, alice, "gone soon #bye")
    post = create(app, alice, "gone now #bye")
    app.delete(f"/api/posts/{post}/", headers=alice.headers, status=204)
    assert found(app, alice, "gone") == [keep]
    assert found(app, alice, "#bye") == [keep]
    assert found(app, alice, "gone #bye") == [keep]
    assert found(app, alice, "gone", order="relevance") == [keep]


@pytest.mark.parametrize("char", SPECIAL)
def test_special_characters_alone_are_plain_text(app, alice, char):
    create(app, alice, "cat and dog")
    for order in ("newest", "relevance"):
        assert search(app, alice, char, order=order).json["results"] == []
        assert search(app, alice, f"#{char}", order=order).status_int == 200
    assert app.get("/api/search/hashtags/", {"q": char}, headers=alice.headers).json["results"] == []
    assert app.get("/api/search/users/", {"q": char}, headers=alice.headers).json["results"] == []


@pytest.mark.parametrize("char", SPECIAL)
def test_special_characters_embedded_are_plain_text(app, alice, char):
    post = create(app, alice, "cat and dog")
    for order in ("newest", "relevance"):
        assert found(app, alice, f"cat {char}", order=order) == [post]
        assert found(app, alice, f"{char}cat {char}dog{char}", order=order) == [post]
        assert search(app, alice, f"cat{char}dog", order=order).status_int == 200
        assert search(app, alice, f'"cat {char}" #dog{char}', order=order).status_int == 200
    assert app.get("/api/search/hashtags/", {"q": f"c{char}"}, headers=alice.headers).status_int == 200
    assert app.get("/api/search/users/", {"q": f"a{char}"}, headers=alice.headers).status_int == 200


def test_operator_words_are_words(app, alice):
    post = create(app, alice, "this or that, not -this")
    assert found(app, alice, "or") == [post]
    assert found(app, alice, "this -that") == [post]
    assert found(app, alice, "that | nothing") == []  # | is not OR: "nothing" is required too


@pytest.mark.parametrize("path", ["/api/search/posts/", "/api/search/hashtags/", "/api/search/users/"])
@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "  "}, {"q": "x" * 201}, {"q": "nul \x00"}, {"q": "\x1b[31m"}])
def test_bad_q_is_400_naming_q(app, alice, path, params):
    assert_error(app.get(path, params, headers=alice.headers, status=400), 400, "q")


@pytest.mark.parametrize("path", ["/api/search/posts/", "/api/search/hashtags/", "/api/search/users/"])
def test_200_characters_is_fine(app, alice, path):
    app.get(path, {"q": "  " + "x" * 200 + "  "}, headers=alice.headers, status=200)


@pytest.mark.parametrize("path", ["/api/search/posts/", "/api/search/hashtags/", "/api/search/users/"])
def test_search_needs_a_token(app, path):
    assert_error(app.get(path, {"q": "x"}, status=401), 401)


def test_a_page_costs_the_same_few_queries_whatever_it_holds(app, alice):
    for i in range(30):
        create(app, alice, f"cost {i} #cost")

    def queries(q, page_size, **params):
        response = search(app, alice, q, page_size=page_size, **params)
        assert len(response.json["results"]) == min(page_size, 30)
        return response.request.environ["minitwitter.queries"]

    for q, params in [("cost", {}), ("#cost", {}), ("cost #cost", {"order": "relevance"})]:
        # One search query, then the page's hydration (rendering.posts_by_ids: at most two),
        # and the viewer's hidden set (domain/safety.py) and the suspended accounts
        # (domain/profiles.suspended) until they are cached.
        assert queries(q, 1, **params) <= 5 and queries(q, 100, **params) <= 5


# Hashtags by prefix


def hashtags(app, user, q, **params):
    return app.get("/api/search/hashtags/", {"q": q, **params}, headers=user.headers).json["results"]


def test_hashtags_by_prefix_most_used_first(app, alice):
    for text in ["#lisboa #lima", "#lisboa #lima", "#Lisboa", "#lisbon", "#porto #lisboa_velha"]:
        create(app, alice, text)
    app.post("/api/hashtags/lixo/favorite/", headers=alice.headers)  # a tag no post uses: left out
    expected = [
        {"name": "lisboa", "count": 3},
        {"name": "lima", "count": 2},
        {"name": "lisboa_velha", "count": 1},  # ties by name
        {"name": "lisbon", "count": 1},
    ]
    assert hashtags(app, alice, "li") == expected
    assert hashtags(app, alice, "#LIS") == [expected[0], expected[2], expected[3]]
    assert hashtags(app, alice, "li", page_size=2) == expected[:2]
    assert hashtags(app, alice, "lisboa_") == [{"name": "lisboa_velha", "count": 1}]
    assert hashtags(app, alice, "porto") == [{"name": "porto", "count": 1}]
    assert hashtags(app, alice, "portugal") == []
    assert hashtags(app, alice, "#") == []


def test_hashtag_prefix_escapes_like(app, alice):
    create(app, alice, "#a_c #abc #a")
    assert hashtags(app, alice, "a_") == [{"name": "a_c", "count": 1}]  # _ is not a wildcard
    assert hashtags(app, alice, "%") == []
    assert hashtags(app, alice, "a%") == []
    assert hashtags(app, alice, "\\") == []


def test_hashtag_counts_follow_deletes(app, alice):
    post = create(app, alice, "#ephemeral")
    create(app, alice, "#ephemeral too")
    app.delete(f"/api/posts/{post}/", headers=alice.headers, status=204)
    assert hashtags(app, alice, "eph") == [{"name": "ephemeral", "count": 1}]


# Users by prefix


def users(app, user, q, **params):
    return app.get("/api/search/users/", {"q": q, **params}, headers=user.headers).json["results"]


def test_users_by_prefix_any_case(app, alice, bob, make_user):
    alina = make_user("Alina")
    make_user("al_x")
    make_user("malice")
    app.post(f"/api/users/{alina['id']}/follow/", headers=bob.headers)
    found_users = users(app, bob, "AL")
    assert [u["username"] for u in found_users] == ["al_x", "alice", "Alina"]
    assert found_users[2] == {
        "id": alina["id"],
        "username": "Alina",
        "display_name": "",
        "bio": "",
        "avatar": None,
        "created_at": alina["created_at"],
        "followers_count": 1,
        "following_count": 0,
        "posts_count": 0,
        "followed_by_me": True,
    }
    assert found_users[1]["followed_by_me"] is False
    assert [u["username"] for u in users(app, bob, "@ali")] == ["alice", "Alina"]
    assert [u["username"] for u in users(app, bob, "al_")] == ["al_x"]  # _ is not a wildcard
    assert [u["username"] for u in users(app, bob, "al", page_size=1)] == ["al_x"]
    assert users(app, bob, "al%") == []
    assert users(app, bob, "zed") == []


# Every search is served by its index


@pytest.fixture
def corpus(db):
    """Enough rows, vacuumed and analyzed, for the planner to choose as it would in production."""
    with db.cursor() as cur:
        cur.execute(
            """
            INSERT INTO users (username, email, password_hash)
            SELECT 'user' || lpad(i::text, 4, '0'), 'u' || i || '@example.com', 'x' FROM generate_series(1, 2000) i;
            INSERT INTO posts (author_id, text)
            SELECT (SELECT min(id) FROM users) + i % 2000, 'common w' || (i % 97) || ' u' || (i % 2999)
              FROM generate_series(1, 5000) i;
            INSERT INTO hashtags (name) SELECT md5(i::text) FROM generate_series(1, 3000) i;
            INSERT INTO post_hashtags (hashtag_id, post_id)
            SELECT h.id, p.id FROM posts p JOIN hashtags h ON h.id % 3000 = p.id % 3000;
            """
        )
        cur.execute("VACUUM ANALYZE users, posts, hashtags, post_hashtags")


TAG_1, TAG_2 = hashlib.md5(b"1").hexdigest(), hashlib.md5(b"2").hexdigest()
NEWEST = {"before": 2**63 - 1, "offset": 0, "limit": 21}
EXPLAINED = [
    # A rare word: its few matches from the GIN index, then sorted.
    ("search_posts", {"query": '"u77"', "hidden": [], **NEWEST}, "idx_posts_search"),
    # A word in every post: walking posts newest first finds the page in 21 rows.
    ("search_posts", {"query": '"common"', "hidden": [], **NEWEST}, "Index Scan Backward"),
    ("search_tagged_posts", {"tags": [TAG_1], "query": "", "hidden": [], **NEWEST}, "post_hashtags_pkey"),
    (
        "search_tagged_posts",
        {"tags": [TAG_1, TAG_2], "query": '"common"', "hidden": [], **NEWEST},
        "post_hashtags_pkey",
    ),
    (
        "search_posts_by_relevance",
        {"query": '"u77"', "tags": [], "hidden": [], "offset": 0, "limit": 21},
        "idx_posts_search",
    ),
    (
        "search_posts_by_relevance",
        {"query": '"u77"', "tags": [TAG_1], "hidden": [], "offset": 0, "limit": 21},
        "idx_posts_search",
    ),
    ("search_hashtags", {"pattern": "ab%", "offset": 0, "limit": 10}, "idx_hashtags_name_pattern"),
    ("search_users", {"pattern": "user01%", "viewer_id": 1, "offset": 0, "limit": 10}, "idx_users_username_pattern"),
]


@pytest.mark.parametrize("name, params, index", EXPLAINED, ids=[f"{q[0]}-{i}" for i, q in enumerate(EXPLAINED)])
def test_each_search_is_served_by_its_index(wsgi_app, db, corpus, name, params, index):
    plan = explain(db, getattr(wsgi_app.registry.queries.search, name), params)
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan
    if name == "search_users" or index == "Index Scan Backward":
        assert "Sort" not in plan, plan  # the index order is the list order: the scan stops at the limit


def test_the_search_column_follows_the_text(app, alice, db):
    post = create(app, alice, "Olá Mundo")
    with db.cursor() as cur:
        cur.execute("SELECT search::text FROM posts WHERE id = %s", (post,))
        assert cur.fetchone()[0] == "'mundo':2 'ola':1"
        cur.execute("UPDATE posts SET likes_count = likes_count WHERE id = %s", (post,))
        cur.execute("UPDATE posts SET text = 'Até logo' WHERE id = %s", (post,))
        cur.execute("SELECT search::text FROM posts WHERE id = %s", (post,))
        assert cur.fetchone()[0] == "'ate':1 'logo':2"
