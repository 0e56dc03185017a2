-- A session whose login still has to prove a second factor (1): found only
-- by the second-factor step, never by pages, APIs or the authorization
-- endpoint; replaced by a complete session once the factor is proven.
ALTER TABLE sessions ADD COLUMN second_factor_pending INTEGER NOT NULL DEFAULT 0;
