package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/store/postgres/pgtest"
)

// TestCommandsPostgres runs a node on PostgreSQL from the command line:
// init records the database, later commands find it.
func TestCommandsPostgres(t *testing.T) {
	db := pgtest.FreshDatabase(t)
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, "init", "--data", dir, "--db", db)
	mustRun(t, "org", "create", "alpha", "--data", dir)
	out := mustRun(t, "import", "stix", sharedtest.Path(t, "stix", "poisonivy.json"), "--data", dir, "--org", "alpha", "--tlp", "green")
	if !strings.Contains(out, "155 objects added") {
		t.Errorf("import printed %q", out)
	}
	if exp := mustRun(t, "export", "stix", "--data", dir, "--as", "operator"); !strings.Contains(exp, "poison ivy") && !strings.Contains(exp, "Poison Ivy") {
		t.Error("export from PostgreSQL lacks the imported objects")
	}
	// A second node on the same database is refused.
	wantUsage(t, run(t, nil, "", "init", "--data", filepath.Join(t.TempDir(), "other"), "--db", db), "already holds a node")
	wantUsage(t, run(t, nil, "", "init", "--data", filepath.Join(t.TempDir(), "third"), "--db", "mysql://x"), "postgres://")
}
