-- retrace schema v1. Runs unchanged on PGlite (embedded) and PostgreSQL 15+ with pgvector.
CREATE EXTENSION IF NOT EXISTS vector;

-- Key/value settings of this index, e.g. which descriptor built it.
CREATE TABLE retrace_settings (
  key   text PRIMARY KEY,
  value jsonb NOT NULL
);

CREATE TABLE videos (
  id            uuid PRIMARY KEY,
  -- SHA-256 of the file bytes: indexing the same file twice is a no-op.
  content_hash  text NOT NULL UNIQUE,
  path          text NOT NULL,
  title         text,
  duration_sec  double precision NOT NULL DEFAULT 0,
  fps           double precision,
  width         integer NOT NULL DEFAULT 0,
  height        integer NOT NULL DEFAULT 0,
  codec         text NOT NULL DEFAULT '',
  -- Only 'ready' videos are searchable; 'indexing' rows are invisible until all frames are committed.
  status        text NOT NULL CHECK (status IN ('indexing', 'ready', 'failed')),
  error         jsonb,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  frame_count   integer NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX videos_status_idx ON videos (status);
CREATE INDEX videos_created_idx ON videos (created_at, id);

CREATE TABLE frame_info (
  id             bigserial PRIMARY KEY,
  video_id       uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  frame_number   integer NOT NULL,
  timestamp_sec  double precision NOT NULL,
  is_keyframe    boolean NOT NULL DEFAULT false,
  -- 0–1 information score; frames near 0 (black, flat, faded) never drive a match.
  quality        real NOT NULL
);
-- Deletion by video and alignment look-ups by (video, time).
CREATE INDEX frame_info_video_time_idx ON frame_info (video_id, timestamp_sec);

-- Descriptor vectors, one row per (frame, region variant). The column has no fixed
-- dimension so one schema serves every descriptor; the ANN index is created per descriptor
-- at open time on a cast expression (see src/db/frame-store.ts).
CREATE TABLE frame_vectors (
  frame_id   bigint NOT NULL REFERENCES frame_info (id) ON DELETE CASCADE,
  -- 0 = whole picture (borders removed), 1 = centre region (for cropped copies).
  variant    smallint NOT NULL,
  video_id   uuid NOT NULL,
  embedding  vector NOT NULL,
  PRIMARY KEY (frame_id, variant)
);
CREATE INDEX frame_vectors_video_idx ON frame_vectors (video_id);

CREATE TABLE jobs (
  id           uuid PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('index', 'search')),
  stage        text NOT NULL,
  progress     real NOT NULL DEFAULT 0,
  input        jsonb NOT NULL,
  result       jsonb,
  error        jsonb,
  timings      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX jobs_unfinished_idx ON jobs (created_at) WHERE finished_at IS NULL;
