-- Capabilities (a share's verification token, the public link, a health
-- link, the emergency page) no longer carry a copy of the data key. Each
-- reads a view of exactly what it may show now, sealed under a key only
-- its token gives (the emergency page's under the emergency key),
-- re-derived on the write path of every change it shows. Device-local:
-- every device derives its own views from the synced cells.
CREATE TABLE capabilities (
  token_hash BLOB PRIMARY KEY,          -- SHA-256 of the token: one owner per installation
  user_id    TEXT NOT NULL,
  kind       TEXT NOT NULL,             -- share | public | link | emergency
  id         TEXT NOT NULL,             -- the entity's id
  dep        TEXT NOT NULL DEFAULT '',  -- the field a share's view shows
  state      TEXT NOT NULL,             -- active | hidden | revoked | expired | locked
  expires_at INTEGER NOT NULL DEFAULT 0,-- unix ms; 0: none
  kdf        TEXT NOT NULL DEFAULT '',  -- a passcode's Argon2id parameters and salt
  failures   INTEGER NOT NULL DEFAULT 0,
  view       BLOB,                      -- NULL once the capability is dead
  UNIQUE (user_id, kind, id)
) WITHOUT ROWID;
CREATE INDEX capabilities_dep ON capabilities(user_id, kind, dep);
CREATE INDEX capabilities_expiry ON capabilities(expires_at) WHERE view IS NOT NULL AND expires_at > 0;

-- The users whose views this device has derived (a database from before
-- this migration derives them at the next sign-in or background sync).
CREATE TABLE capability_builds (
  user_id TEXT PRIMARY KEY,
  version INTEGER NOT NULL
) WITHOUT ROWID;

-- Each profile's signing key, wrapped under the installation key, so that
-- /verify signs without any data key.
CREATE TABLE signing_keys (
  user_id TEXT PRIMARY KEY,
  wrapped BLOB NOT NULL
) WITHOUT ROWID;

-- The data key copies capabilities used to hold: gone, from the cells and
-- from the operation log.
DELETE FROM cells WHERE (entity IN ('share', 'public') AND field = 'token_dek')
  OR (entity IN ('health_link', 'emergency') AND field = 'dek');
DELETE FROM ops WHERE (entity IN ('share', 'public') AND field = 'token_dek')
  OR (entity IN ('health_link', 'emergency') AND field = 'dek');

-- A token hash names exactly one thing on the installation: where an
-- earlier version let a crafted import or sync place a copy, the first
-- owner keeps it.
DELETE FROM cells WHERE field = 'token_hash' AND deleted = 0 AND EXISTS (
  SELECT 1 FROM cells d WHERE d.field = 'token_hash' AND d.deleted = 0 AND d.clear = cells.clear
    AND (d.hlc < cells.hlc OR (d.hlc = cells.hlc AND (d.user_id || d.entity || d.id) < (cells.user_id || cells.entity || cells.id))));
DROP INDEX cells_token_hash;
CREATE UNIQUE INDEX cells_token_hash ON cells(clear) WHERE field = 'token_hash' AND deleted = 0;

-- A profile id belongs to one account of the installation.
CREATE UNIQUE INDEX accounts_profile_unique ON accounts(profile_id);
