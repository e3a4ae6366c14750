-- A message whose delivery failed for good (an address the sender refuses,
-- a URL that is not one) keeps the time in failed_at: it stays in the
-- outbox for the user to see, and is never due again.
ALTER TABLE outbox ADD COLUMN failed_at INTEGER;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox(next_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
