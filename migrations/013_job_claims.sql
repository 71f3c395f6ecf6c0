-- retrace schema v12: workers. Any process may claim the oldest queued job of a lane
-- (`FOR UPDATE SKIP LOCKED`), not only the one that submitted it. `run_after` holds a retried
-- job back until its backoff has passed, whichever process picks it up next; the partial index
-- keeps that claim a short index scan however many finished jobs the table holds.
ALTER TABLE jobs ADD COLUMN run_after timestamptz;
CREATE INDEX jobs_queued_idx ON jobs (kind, created_at) WHERE stage = 'queued' AND finished_at IS NULL;
