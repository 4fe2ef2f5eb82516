-- The read archive: every read of the reads topic, partitioned by day of captured_at (epoch ms,
-- UTC days). Partitions are made on demand and dropped whole by retention, both through
-- SECURITY DEFINER functions so the app role needs no DDL privilege.

CREATE TABLE reads (
    captured_at bigint NOT NULL,
    read_id text NOT NULL,
    camera_id text NOT NULL,
    received_at bigint NOT NULL,
    plate text NOT NULL,
    plate_norm text NOT NULL,
    plate_skeleton text NOT NULL,
    country text,
    confidence real,
    -- The record as it was on the topic (JSON, UTF-8): kept byte for byte, never re-encoded,
    -- so the writer does no JSON work beyond reading the indexed fields.
    body bytea NOT NULL,
    PRIMARY KEY (read_id, camera_id, captured_at)
) PARTITION BY RANGE (captured_at);
CREATE INDEX reads_plate ON reads (plate_norm, captured_at DESC, read_id DESC);
CREATE INDEX reads_skeleton ON reads (plate_skeleton, captured_at DESC, read_id DESC);
CREATE INDEX reads_camera ON reads (camera_id, captured_at DESC, read_id DESC);
-- Lookups by read_id use the primary key (read_id leads it).

-- The partition of one UTC day, created when missing (serialised per day across writers).
CREATE FUNCTION anpr_read_partition(day date) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    name text := 'reads_p' || to_char(day, 'YYYYMMDD');
    lo bigint := (extract(epoch FROM day::timestamp) * 1000)::bigint;
BEGIN
    IF to_regclass(name) IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext(name));
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF reads FOR VALUES FROM (%s) TO (%s)',
                           name, lo, lo + 86400000);
        END IF;
    END IF;
    RETURN name;
END
$$;

-- Drop every day partition that ends on or before `before_day` starts; the number dropped.
CREATE FUNCTION anpr_drop_read_partitions(before_day date) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'reads'::regclass AND c.relname ~ '^reads_p[0-9]{8}$'
          AND to_date(substr(c.relname, 8), 'YYYYMMDD') < before_day
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;

-- How many positions two plates of the same length differ in (the `ocr` rule's bound).
CREATE FUNCTION anpr_positions_differ(a text, b text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT count(*)::integer FROM generate_series(1, length(a)) AS i
    WHERE substr(a, i, 1) IS DISTINCT FROM substr(b, i, 1)
$$;

REVOKE ALL ON reads FROM PUBLIC;
REVOKE ALL ON FUNCTION anpr_read_partition(date), anpr_drop_read_partitions(date) FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'anpr_app') THEN
        GRANT SELECT, INSERT ON reads TO anpr_app;
        GRANT EXECUTE ON FUNCTION anpr_read_partition(date), anpr_drop_read_partitions(date)
            TO anpr_app;
    END IF;
END
$$;
