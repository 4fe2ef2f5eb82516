-- Audit retention counts the entries it removes for /metrics (no token); those marked covert
-- (about covert lists, hits and alerts) are removed but no longer counted. Beside
-- `anpr_api_audit_entries_total`, which leaves them out, a count with them gave their number by
-- difference. Same cut-off and floor as migration 0004; only the count changes.

CREATE OR REPLACE FUNCTION anpr_purge_audit(before bigint) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    removed integer;
    latest bigint;
BEGIN
    SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint - min_keep_ms
        INTO latest FROM audit_retention_floor WHERE id = 1;
    UPDATE audit_retention SET cutoff = GREATEST(cutoff, LEAST(before, latest)) WHERE id = 1;
    WITH gone AS (
        DELETE FROM audit WHERE at < (SELECT cutoff FROM audit_retention WHERE id = 1)
        RETURNING detail
    )
    SELECT count(*) FILTER (WHERE (detail -> 'covert') IS DISTINCT FROM 'true'::jsonb)
        INTO removed FROM gone;
    RETURN removed;
END
$$;
