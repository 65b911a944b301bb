-- 0001: objects, organisations, tokens, the audit log and the counters.
--
-- Identifiers and names compare byte by byte (COLLATE "C"), as in SQLite:
-- versions order as strings, and organisations list in the same order on
-- both stores whatever the database's locale.

-- One row per stored version of an object. date_added is unique, strictly
-- increasing in commit order, and the order of every page.
CREATE TABLE objects (
	date_added   BIGINT  PRIMARY KEY,
	id           TEXT    COLLATE "C" NOT NULL,
	type         TEXT    COLLATE "C" NOT NULL,
	version      TEXT    COLLATE "C" NOT NULL DEFAULT '',
	owner        TEXT    COLLATE "C" NOT NULL,
	local        BOOLEAN NOT NULL,
	tlp          TEXT    NOT NULL,
	recipients   TEXT    NOT NULL DEFAULT '[]',
	revoked      BOOLEAN NOT NULL,
	spec_version TEXT    NOT NULL,
	text         TEXT    NOT NULL,
	data         BYTEA   NOT NULL,
	latest       BOOLEAN NOT NULL
);
CREATE INDEX objects_id ON objects (id, date_added);
CREATE INDEX objects_type_latest ON objects (type, latest, date_added);
CREATE INDEX objects_latest ON objects (latest, date_added);
CREATE UNIQUE INDEX objects_id_version ON objects (id, version) WHERE version <> '';

-- The last value handed out of each counter. A write transaction locks a
-- row (SELECT ... FOR UPDATE) to serialise with the others that use it:
-- 'date_added' for the whole of every Update, 'audit_seq' while audit
-- entries are appended.
CREATE TABLE counters (
	name  TEXT   PRIMARY KEY,
	value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('date_added', 0), ('audit_seq', 0);

-- Times are Unix nanoseconds; 0 (NOT NULL columns) or NULL stands for the
-- zero time.
CREATE TABLE orgs (
	id      TEXT    COLLATE "C" PRIMARY KEY,
	name    TEXT    COLLATE "C" NOT NULL UNIQUE,
	local   BOOLEAN NOT NULL,
	created BIGINT  NOT NULL
);

CREATE TABLE tokens (
	id      TEXT   COLLATE "C" PRIMARY KEY,
	org     TEXT   COLLATE "C" NOT NULL REFERENCES orgs (id),
	role    TEXT   NOT NULL,
	hash    BYTEA  NOT NULL,
	created BIGINT NOT NULL,
	expires BIGINT,
	revoked BIGINT
);
CREATE INDEX tokens_org ON tokens (org, created);

CREATE TABLE audit (
	seq     BIGINT PRIMARY KEY,
	time    BIGINT NOT NULL,
	org     TEXT   COLLATE "C" NOT NULL,
	token   TEXT   NOT NULL,
	action  TEXT   NOT NULL,
	object  TEXT   COLLATE "C" NOT NULL,
	version TEXT   NOT NULL,
	tlp     TEXT   NOT NULL,
	detail  TEXT   NOT NULL
);
CREATE INDEX audit_org ON audit (org, seq);
CREATE INDEX audit_object ON audit (object, seq);
