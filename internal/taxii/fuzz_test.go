package taxii

import (
	"testing"

	"github.com/cointrail/cointrail/internal/fault"
)

// FuzzReadObjects feeds arbitrary add-objects bodies to the envelope and
// bundle reader: a body is either refused as malformed or yields objects.
func FuzzReadObjects(f *testing.F) {
	f.Add([]byte(`{"objects":[{"type":"campaign","id":"campaign--b549a58c-afd9-4847-85c3-5be13d56d3cc"}]}`))
	f.Add([]byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[]}`))
	f.Add([]byte(`{"type":"report"}`))
	f.Add([]byte(`{"objects":[1]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		objs, err := readObjects(body)
		if err != nil {
			if fault.CodeOf(err) != fault.Malformed {
				t.Fatalf("error without the malformed code: %v", err)
			}
			return
		}
		for _, o := range objs {
			if o == nil {
				t.Fatalf("nil object from %q", body)
			}
			// Shape only: what parses goes on to validation, which refuses
			// what breaks STIX (an empty id, say).
			if _, err := o.MarshalJSON(); err != nil {
				t.Fatalf("parsed object does not serialise: %v", err)
			}
		}
	})
}
