-- What holds the thing a record names: a share's service (its entity id).
-- A service's shares are found through it (the app's service.shares),
-- device-locally, instead of through a synced index cell per share (the
-- service_shares entity, which older shares keep and which is still read).
ALTER TABLE capabilities ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX capabilities_owner ON capabilities(user_id, kind, owner) WHERE owner <> '';
