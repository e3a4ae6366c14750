-- Device-local (never synced): what this device needs to sync a user's
-- profile with the user's other devices.
--
-- sync_accounts: users this device syncs in the background, with the
-- user's data key wrapped under the installation key (so that sync runs
-- while nobody is signed in; see docs/security.md).
CREATE TABLE sync_accounts (
  user_id     TEXT PRIMARY KEY,
  wrapped_dek BLOB NOT NULL,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- sync_peers: the user's other devices as this device knows them: their
-- libp2p peer id, the addresses they were last reached at, and when the
-- last exchange with them happened.
CREATE TABLE sync_peers (
  user_id   TEXT NOT NULL,
  device_id TEXT NOT NULL,
  peer_id   TEXT NOT NULL,
  addrs     TEXT NOT NULL DEFAULT '[]',
  last_sync INTEGER,
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;
