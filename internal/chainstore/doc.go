// Package chainstore is cointrail's chain index: an embedded Pebble store
// of blocks, transactions, outputs and address histories, looked up by
// key, and beside it the dense numbered graph of each chain (see [Graph])
// that tracing sweeps at memory speed (DESIGN section 5).
//
// # Key layout
//
// Every key of a chain starts with the chain id and a zero byte; a family
// byte follows. Hashes are the 32 bytes of the hash as the chain displays
// it (hex-decoded, no byte reversal); numbers are big-endian, so that keys
// sort in number order; an address key inside a key is length-prefixed
// (uvarint), so that one key's entries never interleave with another's.
// Values are records of uvarints, varints, length-prefixed bytes and
// amounts (length-prefixed big-endian magnitudes), decoded by records.go.
//
//	<chain>\0 c                          counters: next tx/output/input/address/asset/transfer/segment number, block and tx counts
//	<chain>\0 b <block hash>             block: state (applied|stale), segment, height, parent, time, tx count;
//	                                     applied: the tx hashes in order and the numbers it took (the undo data)
//	<chain>\0 y <height> <block hash>    applied blocks by height (known heights only)
//	<chain>\0 s <segment>                segment: start hash, height and missing parent, tip, block and tx counts
//	<chain>\0 t <tx hash>                tx: number, block, position, flags; UTXO: input outpoints, output indexes;
//	                                     account: transfers (from, to, asset number, amount, kind, token id)
//	<chain>\0 o <tx hash> <vout>         output: number, value, kind, key, address, script, spending tx and input
//	<chain>\0 k <address key>            address: number, count of txs that touch it
//	<chain>\0 n <address number>         address key of a number
//	<chain>\0 a <key> <asset number>     totals: received, sent, tx count, first and last seen (tx number, height, time)
//	<chain>\0 h <key> <tx number> <asset number>
//	                                     history: tx hash, height, time, received, sent, credits, debits
//	<chain>\0 x <asset number>           asset id (number 0: the native asset); X <asset id>: its number
//	<chain>\0 g <tx number>              graph row: the transaction's records in the dense graph (what Open reads
//	                                     to rebuild the graph, in number order)
//	<chain>\0 u <source>                 ingest cursor: height, hash and time of the source's last block
//	\0schema                             schema version
//	\0chain\0<chain>                     the chains the store holds
//
// An output is filed under its Key and, when its Address differs, under
// the Address too: a P2PK output counts for its script key and for its
// P2PKH address, as block explorers show it. An output without either
// (null data) is filed under no address. The graph numbers outputs by
// their Key.
//
// # Applying blocks
//
// [Store.Apply] and [Store.ApplyFrom] apply blocks in synced Pebble
// batches, each block whole or not at all, with the source's cursor in
// the same batch: a process killed at any moment reopens to an index
// equal to one built without interruption, and resumes from the cursor.
// Applying a block twice changes nothing. A block extends the segment
// whose tip is its parent; a block whose parent is applied but not a tip
// reorganises: the blocks above the parent are rolled back (their spends
// undone, their outputs, histories and numbers removed, their headers
// kept as stale), and the block extends the parent; the latest block
// applied on a known parent wins, since a node hands out only its best
// chain. A block whose parent is unknown starts a detached segment.
//
// Rolling back needs no stored copy of spent outputs: the index keeps
// every output, so a block's undo data is its transaction list and the
// numbers it took.
//
// # Reading
//
// [Store.Tx], [Store.Address], [Store.History], [Store.Block],
// [Store.BlocksAt], [Store.Cursor] and [Store.Status] read on a snapshot.
// A missing item is an error that wraps chain.ErrNotFound. Amounts are
// exact: UTXO values int64 (satoshi fits), totals *big.Int; JSON carries
// them as decimal strings.
package chainstore
