-- 0002: the objects a read served, organisations' nodes, node keys and
-- node state.

-- The objects of an entry that served several, each as id or id@version:
-- a JSON array of strings, '[]' for none. AuditQuery.Object matches it
-- with LIKE on the quoted id.
ALTER TABLE audit ADD COLUMN objects TEXT NOT NULL DEFAULT '[]';

-- The peer node an organisation belongs to; '' for none.
ALTER TABLE orgs ADD COLUMN node TEXT NOT NULL DEFAULT '';

-- The Ed25519 public keys of nodes ('' is this node), by key id. added is
-- in Unix nanoseconds.
CREATE TABLE node_keys (
	node       TEXT    NOT NULL,
	key_id     TEXT    NOT NULL,
	public_key BLOB    NOT NULL,
	added      INTEGER NOT NULL,
	PRIMARY KEY (node, key_id)
);

-- Small pieces of node state (peers' configurations, sync cursors), by
-- key; prefix reads are ranges of the primary key.
CREATE TABLE state (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
