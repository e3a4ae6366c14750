-- Device-local: never synced.
-- This device's wrap of each user's emergency key (under the installation
-- key): what lets a logged grant open the emergency information without
-- the user's password. Another device makes its own wrap from the key's
-- copy sealed under the user's data key when the user signs in there.
CREATE TABLE emergency_keys (
  user_id     TEXT PRIMARY KEY,
  wrapped_key BLOB NOT NULL,
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Each user's emergency access log as this device answered it: a hash
-- chain (hash = SHA-256 over a tag, prev_hash and the entry's body); the
-- entry itself is sealed under the installation key, bound to (user, seq).
CREATE TABLE emergency_log (
  user_id   TEXT NOT NULL,
  seq       INTEGER NOT NULL,
  at        INTEGER NOT NULL,
  entry     BLOB NOT NULL,
  prev_hash BLOB NOT NULL,
  hash      BLOB NOT NULL,
  PRIMARY KEY (user_id, seq)
) WITHOUT ROWID;

-- The registry of verified responders (the responders subcommand): found
-- by a keyed hash of the id, details sealed under the installation key.
CREATE TABLE responders (
  mac        BLOB PRIMARY KEY,
  details    BLOB NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
