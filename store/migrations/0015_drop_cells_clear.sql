-- No query looks cells up by (entity, field, clear) since capabilities
-- (0009) hold what tokens open: the index only cost every write of a
-- cell in clear (a share's token hash and service index, every
-- device-local state) an insert at a random place. Token hashes keep
-- their own unique index (cells_token_hash).
DROP INDEX IF EXISTS cells_clear;
