-- The transaction fhirhub's PgStore runs for a create (server/store/pg/pg_store.cc: kLockSql, then
-- kCreateSql, then COMMIT) as a pgbench script, with a random id and a 1.3 kB JSON stand-in: what
-- PostgreSQL alone allows for creates, without HTTP or FHIR work. Run against the fhirhub database
-- as its role (see docs/performance.md, REST load).
\set id random(1, 1000000000000)
\set v random(1, 1000000000)
BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT version, deleted, (extract(epoch FROM last_updated) * 1000000)::bigint
  FROM resource_current
  WHERE tenant = 'default' AND type = 'Observation' AND id = 'pgbench-' || :id FOR UPDATE;
WITH cur AS (
  INSERT INTO resource_current (tenant, type, id, version, deleted, last_updated)
  VALUES ('default', 'Observation', 'pgbench-' || :id, 1, false, now())
  ON CONFLICT DO NOTHING RETURNING tenant, type, id, version, deleted, last_updated)
INSERT INTO resource_version (tenant, type, id, version, last_updated, deleted, json)
  SELECT tenant, type, id, version, last_updated, deleted, repeat(md5(CAST(:v AS text)), 40)
  FROM cur RETURNING seq;
COMMIT;
