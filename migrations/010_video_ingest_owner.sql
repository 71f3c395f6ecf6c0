-- retrace schema v10: which process is ingesting a video that is not ready yet (`host:pid`).
-- A process killed mid-ingest (kill -9, power loss) leaves an 'indexing' row and its frames; the
-- next process to open the index, or to begin an ingest, deletes such rows once their owner is
-- gone (a dead pid on this host, or no heartbeat in updated_at for a while from another host).
ALTER TABLE videos ADD COLUMN ingest_owner text;
