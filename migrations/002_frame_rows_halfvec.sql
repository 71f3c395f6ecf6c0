-- retrace schema v2: one row per sampled frame with its region vectors as halfvec columns.
-- Measured on 1M frames (bench/RESULTS.md): frame_info + frame_vectors (two float vector rows
-- per frame, each with its own row header, frame id, video id and b-tree entries) took 1570 B
-- per frame; one row with two halfvec columns and HNSW m 12 takes under 1 KB at the same recall.
-- The columns stay undimensioned so one schema serves every descriptor; the ANN indexes are
-- built per descriptor at open time on a cast expression (see src/db/frame-store.ts).
CREATE TABLE frames (
  id             bigserial PRIMARY KEY,
  video_id       uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  frame_number   integer NOT NULL,
  timestamp_sec  double precision NOT NULL,
  is_keyframe    boolean NOT NULL DEFAULT false,
  -- 0–1 information score; frames near 0 (black, flat, faded) never drive a match.
  quality        real NOT NULL,
  -- Region variant 0: the whole picture (borders removed).
  e0             halfvec,
  -- Region variant 1: the centre region (for cropped copies).
  e1             halfvec
);

-- Existing data, in SQL: frame ids are kept, so nothing that refers to a frame changes.
INSERT INTO frames (id, video_id, frame_number, timestamp_sec, is_keyframe, quality, e0, e1)
SELECT fi.id, fi.video_id, fi.frame_number, fi.timestamp_sec, fi.is_keyframe, fi.quality,
       v0.embedding::halfvec, v1.embedding::halfvec
  FROM frame_info fi
  LEFT JOIN frame_vectors v0 ON v0.frame_id = fi.id AND v0.variant = 0
  LEFT JOIN frame_vectors v1 ON v1.frame_id = fi.id AND v1.variant = 1
 ORDER BY fi.id;
SELECT setval(pg_get_serial_sequence('frames', 'id'),
              GREATEST((SELECT max(id) FROM frames), (SELECT last_value FROM frame_info_id_seq), 1));

DROP TABLE frame_vectors;
DROP TABLE frame_info;

-- Deletion by video and alignment look-ups by (video, time); built after the copy (faster).
CREATE INDEX frames_video_time_idx ON frames (video_id, timestamp_sec);

-- knn excludes videos that are not ready yet; this finds those few without reading every video.
CREATE INDEX videos_unready_idx ON videos (id) WHERE status <> 'ready';
