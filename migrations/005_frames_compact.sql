-- retrace schema v5: frame rows and their indexes under 1 KB per frame with the 51-value
-- descriptor (measured at 100k frames on PostgreSQL, bench/RESULTS.md: 1108 B before).
--  * No b-tree on (video_id, timestamp_sec) any more (65 B per frame when filled by ingests): a
--    BRIN index with a bloom filter on video_id and min/max of timestamp_sec per 16 heap pages
--    (under 1 B per frame). A video's frames are inserted in time order, in batches, so they sit
--    on a few neighbouring pages; `framesOf(video, from, to)` and deleting a video read those
--    pages (plus the rare bloom false positive) and recheck the rows. BRIN ranges are summarised
--    when a video is finished (FrameStore.finishVideo); pages not yet summarised are always read.
--  * No primary-key index on frames.id (23 B per frame): nothing looks a frame up by id. The id
--    stays, unique by its sequence, as the frame's identity in knn hits.
--  * Columns in alignment order (8-byte, 16, 4-byte, then 1-byte and the vectors): 11 B less per row.
-- Existing data is copied in id order (= insertion order), which keeps each video's frames
-- together for the BRIN index. The ANN indexes are rebuilt when the index is next opened.
CREATE TABLE frames_v5 (
  id             bigint NOT NULL DEFAULT nextval('frames_id_seq'),
  timestamp_sec  double precision NOT NULL,
  video_id       uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  -- 0–1 information score; frames near 0 (black, flat, faded) never drive a match.
  quality        real NOT NULL,
  frame_number   integer NOT NULL,
  is_keyframe    boolean NOT NULL DEFAULT false,
  -- Region variant 0: the whole picture (borders removed).
  e0             halfvec,
  -- Region variant 1: the centre region (for cropped copies).
  e1             halfvec
);

INSERT INTO frames_v5 (id, timestamp_sec, video_id, quality, frame_number, is_keyframe, e0, e1)
SELECT id, timestamp_sec, video_id, quality, frame_number, is_keyframe, e0, e1
  FROM frames
 ORDER BY id;

-- The id sequence was owned by the old table's column: keep it.
ALTER SEQUENCE frames_id_seq OWNED BY frames_v5.id;
DROP TABLE frames;
ALTER TABLE frames_v5 RENAME TO frames;
ALTER TABLE frames RENAME CONSTRAINT frames_v5_video_id_fkey TO frames_video_id_fkey;

CREATE INDEX frames_video_brin ON frames
  USING brin (video_id uuid_bloom_ops (false_positive_rate = 0.001), timestamp_sec)
  WITH (pages_per_range = 16, autosummarize = on);
