-- 0002: the objects a read served, organisations' nodes, node keys and
-- node state.

-- The objects of an entry that served several, each as id or id@version:
-- a JSON array of strings (as text, as in SQLite), '[]' for none.
-- AuditQuery.Object matches it with LIKE on the quoted id.
ALTER TABLE audit ADD COLUMN objects TEXT NOT NULL DEFAULT '[]';

-- The peer node an organisation belongs to; '' for none.
ALTER TABLE orgs ADD COLUMN node TEXT COLLATE "C" NOT NULL DEFAULT '';

-- The Ed25519 public keys of nodes ('' is this node), by key id. added is
-- in Unix nanoseconds.
CREATE TABLE node_keys (
	node       TEXT   COLLATE "C" NOT NULL,
	key_id     TEXT   COLLATE "C" NOT NULL,
	public_key BYTEA  NOT NULL,
	added      BIGINT NOT NULL,
	PRIMARY KEY (node, key_id)
);

-- Small pieces of node state (peers' configurations, sync cursors), by
-- key. Keys compare byte by byte, so that a prefix read is a range of the
-- primary key.
CREATE TABLE state (
	key   TEXT COLLATE "C" PRIMARY KEY,
	value TEXT NOT NULL
);
