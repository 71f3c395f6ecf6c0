-- retrace schema v14: duplicate clusters run as a background job (POST /api/dedup), not inside
-- a request: a first run over a large library takes minutes. A job of kind `dedup` has no input
-- file. `items` holds countable progress ({"done": n, "total": m}: videos searched so far), so
-- whoever reads the row sees it, also when a worker runs the job. At most one dedup job is
-- unfinished at a time: a second request while one waits or runs gets that job, whichever
-- process asked (the partial unique index decides, not a check-then-insert race).
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('index', 'search', 'dedup'));
ALTER TABLE jobs ADD COLUMN items jsonb;
CREATE UNIQUE INDEX jobs_one_dedup_idx ON jobs (kind) WHERE kind = 'dedup' AND finished_at IS NULL;
