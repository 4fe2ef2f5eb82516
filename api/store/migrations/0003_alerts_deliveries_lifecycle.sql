-- The PostgreSQL side of what the SQLite store gained: alerts (one per vehicle) and their
-- sightings, console sessions, the webhook delivery log, the camera connection lifecycle, and
-- audit retention (a forward-only cut-off, as in the SQLite schema).

CREATE TABLE alerts (
    alert_id text PRIMARY KEY,
    plate_norm text NOT NULL,
    list_id text NOT NULL,
    entry_id text NOT NULL,
    covert boolean NOT NULL,
    test boolean NOT NULL,
    priority integer NOT NULL,
    opened_at bigint NOT NULL,
    last_seen bigint NOT NULL,
    sightings integer NOT NULL,
    first_hit_id text NOT NULL,
    last_hit_id text NOT NULL,
    last_camera_id text NOT NULL,
    summary jsonb NOT NULL,
    ack_outcome text, ack_note text, ack_by text, ack_role text, ack_at bigint
);
CREATE INDEX alerts_key ON alerts (plate_norm, list_id, entry_id, covert, test, last_seen);
CREATE INDEX alerts_seen ON alerts (last_seen, alert_id);

CREATE TABLE alert_sightings (
    hit_id text PRIMARY KEY,
    alert_id text NOT NULL,
    camera_id text NOT NULL,
    captured_at bigint,
    matched_at bigint NOT NULL,
    opened boolean NOT NULL
);
CREATE INDEX alert_sightings_alert ON alert_sightings (alert_id, matched_at);
CREATE INDEX alert_sightings_camera ON alert_sightings (camera_id, alert_id);

CREATE TABLE console_sessions (
    session_hash text PRIMARY KEY,
    token_hash text NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    csrf_token text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

CREATE TABLE deliveries (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id text NOT NULL UNIQUE,
    hit_id text NOT NULL,
    target_id text NOT NULL,
    list_id text NOT NULL,
    covert boolean NOT NULL,
    outcome text NOT NULL,
    attempts integer NOT NULL,
    status_code integer,
    error text,
    first_attempt_at bigint NOT NULL,
    finished_at bigint NOT NULL
);
CREATE INDEX deliveries_target ON deliveries (target_id, seq);
CREATE INDEX deliveries_hit ON deliveries (hit_id);
CREATE INDEX deliveries_finished ON deliveries (finished_at);

CREATE TABLE camera_lifecycle (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    camera_id text NOT NULL,
    kind text NOT NULL,
    at bigint NOT NULL,
    detail jsonb NOT NULL
);
CREATE INDEX camera_lifecycle_camera ON camera_lifecycle (camera_id, at);
-- One row per camera for the kinds that happen once (`api.store.base.ONCE_KINDS`).
CREATE UNIQUE INDEX camera_lifecycle_once ON camera_lifecycle (camera_id, kind)
    WHERE kind IN ('registered', 'first_contact', 'first_valid_read', 'first_heartbeat');

-- Audit retention. UPDATE and TRUNCATE stay refused for everyone; DELETE only of entries before
-- the cut-off, which only moves forward. The app role has no DELETE on audit and no write on the
-- cut-off: it goes through `anpr_purge_audit`, which runs as the owner.
CREATE TABLE audit_retention (
    id integer PRIMARY KEY CHECK (id = 1),
    cutoff bigint NOT NULL
);
INSERT INTO audit_retention (id, cutoff) VALUES (1, 0);

CREATE FUNCTION audit_retention_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.cutoff < OLD.cutoff THEN
        RAISE EXCEPTION 'the audit retention cut-off only moves forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_retention_forward BEFORE UPDATE ON audit_retention
    FOR EACH ROW EXECUTE FUNCTION audit_retention_forward();
CREATE FUNCTION audit_retention_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit retention cut-off only moves forward'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_retention_no_delete BEFORE DELETE OR INSERT ON audit_retention
    FOR EACH ROW EXECUTE FUNCTION audit_retention_fixed();
CREATE TRIGGER audit_retention_no_truncate BEFORE TRUNCATE ON audit_retention
    FOR EACH STATEMENT EXECUTE FUNCTION audit_retention_fixed();

CREATE FUNCTION audit_delete_expired_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.at < (SELECT cutoff FROM audit_retention WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER audit_no_update_delete ON audit;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_delete_expired_only BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_delete_expired_only();

-- Move the cut-off to `before` (never back) and delete the entries before it; the number deleted.
CREATE FUNCTION anpr_purge_audit(before bigint) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    removed integer;
BEGIN
    UPDATE audit_retention SET cutoff = GREATEST(cutoff, before) WHERE id = 1;
    DELETE FROM audit WHERE at < (SELECT cutoff FROM audit_retention WHERE id = 1);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;

REVOKE ALL ON alerts, alert_sightings, console_sessions, deliveries, camera_lifecycle,
    audit_retention FROM PUBLIC;
REVOKE ALL ON FUNCTION anpr_purge_audit(bigint) FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'anpr_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE
            ON alerts, alert_sightings, console_sessions, deliveries, camera_lifecycle
            TO anpr_app;
        GRANT SELECT ON audit_retention TO anpr_app;
        GRANT EXECUTE ON FUNCTION anpr_purge_audit(bigint) TO anpr_app;
    END IF;
END
$$;
