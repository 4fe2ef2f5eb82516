-- The audit log's retention has a floor the database keeps, whatever the application asks.
--
-- `anpr_purge_audit(before)` trusted `before`: the application's login (the role the services
-- run as) could call it with a cut-off in the far future and erase the whole audit log, and
-- every entry written after at the next retention run, since the cut-off only moves forward.
-- An audit log the audited system can erase is no audit log. Now the cut-off never passes
-- `now - min_keep_ms`: entries younger than the floor (365 days unless the owner sets another)
-- are kept, and a larger `before` is clamped, not refused, so retention goes on.
--
-- The owner changes the floor with `UPDATE audit_retention_floor SET min_keep_ms = ...`; the
-- application's login can read it, not write it.

CREATE TABLE audit_retention_floor (
    id integer PRIMARY KEY CHECK (id = 1),
    min_keep_ms bigint NOT NULL CHECK (min_keep_ms >= 0)
);
INSERT INTO audit_retention_floor (id, min_keep_ms) VALUES (1, 365 * 86400000::bigint);
REVOKE ALL ON audit_retention_floor FROM PUBLIC;

CREATE OR REPLACE FUNCTION anpr_purge_audit(before bigint) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    removed integer;
    latest bigint;
BEGIN
    SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint - min_keep_ms
        INTO latest FROM audit_retention_floor WHERE id = 1;
    UPDATE audit_retention SET cutoff = GREATEST(cutoff, LEAST(before, latest)) WHERE id = 1;
    DELETE FROM audit WHERE at < (SELECT cutoff FROM audit_retention WHERE id = 1);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'anpr_app') THEN
        GRANT SELECT ON audit_retention_floor TO anpr_app;
    END IF;
END
$$;
