-- retrace schema v7: request counters of the server's rate limit (express-rate-limit's Store,
-- src/server/rate-limit-store.ts). In the database, not in memory, so every server on one
-- PostgreSQL counts a client's requests together. One row per client and window: `key` is the
-- limiter's prefix plus the client (API key id or IP address); the row restarts at 1 once
-- `reset_at` has passed, and rows long past it are deleted by the server's sweep.
CREATE TABLE rate_limit_hits (
  key       text PRIMARY KEY,
  hits      integer NOT NULL,
  reset_at  timestamptz NOT NULL
);
CREATE INDEX rate_limit_hits_reset_idx ON rate_limit_hits (reset_at);
