package stix

import (
	"sync"
	"testing"
)

// TestExtensionConcurrentReads: objects parsed once are shared by readers
// in several goroutines (the intel service keeps them); reading an
// extension must not race.
func TestExtensionConcurrentReads(t *testing.T) {
	o, err := Parse([]byte(`{"type":"incident","spec_version":"2.1","id":"incident--1a1b2c3d-0000-4000-8000-000000000001","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","name":"x","extensions":{"extension-definition--1":{"extension_type":"property-extension","a":1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if ext := o.Extension("extension-definition--1"); string(ext["a"]) != "1" {
				t.Errorf("extension %v", ext)
			}
		})
	}
	wg.Wait()
}
