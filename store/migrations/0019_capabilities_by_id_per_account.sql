-- A share's status (asked by its share id) is found with one probe of the
-- primary key per user id the records hold (a skip scan of the key:
-- qCapabilitiesByID), not through an index of every record by kind and
-- id: that index cost every share written a tree more to change, and its
-- pages in every commit.
DROP INDEX capabilities_kind_id;
