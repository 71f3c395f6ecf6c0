-- retrace schema v6: API keys for the server, and which key made each job.
-- A key is `rtk_<id>_<secret>`; only a keyed SHA-256 of it is stored (see src/core/auth/api-keys.ts).
-- Keys are revoked, never deleted: "any key exists" turns authentication on, so revoking the
-- last key must not quietly open the server again, and old jobs keep a valid owner.
CREATE TABLE api_keys (
  id          text PRIMARY KEY,
  name        text,
  scope       text NOT NULL CHECK (scope IN ('search', 'index', 'admin')),
  key_hash    text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

-- The key that submitted the job; NULL for jobs made while the server had no keys (or by the
-- library directly). Only that key or an admin key may see the job.
ALTER TABLE jobs ADD COLUMN api_key_id text REFERENCES api_keys (id);
CREATE INDEX jobs_api_key_idx ON jobs (api_key_id, created_at);
