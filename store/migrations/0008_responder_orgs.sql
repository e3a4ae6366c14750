-- Device-local: never synced.
-- Organizations whose Ed25519 key this installation trusts to issue
-- responder badges (spp responders trust): found by the key id (the RFC
-- 7638 JWK thumbprint of the key, SHA-256, base64url), the organization's
-- name and public key sealed under the installation key with the key id as
-- associated data, so that a row written by someone without that key is
-- never trusted.
CREATE TABLE responder_orgs (
  key_id     TEXT PRIMARY KEY,
  details    BLOB NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
