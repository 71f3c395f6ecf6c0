-- retrace schema v8: the size and modification time of a video's file when it was last read
-- (indexed, or confirmed by `retrace sync`). `sync` compares them with the file on disk and
-- hashes a file only when they differ, so an unchanged folder costs one stat per file.
-- NULL for videos indexed before this migration: their first sync hashes them once.
ALTER TABLE videos ADD COLUMN file_size bigint;
ALTER TABLE videos ADD COLUMN file_mtime_ms double precision;
