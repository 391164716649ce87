-- Finer statistics for posts.search. With the default target (100) the planner's list
-- of most common words is short, so it guessed ~1,000 matches for any word off the list
-- and walked idx_posts_id_live newest first for a rare word: 141 ms on D1 (1M posts),
-- reading 131k rows to fill one page. With 1000 it estimates ~100 and reads the word's
-- matches from idx_posts_search instead: 1.3 ms. ANALYZE takes ~2 s longer on D1.
-- depends: 0003.idempotency

ALTER TABLE posts ALTER COLUMN search SET STATISTICS 1000;
