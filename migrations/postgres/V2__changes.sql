-- vigil's PostgreSQL store, schema 2: what the services sharing a school tell each other.
-- Each service announces what it changed (sealed: case keys are content) as the school's next numbered
-- change, and NOTIFYs the school's own channel (`vigil_changes_` and a hash of its name); the others read
-- every change after the last they saw. Numbers are given under the school's row lock in change_heads, so they commit in order and a
-- reader that saw change N has seen every change before it.
CREATE TABLE change_heads (
  school text PRIMARY KEY,
  last bigint NOT NULL
);

CREATE TABLE changes (
  school text NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 1),
  origin text NOT NULL,
  sealed bytea NOT NULL,
  PRIMARY KEY (school, seq)
);

-- A wake-up list, not evidence (the events and the audit trail are): the services prune it.
GRANT SELECT, INSERT, UPDATE ON change_heads TO vigil_service;
GRANT SELECT, INSERT, DELETE ON changes TO vigil_service;
