-- Initial schema. Times are UTC text in the fixed-width layout
-- 2006-01-02T15:04:05.000000000Z, so text order is time order. Every record
-- names the principal that created it in created_by (runs: actor).

CREATE TABLE orgs (
	name       TEXT PRIMARY KEY,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;

-- org is '' for platform-wide principals.
CREATE TABLE principals (
	name       TEXT PRIMARY KEY,
	role       TEXT NOT NULL CHECK (role IN ('platform-admin', 'security-approver', 'org-admin', 'developer')),
	org        TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;

-- org is '' for public datasets; the code checks that any other org exists.
-- schema is the JSON array of {"name", "type"} columns.
CREATE TABLE datasets (
	org        TEXT NOT NULL,
	name       TEXT NOT NULL,
	path       TEXT NOT NULL,
	schema     TEXT NOT NULL,
	rows       INTEGER NOT NULL CHECK (rows >= 0),
	bytes      INTEGER NOT NULL CHECK (bytes >= 0),
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (org, name)
) STRICT;

CREATE TABLE webhooks (
	org        TEXT NOT NULL REFERENCES orgs (name),
	name       TEXT NOT NULL,
	url        TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (org, name)
) STRICT;

CREATE TABLE jobs (
	org        TEXT NOT NULL REFERENCES orgs (name),
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (org, name)
) STRICT;

CREATE TABLE bundle_versions (
	org        TEXT NOT NULL,
	job        TEXT NOT NULL,
	digest     TEXT NOT NULL,
	path       TEXT NOT NULL,
	manifest   BLOB,
	size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (org, job, digest),
	FOREIGN KEY (org, job) REFERENCES jobs (org, name)
) STRICT;

CREATE TABLE runs (
	id                TEXT PRIMARY KEY,
	org               TEXT NOT NULL,
	job               TEXT NOT NULL,
	digest            TEXT NOT NULL,
	actor             TEXT NOT NULL,
	state             TEXT NOT NULL CHECK (state IN ('queued', 'running', 'finished')),
	cause             TEXT NOT NULL DEFAULT '',
	reason            TEXT NOT NULL DEFAULT '',
	exit_code         INTEGER,
	limits            BLOB,
	cpu_seconds       REAL NOT NULL DEFAULT 0,
	peak_memory_bytes INTEGER NOT NULL DEFAULT 0,
	oom_kills         INTEGER NOT NULL DEFAULT 0,
	pids_hits         INTEGER NOT NULL DEFAULT 0,
	wall_millis       INTEGER NOT NULL DEFAULT 0,
	rows_returned     INTEGER NOT NULL DEFAULT 0,
	queries           INTEGER NOT NULL DEFAULT 0,
	webhook_calls     INTEGER NOT NULL DEFAULT 0,
	log_path          TEXT NOT NULL DEFAULT '',
	log_bytes         INTEGER NOT NULL DEFAULT 0,
	log_truncated     INTEGER NOT NULL DEFAULT 0,
	cancel_requested  INTEGER NOT NULL DEFAULT 0,
	queued_at         TEXT NOT NULL,
	started_at        TEXT,
	finished_at       TEXT,
	FOREIGN KEY (org, job) REFERENCES jobs (org, name),
	-- A finished run always has its cause.
	CHECK (state != 'finished' OR cause != '')
) STRICT;

CREATE INDEX runs_by_org ON runs (org, queued_at);
CREATE INDEX runs_by_state ON runs (state, queued_at);

-- state 'claimed' means one store handle (claimed_by) is delivering the item.
CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id          TEXT NOT NULL REFERENCES runs (id),
	org             TEXT NOT NULL,
	webhook         TEXT NOT NULL,
	url             TEXT NOT NULL,
	body            BLOB NOT NULL,
	idempotency_key TEXT NOT NULL UNIQUE,
	state           TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'delivered', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	claimed_by      TEXT NOT NULL DEFAULT '',
	claimed_at      TEXT,
	created_at      TEXT NOT NULL,
	delivered_at    TEXT
) STRICT;

CREATE INDEX outbox_by_run ON outbox (run_id, state, id);
CREATE INDEX outbox_by_state ON outbox (state, id);

-- The audit log is a hash chain: hash = sha256(prev_hash || canonical JSON of
-- the event), see EventHash. time is stored exactly as hashed.
CREATE TABLE audit_events (
	seq       INTEGER PRIMARY KEY CHECK (seq >= 1),
	time      TEXT NOT NULL,
	type      TEXT NOT NULL,
	actor     TEXT NOT NULL,
	org       TEXT NOT NULL,
	run_id    TEXT NOT NULL,
	job       TEXT NOT NULL,
	decision  TEXT NOT NULL,
	reason    TEXT NOT NULL,
	details   TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
) STRICT;

CREATE INDEX audit_by_run ON audit_events (run_id, seq);
CREATE INDEX audit_by_org ON audit_events (org, seq);

-- Append-only: moat never updates or deletes an audit event. Someone with
-- write access to the file can drop these triggers, which the hash chain
-- then reveals.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit events are append-only');
END;
