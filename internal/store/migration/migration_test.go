package migration

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_more.sql": {Data: []byte("B")},
		"m/0001_init.sql": {Data: []byte("A")},
	}
	ms, err := Load(fsys, "m")
	if err != nil || len(ms) != 2 || ms[0].SQL != "A" || Latest(ms) != 2 {
		t.Fatalf("Load = %+v, %v", ms, err)
	}
	for _, bad := range []fstest.MapFS{
		{"m/init.sql": {}},
		{"m/0001_a.sql": {}, "m/0001_b.sql": {}},
		{"m/0000_zero.sql": {}},
	} {
		if _, err := Load(bad, "m"); err == nil {
			t.Errorf("Load accepted %v", bad)
		}
	}
}
