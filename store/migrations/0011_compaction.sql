-- Device-local (never synced): what compaction of the operation log and
-- the device list's replay guard need (store/compact.go, docs/sync.md).
--
-- Compacted operations keep their identity (device, counter) in ops with
-- deleted = 2 and no value, so vectors and anti-entropy still count them.
--
-- sync_vectors: the operation vector each of the user's other devices last
-- reported here (its hello, and every ping): what it holds. A tombstone is
-- dropped only once every listed device reported holding it.
CREATE TABLE sync_vectors (
  user_id   TEXT NOT NULL,
  device_id TEXT NOT NULL,
  vector    TEXT NOT NULL,
  at        INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;

-- sync_lists: the newest verified signed device list this device has seen
-- for the user. A list of a lower version is never in force again here,
-- whatever the synced cells say.
CREATE TABLE sync_lists (
  user_id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  signed  BLOB NOT NULL
) WITHOUT ROWID;

-- sync_removed: devices (device id and peer id) this device has seen
-- removed from the user's list, by a newer list that drops them or names
-- them among its removed. A removed device is refused for good here: no
-- list naming it is in force, and its device cells are not brought back.
CREATE TABLE sync_removed (
  user_id   TEXT NOT NULL,
  device_id TEXT NOT NULL,
  peer_id   TEXT NOT NULL,
  version   INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id, peer_id)
) WITHOUT ROWID;
