-- Handles repeat, as in the original service: a handle is a display name,
-- not a key (the original's own suite registers many users with the handle
-- "h"). SQLite cannot drop a column's UNIQUE constraint, so accounts is
-- rebuilt without it (every other column and constraint as it was).
-- sessions refers to accounts with ON DELETE CASCADE:
-- it is set aside first and restored after, so that dropping the old
-- accounts table deletes no session.
CREATE TABLE sessions_keep AS SELECT token_hash, user_id, wrapped_dek, created_at, expires_at FROM sessions;
DROP TABLE sessions;

CREATE TABLE accounts_new (
  user_id         TEXT PRIMARY KEY,
  profile_id      TEXT NOT NULL,
  email_mac       BLOB NOT NULL UNIQUE,
  handle_mac      BLOB,
  kdf             TEXT NOT NULL,
  wrapped_dek     BLOB NOT NULL,
  login_key       BLOB,
  key_wrapped_dek BLOB,
  created_at      INTEGER NOT NULL
);
INSERT INTO accounts_new(user_id, profile_id, email_mac, handle_mac, kdf, wrapped_dek, login_key, key_wrapped_dek, created_at)
  SELECT user_id, profile_id, email_mac, handle_mac, kdf, wrapped_dek, login_key, key_wrapped_dek, created_at FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
-- Dropping the old table dropped its indexes: each is made again here
-- (0009's accounts_profile_unique: a profile id belongs to one account of
-- the installation). Third parties name a user by handle (now possibly
-- several accounts) or by profile id.
CREATE INDEX accounts_handle ON accounts(handle_mac) WHERE handle_mac IS NOT NULL;
CREATE UNIQUE INDEX accounts_profile_unique ON accounts(profile_id);

CREATE TABLE sessions (
  token_hash  BLOB PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES accounts(user_id) ON DELETE CASCADE,
  wrapped_dek BLOB NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions(expires_at);
INSERT INTO sessions(token_hash, user_id, wrapped_dek, created_at, expires_at)
  SELECT token_hash, user_id, wrapped_dek, created_at, expires_at FROM sessions_keep;
DROP TABLE sessions_keep;
