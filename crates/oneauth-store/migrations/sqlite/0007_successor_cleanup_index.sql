-- The cleanup forgets sealed successors once the grace window is over
-- (`successor IS NOT NULL AND used_at < $1`); without this index that
-- UPDATE scans every token, under the write lock, every cleanup run.
CREATE INDEX tokens_successor_used ON tokens(used_at) WHERE successor IS NOT NULL;
