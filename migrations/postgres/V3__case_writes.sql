-- vigil's PostgreSQL store, schema 3: a write to a case is announced by the transaction that makes it.
-- Each transaction that writes cases (a decision, a feed page, a purge) adds, before it commits, one row
-- of changes naming the cases it wrote (sealed, `written`), so the record commits or rolls back with the
-- write: announced afterwards, a decision stored by a service killed before it told anyone was never seen by
-- the other services' clients. A service still announces its other changes itself (`written` false).
ALTER TABLE changes ADD COLUMN written boolean NOT NULL DEFAULT false;
