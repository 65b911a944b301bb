package bench

import (
	"fmt"

	"github.com/cointrail/cointrail/internal/store/sqlite"
)

// The sync benchmark (sync.sh) fills a source node A with a corpus that
// the organisation A issues the pulling node's token to sees in full.
const (
	// SyncSeed is the seed of the source node's corpus.
	SyncSeed = "sync"
	// SyncRecipientName and SyncRecipient name the organisation, registered
	// on the source node, that its TLP:AMBER cases are shared with and that
	// the pulling node's sync token acts for.
	SyncRecipientName = "bravo"
	SyncRecipient     = "identity--7b0a3c52-5d3e-4f7a-9c1e-2f8d6b4a0e11"
	// syncDatasetVersion changes whenever what the fill stores changes in
	// a way CorpusVersion and the schema version do not show (signing,
	// provenance), so that cached source nodes are refilled.
	syncDatasetVersion = 1
)

// SyncDataset returns the name of the cached data folder of a source node
// holding objects objects: it changes with the SQLite schema, the corpus
// and the way the fill stores them.
func SyncDataset(objects int) string {
	return fmt.Sprintf("sync-a-%d-schema%d-corpus%d-v%d", objects, sqlite.SchemaVersion(), CorpusVersion, syncDatasetVersion)
}
