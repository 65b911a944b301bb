// Package migration reads the schema migrations the SQL stores embed: one
// directory of NNNN_description.sql files per dialect, applied in order,
// each recorded under its version NNNN.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Migration is one forward step of a schema.
type Migration struct {
	// Version is the schema version the step leads to.
	Version int
	// Name is the file name.
	Name string
	// SQL is the file's statements.
	SQL string
}

// Load returns the migrations in dir of fsys, in version order. Each file
// is named NNNN_description.sql; versions must be positive and increasing.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version number", e.Name())
		}
		if len(out) > 0 && out[len(out)-1].Version >= v {
			return nil, fmt.Errorf("migration %s: version %d not after %d", e.Name(), v, out[len(out)-1].Version)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	return out, nil
}

// Latest returns the newest version in ms, 0 if none.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
