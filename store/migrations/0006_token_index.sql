-- Unauthenticated requests find what a token names by the token's SHA-256,
-- always kept in a "token_hash" cell. Index those cells only: indexing
-- every clear value (wrapped keys, times) cost every write for nothing.
DROP INDEX cells_clear;
CREATE INDEX cells_token_hash ON cells(entity, clear) WHERE field = 'token_hash' AND deleted = 0;
