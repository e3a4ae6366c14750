-- Device-local: never synced.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE accounts (
  user_id         TEXT PRIMARY KEY,
  profile_id      TEXT NOT NULL,
  email_mac       BLOB NOT NULL UNIQUE,
  handle_mac      BLOB UNIQUE,
  kdf             TEXT NOT NULL,
  wrapped_dek     BLOB NOT NULL,
  login_key       BLOB,
  key_wrapped_dek BLOB,
  created_at      INTEGER NOT NULL
);

CREATE TABLE sessions (
  token_hash  BLOB PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES accounts(user_id) ON DELETE CASCADE,
  wrapped_dek BLOB NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE challenges (
  hash       BLOB PRIMARY KEY,
  user_id    TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE failures (
  key BLOB NOT NULL,
  at  INTEGER NOT NULL
);
CREATE INDEX failures_key_at ON failures(key, at);

-- Synced: the current state, one row per (user, entity, id, field), and the
-- operation log it is derived from. value is sealed under the user's data
-- key with (user, entity, id, field) as associated data; clear holds only
-- non-secret values (hashes, wrapped keys, times). The merge rule is
-- last-writer-wins by (hlc, device).
CREATE TABLE cells (
  user_id TEXT NOT NULL,
  entity  TEXT NOT NULL,
  id      TEXT NOT NULL,
  field   TEXT NOT NULL,
  value   BLOB,
  clear   BLOB,
  deleted INTEGER NOT NULL DEFAULT 0,
  hlc     INTEGER NOT NULL,
  device  TEXT NOT NULL,
  PRIMARY KEY (user_id, entity, id, field)
) WITHOUT ROWID;
CREATE INDEX cells_clear ON cells(entity, field, clear) WHERE clear IS NOT NULL AND deleted = 0;

CREATE TABLE ops (
  device  TEXT NOT NULL,
  counter INTEGER NOT NULL,
  hlc     INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  entity  TEXT NOT NULL,
  id      TEXT NOT NULL,
  field   TEXT NOT NULL,
  value   BLOB,
  clear   BLOB,
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device, counter)
) WITHOUT ROWID;
CREATE INDEX ops_user ON ops(user_id, device, counter);
