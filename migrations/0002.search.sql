-- Search: full-text over live posts, and prefix search over hashtags (and users, whose
-- index idx_users_username_pattern came with 0001). Queries: sql/search.sql.
-- depends: 0001.schema

-- unaccent is a trusted extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS unaccent;

-- One configuration for every post, whatever its language: words are split by the
-- default parser, accents removed (unaccent), then lower-cased (simple). No stemming and
-- no stop words: a post's language is unknown and Portuguese and English mix, so an
-- English stemmer would mangle Portuguese words ('paulo' -> 'paul') and a Portuguese one
-- English words, and either stop-word list drops words the other language needs ('a',
-- 'e', 'do'). Exact words after case and accent folding are predictable in both
-- languages: "cafe" finds "Café", "SAO PAULO" finds "São Paulo", "run" does not find
-- "running". Every token type that may hold a non-ASCII letter goes through unaccent,
-- including words with digits ("Café2026" is a numword); ASCII-only types keep simple.
CREATE TEXT SEARCH CONFIGURATION minitwitter (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION minitwitter
    ALTER MAPPING FOR word, hword, hword_part, numword, numhword, hword_numpart WITH unaccent, simple;

-- The post's words, kept by tgr_posts_search in the writing transaction, so an edit
-- shows in search at once (a soft delete leaves idx_posts_search through its predicate).
--
-- A trigger rather than a GENERATED column. Both would work: calling unaccent() directly
-- is only STABLE, but to_tsvector(regconfig, text) is IMMUTABLE with this configuration,
-- and PostgreSQL recomputes a stored generated column only when text is updated (not for
-- likes_count or deleted_at), like this trigger. The difference is the migration: adding a
-- generated column rewrites the whole table under an ACCESS EXCLUSIVE lock in one step,
-- while a plain column is added at once and filled by an UPDATE that, on a large table,
-- can be run in batches. The function is also the one place that says how a post becomes
-- words, should other fields or weights join later.
ALTER TABLE posts ADD COLUMN search TSVECTOR;

CREATE FUNCTION posts_search_changed() RETURNS TRIGGER AS $$
BEGIN
    NEW.search := to_tsvector('minitwitter', NEW.text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tgr_posts_search
BEFORE INSERT OR UPDATE OF text ON posts
FOR EACH ROW EXECUTE FUNCTION posts_search_changed();

UPDATE posts SET search = to_tsvector('minitwitter', text);
ALTER TABLE posts ALTER COLUMN search SET NOT NULL;

-- search.search_posts, search.search_posts_by_relevance: posts holding every word of a
-- query. Live posts only, so deleted posts never match and cost nothing.
CREATE INDEX idx_posts_search ON posts USING GIN (search) WHERE deleted_at IS NULL;

-- search.search_hashtags: tags by prefix (name LIKE 'pre%'), whatever the collation.
CREATE INDEX idx_hashtags_name_pattern ON hashtags (name text_pattern_ops);
