-- Watches, alerts, the webhook outbox and the live traces' state.
-- Times are RFC 3339 text, but for the outbox's, which are Unix
-- milliseconds so that the due entries are found by an index range.

CREATE TABLE watches (
	id         TEXT PRIMARY KEY,
	org        TEXT NOT NULL,              -- identity id
	chain      TEXT NOT NULL,
	addresses  TEXT NOT NULL DEFAULT '[]', -- JSON array, canonical
	label      TEXT NOT NULL DEFAULT '',   -- entity name
	min_amount TEXT NOT NULL DEFAULT '0',  -- base units
	webhook    TEXT NOT NULL DEFAULT '',
	secret     TEXT NOT NULL DEFAULT '',
	created    TEXT NOT NULL
);
CREATE INDEX watches_org ON watches (org);

CREATE TABLE alerts (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	org          TEXT NOT NULL,
	watch        TEXT NOT NULL,
	chain        TEXT NOT NULL,
	address      TEXT NOT NULL,
	incident     TEXT NOT NULL,
	tx           TEXT NOT NULL,
	state        TEXT NOT NULL DEFAULT 'new',
	acknowledged TEXT,
	created      TEXT NOT NULL,
	-- sighting_stored: the alert's STIX sighting is in the intel store.
	sighting_stored INTEGER NOT NULL DEFAULT 0,
	-- body: the alert as raised, in JSON; the webhook sends these bytes.
	body         TEXT NOT NULL,
	UNIQUE (incident, watch, tx, address)
);
CREATE INDEX alerts_org ON alerts (org, seq);

CREATE TABLE outbox (
	alert        TEXT PRIMARY KEY REFERENCES alerts (id),
	url          TEXT NOT NULL,
	secret       TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL,         -- Unix ms
	last_error   TEXT NOT NULL DEFAULT '',
	delivered    INTEGER                   -- Unix ms; NULL while pending
);
CREATE INDEX outbox_due ON outbox (next_attempt) WHERE delivered IS NULL;

CREATE TABLE live_traces (
	incident TEXT NOT NULL,
	chain    TEXT NOT NULL,
	seeds    TEXT NOT NULL,  -- JSON array of seed addresses
	frontier TEXT NOT NULL,  -- JSON array: unspent outputs (txid:vout) or addresses holding taint
	tainted  TEXT NOT NULL,  -- JSON object: model -> tainted amount
	unspent  TEXT NOT NULL,  -- JSON object: model -> amount still unspent
	txs      INTEGER NOT NULL, -- transactions in the chain's graph when traced
	error    TEXT NOT NULL DEFAULT '',
	updated  TEXT NOT NULL,
	PRIMARY KEY (incident, chain)
);
