package misp_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/cointrail/cointrail/internal/formats/misp"
)

func ExampleParseEvents() {
	event := `{"Event": {
		"uuid": "5f1c2a3e-8b4d-4c6e-9a7f-1b2c3d4e5f60", "info": "Exchange hot wallet drained",
		"date": "2024-05-31", "timestamp": "1717372800", "distribution": "1",
		"Tag": [{"name": "tlp:amber"}],
		"Attribute": [
			{"uuid": "0d5a1c64-1a2b-4c3d-8e4f-5a6b7c8d9e01", "type": "btc", "category": "Financial fraud",
			 "value": "BC1QCM8L3LAALRCZT6RPSP2V3E5XZNESSG9Q0Y9DF0", "to_ids": true, "comment": "First hop"},
			{"uuid": "0d5a1c64-1a2b-4c3d-8e4f-5a6b7c8d9e02", "type": "btc", "category": "Financial fraud",
			 "value": "1NjaqAowXVjwwLKBg3QSSCHAFm5pLsHxuM", "to_ids": true}
		]}}`
	res, err := misp.ParseEvents(strings.NewReader(event), misp.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range res.Objects {
		fmt.Println(strings.TrimSpace(o.Type + " " + o.TLP().Label() + " " + o.String("value") + o.String("pattern")))
	}
	fmt.Println(len(res.Skipped), "skipped")
	// Output:
	// cryptocurrency-wallet TLP:AMBER bc1qcm8l3laalrczt6rpsp2v3e5xznessg9q0y9df0
	// indicator TLP:AMBER [cryptocurrency-wallet:chain = 'bitcoin' AND cryptocurrency-wallet:value = 'bc1qcm8l3laalrczt6rpsp2v3e5xznessg9q0y9df0']
	// report TLP:AMBER
	// 1 skipped
}

func ExampleParseGalaxy() {
	galaxy := `{"name": "Threat Actor", "type": "threat-actor", "version": 349, "values": [
		{"uuid": "68391641-859f-4a9a-9a1e-3e5cf71ec376", "value": "Lazarus Group",
		 "meta": {"country": "KP", "synonyms": ["Hidden Cobra", "APT38", "Lazarus group"]}}]}`
	res, err := misp.ParseGalaxy(strings.NewReader(galaxy))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range res.Objects {
		fmt.Println(o.Type, o.Modified(), o.String("name")+o.String("country")+o.String("relationship_type"), o.Strings("aliases"))
	}
	// Output:
	// location 1970-01-01T00:00:00.000Z KP []
	// relationship 1970-01-01T00:05:49.000Z located-at []
	// threat-actor 1970-01-01T00:05:49.000Z Lazarus Group [Hidden Cobra APT38]
}

func ExampleWriteEvents() {
	event := `{"Event": {"uuid": "5f1c2a3e-8b4d-4c6e-9a7f-1b2c3d4e5f60", "info": "Drain", "date": "2024-05-31",
		"timestamp": "1717372800", "distribution": "3",
		"Attribute": [{"uuid": "0d5a1c64-1a2b-4c3d-8e4f-5a6b7c8d9e04", "type": "xmr", "category": "Financial fraud",
			"value": "48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD",
			"to_ids": false, "timestamp": "1717165380"}]}}`
	res, err := misp.ParseEvents(strings.NewReader(event), misp.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := misp.WriteEvents(os.Stdout, res.Objects); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"response":[
	// {"Event":{"uuid":"5f1c2a3e-8b4d-4c6e-9a7f-1b2c3d4e5f60","info":"Drain","date":"2024-05-31","timestamp":"1717372800","publish_timestamp":"0","distribution":"3","Attribute":[{"uuid":"0d5a1c64-1a2b-4c3d-8e4f-5a6b7c8d9e04","type":"xmr","category":"Financial fraud","value":"48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD","to_ids":false,"timestamp":"1717165380"}]}}
	// ]}
}
