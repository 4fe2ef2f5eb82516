-- The control room: hits, acknowledgements, the audit log and camera activity.
-- Applied by `anpr db upgrade` (or at start) as the schema owner; the API logs in as `anpr_app`.

CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO meta (key, value) VALUES ('store_id', md5(random()::text || clock_timestamp()::text));

CREATE TABLE hits (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hit_id text NOT NULL UNIQUE,
    matched_at bigint NOT NULL,
    camera_id text NOT NULL,
    list_id text NOT NULL,
    plate_norm text NOT NULL,
    covert boolean NOT NULL,
    topic_ts bigint NOT NULL,
    body jsonb NOT NULL,
    ack_outcome text, ack_note text, ack_by text, ack_role text, ack_at bigint
);
CREATE INDEX hits_time ON hits (matched_at, hit_id);
CREATE INDEX hits_camera ON hits (camera_id, matched_at);
CREATE INDEX hits_list ON hits (list_id, matched_at);
CREATE INDEX hits_plate ON hits (plate_norm, matched_at);

CREATE TABLE audit (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at bigint NOT NULL,
    actor text NOT NULL,
    role text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    reason text,
    detail jsonb NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_actor ON audit (actor, at);

-- Append-only, whoever asks: the trigger stops UPDATE, DELETE and TRUNCATE even by the owner
-- (the app role has no such privilege in the first place, see the grants below).
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

CREATE TABLE camera_activity (
    camera_id text PRIMARY KEY,
    first_seen bigint NOT NULL,
    last_read_at bigint,
    last_heartbeat_at bigint,
    updated_at bigint NOT NULL
);

REVOKE ALL ON meta, hits, audit, camera_activity FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'anpr_app') THEN
        GRANT SELECT ON meta TO anpr_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON hits, camera_activity TO anpr_app;
        GRANT SELECT, INSERT ON audit TO anpr_app;
    END IF;
END
$$;
