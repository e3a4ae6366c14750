-- Device-local: messages this device must deliver (webhook events, e-mail),
-- kept until delivered so that nothing is lost across restarts. The payload
-- is sealed under the installation key: delivery needs no user's password.
CREATE TABLE outbox (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL,
  kind         TEXT NOT NULL,
  payload      BLOB NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  next_at      INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  delivered_at INTEGER,
  last_error   TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX outbox_due ON outbox(next_at) WHERE delivered_at IS NULL;
CREATE INDEX outbox_user ON outbox(user_id, created_at);
