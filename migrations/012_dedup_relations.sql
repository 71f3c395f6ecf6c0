-- retrace schema v12: duplicate clusters (`retrace dedup`, src/core/library/dedup.ts).
-- Each indexed video is searched once against the rest of the library with its stored frame
-- vectors. `dedup_compared` records which videos were searched (and against how many others), so
-- a later run searches only videos indexed since; `dedup_matches` keeps what each search found,
-- one row per (searched video, video found), with its segments. Relations between two videos are
-- read from both directions' rows. Removing a video removes its rows.
CREATE TABLE dedup_compared (
  video_id     uuid PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
  compared_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dedup_matches (
  query_id  uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  ref_id    uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  score     double precision NOT NULL,
  -- [{queryStart, queryEnd, refStart, refEnd, score, verification}] best first.
  segments  jsonb NOT NULL,
  PRIMARY KEY (query_id, ref_id)
);
CREATE INDEX dedup_matches_ref_idx ON dedup_matches (ref_id);
