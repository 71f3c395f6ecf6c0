-- retrace schema v11: retries of jobs that failed for a passing reason (a lost database
-- connection, ffmpeg killed by a signal). `attempts` counts runs started; a job that still
-- fails after the last attempt ends failed with `dead_letter` set, for an operator to look at.
ALTER TABLE jobs ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN dead_letter boolean NOT NULL DEFAULT false;
