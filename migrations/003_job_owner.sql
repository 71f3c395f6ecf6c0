-- Which process runs a job (`host:pid:instance`). Several servers may share one PostgreSQL:
-- at start-up each fails only the interrupted jobs of processes that are gone, not the running
-- jobs of its peers. A running job's updated_at is its heartbeat.
ALTER TABLE jobs ADD COLUMN owner text;
