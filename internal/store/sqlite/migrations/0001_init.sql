-- 0001: objects, organisations, tokens, the audit log and the clock.

-- One row per stored version of an object. date_added is the rowid: it is
-- unique, strictly increasing in commit order, and the order of every page.
CREATE TABLE objects (
	date_added   INTEGER PRIMARY KEY,
	id           TEXT    NOT NULL,
	type         TEXT    NOT NULL,
	version      TEXT    NOT NULL DEFAULT '',
	owner        TEXT    NOT NULL,
	local        INTEGER NOT NULL,
	tlp          TEXT    NOT NULL,
	recipients   TEXT    NOT NULL DEFAULT '[]',
	revoked      INTEGER NOT NULL,
	spec_version TEXT    NOT NULL,
	text         TEXT    NOT NULL,
	data         BLOB    NOT NULL,
	latest       INTEGER NOT NULL
);
CREATE INDEX objects_id ON objects (id, date_added);
CREATE INDEX objects_type_latest ON objects (type, latest, date_added);
CREATE INDEX objects_latest ON objects (latest, date_added);
CREATE UNIQUE INDEX objects_id_version ON objects (id, version) WHERE version <> '';

-- The last DateAdded handed out; read and written only inside a write
-- transaction, which SQLite serialises.
CREATE TABLE clock (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	last INTEGER NOT NULL
);
INSERT INTO clock (id, last) VALUES (1, 0);

-- Times are Unix nanoseconds; 0 (NOT NULL columns) or NULL stands for the
-- zero time.
CREATE TABLE orgs (
	id      TEXT    PRIMARY KEY,
	name    TEXT    NOT NULL UNIQUE,
	local   INTEGER NOT NULL,
	created INTEGER NOT NULL
);

CREATE TABLE tokens (
	id      TEXT    PRIMARY KEY,
	org     TEXT    NOT NULL REFERENCES orgs (id),
	role    TEXT    NOT NULL,
	hash    BLOB    NOT NULL,
	created INTEGER NOT NULL,
	expires INTEGER,
	revoked INTEGER
);
CREATE INDEX tokens_org ON tokens (org, created);

CREATE TABLE audit (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	time    INTEGER NOT NULL,
	org     TEXT    NOT NULL,
	token   TEXT    NOT NULL,
	action  TEXT    NOT NULL,
	object  TEXT    NOT NULL,
	version TEXT    NOT NULL,
	tlp     TEXT    NOT NULL,
	detail  TEXT    NOT NULL
);
CREATE INDEX audit_org ON audit (org, seq);
CREATE INDEX audit_object ON audit (object, seq);
