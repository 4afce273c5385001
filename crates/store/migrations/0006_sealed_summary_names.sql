-- Application names of performance summaries are sealed with the instance's data key
-- (`spk1:` values in `name`); exact-name lookups and trends use this keyed hash
-- (HMAC-SHA256 under a subkey of the instance's data key) instead of the plaintext name.
-- Rows written before encryption at rest are sealed (and get their hash) at server start.
ALTER TABLE performance_summaries ADD COLUMN name_index TEXT;
CREATE INDEX performance_summaries_name_index ON performance_summaries (instance_id, name_index, sort_time, id);
-- The index on the (now sealed) name column is of no use any more.
DROP INDEX performance_summaries_name;
