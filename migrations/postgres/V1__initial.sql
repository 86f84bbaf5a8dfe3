-- vigil's PostgreSQL store, schema 1. Every table is keyed by school: one database holds a trust's schools.
-- Content (alerts, events, notes, screenshots, the queue index) is sealed by vigil before it is sent
-- (XChaCha20-Poly1305, bound to its table, school and key): the database sees ids, times and sizes only.
-- The audit trail holds no content and is kept in the clear, keyed (HMAC) by vigil.

-- The role vigil's service logs in as is a member of vigil_service (README, "A trust's PostgreSQL
-- database"). Roles belong to the whole cluster, so it is made once, by whoever migrates first.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vigil_service') THEN
    CREATE ROLE vigil_service NOLOGIN;
  END IF;
END
$$;

-- The key check and retention's hint, per school.
CREATE TABLE meta (
  school text NOT NULL,
  name bytea NOT NULL,
  value bytea NOT NULL,
  PRIMARY KEY (school, name)
);

CREATE TABLE alerts (
  school text NOT NULL,
  case_key bytea NOT NULL,
  sealed bytea NOT NULL,
  PRIMARY KEY (school, case_key)
);

-- Append-only. A case's events are numbered 1, 2, 3, ...: two writers that judged the same case at the same
-- length both try the same number, and the primary key lets one of them in.
CREATE TABLE events (
  school text NOT NULL,
  case_key bytea NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 1),
  at timestamptz NOT NULL,
  sealed bytea NOT NULL,
  PRIMARY KEY (school, case_key, seq)
);

-- The queue index: one sealed summary per case, derived from its events.
CREATE TABLE case_index (
  school text NOT NULL,
  case_key bytea NOT NULL,
  open boolean NOT NULL,
  settled_at timestamptz,
  sealed bytea NOT NULL,
  PRIMARY KEY (school, case_key)
);

-- Append-only. Each record carries the MAC of the one before it.
CREATE TABLE audit_records (
  school text NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 1),
  stored bytea NOT NULL,
  PRIMARY KEY (school, seq)
);

-- Each school's trail head and key marker (both MAC'd).
CREATE TABLE audit_heads (
  school text PRIMARY KEY,
  keyed bytea NOT NULL,
  head bytea NOT NULL
);

CREATE TABLE feed_state (
  school text PRIMARY KEY,
  state bytea NOT NULL
);

CREATE TABLE quarantine (
  school text NOT NULL,
  qkey bytea NOT NULL,
  received_at timestamptz NOT NULL,
  sealed bytea NOT NULL,
  PRIMARY KEY (school, qkey)
);

CREATE TABLE blobs (
  school text NOT NULL,
  name text NOT NULL,
  sealed bytea NOT NULL,
  PRIMARY KEY (school, name)
);

-- Screenshots kept as a cache, evicted oldest first beyond a cap.
CREATE SEQUENCE blob_cache_order;
CREATE TABLE blob_cache (
  school text NOT NULL,
  name text NOT NULL,
  ord bigint NOT NULL,
  size bigint NOT NULL,
  sealed bytea NOT NULL,
  PRIMARY KEY (school, name)
);

CREATE SEQUENCE handover_note_ids;
CREATE TABLE handover_notes (
  school text NOT NULL,
  id bigint NOT NULL,
  at timestamptz NOT NULL,
  sealed bytea NOT NULL,
  PRIMARY KEY (school, id)
);

-- Handover acknowledgements and last looks, by user.
CREATE TABLE team (
  school text NOT NULL,
  key bytea NOT NULL,
  sealed bytea NOT NULL,
  PRIMARY KEY (school, key)
);

-- Retention: the one way a case's alert, events and index entry leave, with its tombstone appended to the
-- school's trail as the next record, in one statement. It runs as the schema's owner, so vigil_service
-- needs no DELETE on events or audit records.
CREATE FUNCTION vigil_purge_case(p_school text, p_case bytea, p_seq bigint, p_stored bytea, p_head bytea)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  last_seq bigint;
BEGIN
  SELECT COALESCE(max(seq), 0) INTO last_seq FROM audit_records WHERE school = p_school;
  IF p_seq <> last_seq + 1 THEN
    RAISE EXCEPTION 'the tombstone must be record %, not %', last_seq + 1, p_seq USING ERRCODE = '40001';
  END IF;
  DELETE FROM alerts WHERE school = p_school AND case_key = p_case;
  DELETE FROM events WHERE school = p_school AND case_key = p_case;
  DELETE FROM case_index WHERE school = p_school AND case_key = p_case;
  INSERT INTO audit_records (school, seq, stored) VALUES (p_school, p_seq, p_stored);
  UPDATE audit_heads SET head = p_head WHERE school = p_school;
END
$$;

REVOKE ALL ON FUNCTION vigil_purge_case(text, bytea, bigint, bytea, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil_purge_case(text, bytea, bigint, bytea, bytea) TO vigil_service;

-- Grants, not trust: events and audit records can be added and read, never changed or removed.
GRANT SELECT, INSERT ON events, audit_records TO vigil_service;
GRANT SELECT, INSERT, UPDATE ON alerts, audit_heads TO vigil_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON meta, case_index, feed_state, quarantine, blobs, blob_cache,
  handover_notes, team TO vigil_service;
GRANT USAGE ON SEQUENCE blob_cache_order, handover_note_ids TO vigil_service;
GRANT SELECT ON refinery_schema_history TO vigil_service;
