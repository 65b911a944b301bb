package misp

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sharedGalaxy returns the shared DPRK threat-actor galaxy file, or nil
// when the shared data is absent (a fresh clone): the fuzz targets then run
// on their other seeds. Under CI=true the data must be there.
func sharedGalaxy(f *testing.F) []byte {
	dir := os.Getenv("COINTRAIL_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "shared")
	}
	data, err := os.ReadFile(filepath.Join(dir, "data", "misp", "galaxy", "threat-actor-dprk.json"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			f.Fatalf("shared data: %v", err)
		}
		return nil
	}
	return data
}

// galaxyPieces cuts a galaxy file into one file per cluster, and events
// that carry each cluster.
func galaxyPieces(f *testing.F, data []byte) (files, events [][]byte) {
	var file map[string]json.RawMessage
	if json.Unmarshal(data, &file) != nil {
		return nil, nil
	}
	var values []json.RawMessage
	json.Unmarshal(file["values"], &values)
	for _, v := range values {
		one := map[string]json.RawMessage{}
		for k, x := range file {
			one[k] = x
		}
		one["values"] = mustJSON([]json.RawMessage{v})
		files = append(files, mustJSON(one))
		events = append(events, []byte(`{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000","Galaxy":[{"type":"threat-actor","version":`+string(file["version"])+`,"GalaxyCluster":[`+string(v)+`]}]}}`))
	}
	return files, events
}

// FuzzParseEvents checks that any input gives an error, or valid objects
// that an export to MISP and a new import give back unchanged.
func FuzzParseEvents(f *testing.F) {
	for _, name := range []string{"lazarus-theft.json", "lazarus-theft.export.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Add([]byte(`{"response":[{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","date":"2024-01-01","publish_timestamp":"0","timestamp":"1","distribution":"4","SharingGroup":{"SharingGroupOrg":[{"Organisation":{"name":"Example FIU"}}]},
		"Tag":[{"name":"tlp:amber"}],"Attribute":[{"uuid":"11111111-2222-4333-8444-000000000001","type":"xmr","value":"4abc","to_ids":"1","last_seen":"2020-01-01"}],
		"Object":[{"uuid":"11111111-2222-4333-8444-000000000002","name":"cryptocurrency-transaction","Attribute":[{"uuid":"11111111-2222-4333-8444-000000000003","object_relation":"value","type":"float","value":"-0.1"},{"uuid":"11111111-2222-4333-8444-000000000004","object_relation":"symbol","type":"text","value":"TRX"},{"uuid":"11111111-2222-4333-8444-000000000005","object_relation":"transaction-number","type":"text","value":"abc"}]}]}}]}`))
	f.Add([]byte(`[{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":1,"Galaxy":[{"type":"threat-actor","GalaxyCluster":[{"uuid":"68391641-859f-4a9a-9a1e-3e5cf71ec376","value":"L","default":false,"distribution":"0","meta":{"country":["kp","KP","x"],"synonyms":"l"}}]}]}]`))
	if data := sharedGalaxy(f); data != nil {
		_, events := galaxyPieces(f, data)
		for _, e := range events {
			f.Add(e)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseEvents(bytes.NewReader(data), Options{Orgs: testOrgs})
		if err != nil {
			if res != nil {
				t.Fatalf("objects returned with the error %v", err)
			}
			return
		}
		for _, o := range res.Objects {
			if err := validator.Validate(o); err != nil {
				t.Fatalf("invalid object: %v\n%s", err, mustJSON(o))
			}
		}
		var out bytes.Buffer
		if err := WriteEvents(&out, res.Objects); err != nil {
			t.Fatalf("WriteEvents: %v", err)
		}
		again, err := ParseEvents(bytes.NewReader(out.Bytes()), Options{Orgs: testOrgs})
		if err != nil {
			t.Fatalf("the export does not import: %v\n%s", err, out.Bytes())
		}
		if a, b := canonicals(t, res.Objects), canonicals(t, again.Objects); !slices.Equal(a, b) {
			t.Fatalf("export then import changed the objects:\n%s\nexport:\n%s", diff(a, b), out.Bytes())
		}
	})
}

// FuzzParseGalaxy checks that any input gives an error or valid objects,
// the same each time.
func FuzzParseGalaxy(f *testing.F) {
	f.Add([]byte(`{"type":"threat-actor","version":2,"values":[{"uuid":"68391641-859f-4a9a-9a1e-3e5cf71ec376","value":"L","description":"d","meta":{"country":"KP","refs":["https://example.org/"],"synonyms":["a","L"]}}]}`))
	f.Add([]byte(`{"type":"tool","values":[]}`))
	f.Add([]byte(`{"type":"threat-actor","values":[{"uuid":"68391641-859f-4a9a-9a1e-3e5cf71ec376","value":"L","meta":{"n":1e400}}]}`))
	if data := sharedGalaxy(f); data != nil {
		f.Add(data)
		files, _ := galaxyPieces(f, data)
		for _, p := range files {
			f.Add(p)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseGalaxy(bytes.NewReader(data))
		if err != nil {
			if res != nil {
				t.Fatalf("objects returned with the error %v", err)
			}
			return
		}
		for _, o := range res.Objects {
			if err := validator.Validate(o); err != nil {
				t.Fatalf("invalid object: %v\n%s", err, mustJSON(o))
			}
		}
		again, err := ParseGalaxy(bytes.NewReader(data))
		if err != nil || !slices.Equal(canonicals(t, res.Objects), canonicals(t, again.Objects)) {
			t.Fatalf("a second parse differs (%v)", err)
		}
	})
}
