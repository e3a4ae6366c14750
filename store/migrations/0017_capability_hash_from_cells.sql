-- A capability record is found by its token hash through the cells' unique
-- token_hash index (migration 0013: one live owner per installation), then
-- its primary key: the record's own unique index on token_hash goes. It
-- was a second B-tree keyed by a random value, so every new share wrote a
-- random page of it to the WAL, beside the random page of the cells' index
-- that says the same thing. The column stays: a record is the current one
-- only while its token hash is its entity's live token_hash cell.
CREATE TABLE capabilities_0017 (
  user_id    TEXT NOT NULL,
  kind       TEXT NOT NULL,             -- share | public | link | emergency
  id         TEXT NOT NULL,             -- the entity's id
  token_hash BLOB NOT NULL,             -- SHA-256 of the token: its entity's token_hash cell
  dep        TEXT NOT NULL DEFAULT '',  -- the field a share's view shows
  state      TEXT NOT NULL,             -- active | hidden | revoked | expired | locked
  expires_at INTEGER NOT NULL DEFAULT 0,-- unix ms; 0: none
  kdf        TEXT NOT NULL DEFAULT '',  -- a passcode's Argon2id parameters and salt
  failures   INTEGER NOT NULL DEFAULT 0,
  view       BLOB,                      -- NULL once the capability is dead
  PRIMARY KEY (user_id, kind, id)
) WITHOUT ROWID;
INSERT INTO capabilities_0017 (user_id, kind, id, token_hash, dep, state, expires_at, kdf, failures, view)
  SELECT user_id, kind, id, token_hash, dep, state, expires_at, kdf, failures, view FROM capabilities;
DROP TABLE capabilities;
ALTER TABLE capabilities_0017 RENAME TO capabilities;
CREATE INDEX capabilities_dep ON capabilities(user_id, kind, dep);
CREATE INDEX capabilities_expiry ON capabilities(expires_at) WHERE view IS NOT NULL AND expires_at > 0;
CREATE INDEX capabilities_kind_id ON capabilities(kind, id);
