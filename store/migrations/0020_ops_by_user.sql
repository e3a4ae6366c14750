-- The operation log is keyed by user first, (user_id, device, counter):
-- every query of it names the user (a sync, a vector, compaction), and the
-- key serves them all, so the second index it kept for them (ops_user) is
-- gone and each write changes one tree fewer. A device's counter still
-- numbers its operations of every user at once (store.DB.counter).
CREATE TABLE ops_0020 (
  user_id TEXT NOT NULL,
  device  TEXT NOT NULL,
  counter INTEGER NOT NULL,
  hlc     INTEGER NOT NULL,
  entity  TEXT NOT NULL,
  id      TEXT NOT NULL,
  field   TEXT NOT NULL,
  value   BLOB,
  clear   BLOB,
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, device, counter)
) WITHOUT ROWID;
INSERT INTO ops_0020 (user_id, device, counter, hlc, entity, id, field, value, clear, deleted)
  SELECT user_id, device, counter, hlc, entity, id, field, value, clear, deleted FROM ops;
DROP TABLE ops;
ALTER TABLE ops_0020 RENAME TO ops;
