-- The reply's running total (current valid entries of a province in a batch) is counted
-- in every filing transaction: without an index it scans every entry, so filing slowed as
-- the registry grew.
CREATE INDEX entries_province_batch ON entries(province, batch) WHERE superseded_by IS NULL;
