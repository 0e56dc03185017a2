-- When a used authorization code was presented again. The first exchange
-- checks it after storing its tokens, so a reuse that raced it still
-- revokes what it issued.
ALTER TABLE authorization_codes ADD COLUMN reused_at BIGINT;
