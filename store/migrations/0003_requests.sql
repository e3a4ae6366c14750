-- Device-local: third parties' requests to a user (POST /requests), kept
-- until the user approves or denies them in the app. A request is found by
-- the SHA-256 of the third party's request_id (its polling capability);
-- what it asks for (service_id, info_field) is sealed under the
-- installation key, since nobody's data key is open when it arrives. On
-- approval the verification token is sealed to box_key, an X25519 key
-- derived from the request_id, so it opens only for the third party.
CREATE TABLE requests (
  id         TEXT PRIMARY KEY,
  poll_hash  BLOB NOT NULL UNIQUE,
  user_id    TEXT NOT NULL,
  box_key    BLOB NOT NULL,
  payload    BLOB NOT NULL,
  status     TEXT NOT NULL,
  result     BLOB,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_at INTEGER
) WITHOUT ROWID;
CREATE INDEX requests_user ON requests(user_id, created_at);
