-- A share's live status is asked by its share id (the credential's
-- credentialStatus URL): capabilities are found by what they name too.
CREATE INDEX capabilities_kind_id ON capabilities(kind, id);
