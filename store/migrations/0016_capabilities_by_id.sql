-- Capability records kept in the order of what they name (user, kind, id:
-- ids are UUIDv7, so a new share's record goes at the end) instead of by
-- token hash. Keyed by token hash, every new record (a few hundred bytes
-- with its sealed view) went to a random page of the table, and so did its
-- entry in capabilities_dep (whose rows end with the key): each write of a
-- batch dirtied pages of its own, and every commit wrote them all to the
-- WAL. The token hash keeps a unique index (one owner per installation).
CREATE TABLE capabilities_by_id (
  user_id    TEXT NOT NULL,
  kind       TEXT NOT NULL,             -- share | public | link | emergency
  id         TEXT NOT NULL,             -- the entity's id
  token_hash BLOB NOT NULL UNIQUE,      -- SHA-256 of the token: one owner per installation
  dep        TEXT NOT NULL DEFAULT '',  -- the field a share's view shows
  state      TEXT NOT NULL,             -- active | hidden | revoked | expired | locked
  expires_at INTEGER NOT NULL DEFAULT 0,-- unix ms; 0: none
  kdf        TEXT NOT NULL DEFAULT '',  -- a passcode's Argon2id parameters and salt
  failures   INTEGER NOT NULL DEFAULT 0,
  view       BLOB,                      -- NULL once the capability is dead
  PRIMARY KEY (user_id, kind, id)
) WITHOUT ROWID;
INSERT INTO capabilities_by_id (user_id, kind, id, token_hash, dep, state, expires_at, kdf, failures, view)
  SELECT user_id, kind, id, token_hash, dep, state, expires_at, kdf, failures, view FROM capabilities;
DROP TABLE capabilities;
ALTER TABLE capabilities_by_id RENAME TO capabilities;
CREATE INDEX capabilities_dep ON capabilities(user_id, kind, dep);
CREATE INDEX capabilities_expiry ON capabilities(expires_at) WHERE view IS NOT NULL AND expires_at > 0;
CREATE INDEX capabilities_kind_id ON capabilities(kind, id);
