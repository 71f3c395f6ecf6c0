-- retrace schema v8: which client (API key `key:<id>`, or `ip:<address>`) stored each video the
-- server keeps in its media folder, and its size: the per-client quota on stored bytes
-- (src/server/media-ledger.ts). The row goes with the video, however the video is removed.
CREATE TABLE server_media (
  video_id    uuid PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
  client      text NOT NULL,
  bytes       bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX server_media_client_idx ON server_media (client);
