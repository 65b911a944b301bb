package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/intel"
)

// The wallets of the form tests: two known to the FIU's demo data, one
// Ethereum address written in EIP-55 mixed case.
const (
	formBTC1 = "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak"
	formBTC2 = "1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE"
	formETH  = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
)

// incidentFormValues is a valid form: a theft from a Japanese exchange
// attributed to actor, with one loss and two wallets, TLP:AMBER shared
// with the exchange.
func incidentFormValues(t *testing.T, f *fixture, actor string) url.Values {
	t.Helper()
	eip55, err := address.Display("ethereum", formETH)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{
		"name":           {"Theft from Example Exchange"},
		"occurred":       {"2024-05-31"},
		"description":    {"Hot wallet drained."},
		"victim_name":    {"Example Exchange"},
		"victim_country": {"jp"},
		"victim_type":    {"Exchange"},
		"actor":          {actor},
		"confidence":     {"80"},
		"loss_asset":     {"bitcoin:BTC", "", ""},
		"loss_amount":    {"450000000000", "", ""},
		"loss_usd":       {"305000000", "", ""},
		"wallets":        {"bitcoin " + formBTC1 + " theft-destination\r\nethereum " + eip55 + " laundering\r\n"},
		"sources":        {"https://example.org/report\n"},
		"tlp":            {"AMBER"},
		"recipients":     {f.orgs["exchange"].ID},
	}
}

// MustLazarus returns the id of the Lazarus Group actor the FIU sees.
func MustLazarus(tb testing.TB, f *fixture) string {
	tb.Helper()
	incs := MustIncidents(tb, f, "fiu")
	for _, inc := range incs {
		for _, a := range inc.Actors {
			if a.Name == "Lazarus Group" {
				return a.ID
			}
		}
	}
	tb.Fatal("the FIU sees no Lazarus Group")
	return ""
}

// MustIncidents returns the incidents the named organisation sees.
func MustIncidents(tb testing.TB, f *fixture, org string) []intel.Incident {
	tb.Helper()
	incs, err := f.svc.Incidents(context.Background(), f.viewers[org])
	if err != nil {
		tb.Fatal(err)
	}
	return incs
}

// formIncident returns incident id among incs, or nil.
func formIncident(incs []intel.Incident, id string) *intel.Incident {
	for i := range incs {
		if incs[i].ID == id {
			return &incs[i]
		}
	}
	return nil
}

// MustCreateIncident posts form as c and returns the new incident's id.
func MustCreateIncident(tb testing.TB, c *client, form url.Values) string {
	tb.Helper()
	res, body := c.submit("/incidents", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/incidents/incident--") {
		tb.Fatalf("POST /incidents: %s to %q\n%s", res.Status, loc, body)
	}
	return strings.TrimPrefix(loc, "/incidents/")
}

func TestIncidentFormCreateSharesWithRecipients(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	lazarus := MustLazarus(t, f)

	page := c.page("/incidents/new")
	for _, want := range []string{
		`<form method="post" action="/incidents"`, `name="csrf"`,
		`value="` + lazarus + `"`, "Lazarus Group",
		`value="` + f.orgs["exchange"].ID + `"`, `<label for="recipient-`,
		`<option value="AMBER" selected>`, `<label for="wallets">`, `<label for="loss-asset-1"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("new incident form lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "style=") {
		t.Error("the form has inline script or style")
	}

	before := len(MustIncidents(t, f, "fiu"))
	id := MustCreateIncident(t, c, incidentFormValues(t, f, lazarus))
	incs := MustIncidents(t, f, "fiu")
	if len(incs) != before+1 {
		t.Errorf("incidents %d -> %d, want one more", before, len(incs))
	}
	inc := formIncident(incs, id)
	if inc == nil {
		t.Fatalf("the FIU does not see %s", id)
	}
	if inc.Name != "Theft from Example Exchange" || !strings.HasPrefix(inc.Date, "2024-05-31") || inc.TLP != "amber" || inc.Owner != f.orgs["fiu"].ID {
		t.Errorf("incident %q on %s, %s, owner %s", inc.Name, inc.Date, inc.TLP, inc.Owner)
	}
	if len(inc.Victims) != 1 || inc.Victims[0].Name != "Example Exchange" || inc.Victims[0].Country != "JP" || !slices.Equal(inc.Victims[0].Types, []string{"exchange"}) {
		t.Errorf("victims %+v", inc.Victims)
	}
	if len(inc.Actors) != 1 || inc.Actors[0].ID != lazarus || inc.Actors[0].Confidence == nil || *inc.Actors[0].Confidence != 80 {
		t.Errorf("actors %+v", inc.Actors)
	}
	if len(inc.Losses) != 1 || inc.Losses[0].Asset != "bitcoin:BTC" || inc.Losses[0].Amount != "450000000000" || inc.Losses[0].USD != "305000000.00" || inc.Losses[0].Source != "https://example.org/report" {
		t.Errorf("losses %+v", inc.Losses)
	}
	if len(inc.Sources) != 1 || inc.Sources[0].URL != "https://example.org/report" {
		t.Errorf("sources %+v", inc.Sources)
	}
	wantWallets := []intel.RoleWallet{
		{Wallet: intel.Wallet{Chain: "bitcoin", Value: formBTC1}, Role: "theft-destination"},
		{Wallet: intel.Wallet{Chain: "ethereum", Value: formETH}, Role: "laundering"},
	}
	for _, w := range wantWallets {
		if !slices.Contains(inc.Wallets, w) {
			t.Errorf("wallets %+v lack %+v", inc.Wallets, w)
		}
	}
	if len(inc.Wallets) != len(wantWallets) {
		t.Errorf("wallets %+v, want %d", inc.Wallets, len(wantWallets))
	}

	// The exchange, a recipient, sees all of it; the operator does not
	// see it at all.
	seen := formIncident(MustIncidents(t, f, "exchange"), id)
	if seen == nil || len(seen.Victims) != 1 || len(seen.Actors) != 1 || len(seen.Wallets) != 2 || len(seen.Losses) != 1 {
		t.Errorf("the exchange sees %+v", seen)
	}
	if formIncident(MustIncidents(t, f, "operator"), id) != nil {
		t.Error("the operator, not a recipient, sees the AMBER incident")
	}
}

func TestIncidentFormCreateNewActor(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	form := incidentFormValues(t, f, "")
	form.Set("new_actor", "Example Crew")
	form.Set("tlp", "GREEN")
	form.Del("recipients")
	id := MustCreateIncident(t, c, form)
	inc := formIncident(MustIncidents(t, f, "operator"), id)
	if inc == nil || len(inc.Actors) != 1 || inc.Actors[0].Name != "Example Crew" || inc.Actors[0].Type != "threat-actor" || inc.TLP != "green" {
		t.Fatalf("the operator sees %+v", inc)
	}
	// Naming it again attributes to the same actor.
	form.Set("name", "Second theft")
	form.Set("new_actor", "example crew")
	id2 := MustCreateIncident(t, c, form)
	if inc2 := formIncident(MustIncidents(t, f, "fiu"), id2); inc2 == nil || len(inc2.Actors) != 1 || inc2.Actors[0].ID != inc.Actors[0].ID {
		t.Errorf("second incident's actors %+v, want %s", inc2, inc.Actors[0].ID)
	}
}

func TestIncidentFormEditMakesNewVersions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.signedIn(t, "fiu")
	lazarus := MustLazarus(t, f)
	form := incidentFormValues(t, f, lazarus)
	id := MustCreateIncident(t, c, form)
	created := formIncident(MustIncidents(t, f, "fiu"), id)

	page := c.page("/incidents/" + id + "/edit")
	for _, want := range []string{
		`action="/incidents/` + id + `"`, `value="Theft from Example Exchange"`, `value="2024-05-31"`,
		`value="Example Exchange"`, `value="JP"`, `value="exchange"`, `value="80"`,
		`value="bitcoin:BTC"`, `value="450000000000"`, `value="305000000.00"`,
		"bitcoin " + formBTC1 + " theft-destination", "ethereum " + formETH + " laundering",
		"https://example.org/report", `<option value="AMBER" selected>`,
		`value="` + f.orgs["exchange"].ID + `" checked`, `value="` + lazarus + `" selected`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("edit form lacks %q", want)
		}
	}

	// Rename, and add a wallet.
	form.Set("name", "Theft from Example Exchange (hot wallet)")
	form.Set("wallets", form.Get("wallets")+"bitcoin "+formBTC2+" cash-out\n")
	res, body := c.submit("/incidents/"+id, form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/incidents/"+id {
		t.Fatalf("POST /incidents/%s: %s to %q\n%s", id, res.Status, res.Header.Get("Location"), body)
	}
	versions, err := f.svc.Versions(ctx, f.viewers["fiu"], id)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 || versions[1].Version <= versions[0].Version {
		t.Fatalf("%d versions of the incident, want 2, the second later", len(versions))
	}
	inc := formIncident(MustIncidents(t, f, "fiu"), id)
	if inc == nil || inc.Name != "Theft from Example Exchange (hot wallet)" || len(inc.Wallets) != 3 || len(inc.Victims) != 1 || len(inc.Actors) != 1 || len(inc.Losses) != 1 {
		t.Fatalf("after the edit the FIU sees %+v", inc)
	}
	if !slices.Contains(inc.Wallets, intel.RoleWallet{Wallet: intel.Wallet{Chain: "bitcoin", Value: formBTC2}, Role: "cash-out"}) {
		t.Errorf("wallets %+v lack the cash-out", inc.Wallets)
	}
	if seen := formIncident(MustIncidents(t, f, "exchange"), id); seen == nil || seen.Name != inc.Name || len(seen.Wallets) != 3 {
		t.Errorf("after the edit the exchange sees %+v", seen)
	}
	// What the edit did not change keeps its one version.
	if vs, err := f.svc.Versions(ctx, f.viewers["fiu"], created.Victims[0].ID); err != nil || len(vs) != 1 {
		t.Errorf("victim: %d versions (%v), want 1", len(vs), err)
	}

	// Taking a wallet off the list revokes its relationship.
	form.Set("wallets", "bitcoin "+formBTC2+" cash-out")
	if res, body := c.submit("/incidents/"+id, form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("second edit: %s\n%s", res.Status, body)
	}
	if inc := formIncident(MustIncidents(t, f, "fiu"), id); inc == nil || len(inc.Wallets) != 1 || inc.Wallets[0].Value != formBTC2 {
		t.Errorf("after taking two wallets off: %+v", inc)
	}
}

func TestIncidentFormEditOnlyByTheOwner(t *testing.T) {
	f := newFixture(t)
	form := incidentFormValues(t, f, MustLazarus(t, f))
	id := MustCreateIncident(t, f.signedIn(t, "fiu"), form)

	exchange := f.signedIn(t, "exchange")
	res, body := exchange.get("/incidents/" + id + "/edit")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "only the organisation that owns this incident may edit it") {
		t.Errorf("exchange GET edit: %s", res.Status)
	}
	form.Set("name", "Hijacked")
	if res, _ := exchange.submit("/incidents/"+id, form); res.StatusCode != http.StatusForbidden {
		t.Errorf("exchange POST edit: %s", res.Status)
	}
	if inc := formIncident(MustIncidents(t, f, "fiu"), id); inc == nil || inc.Name == "Hijacked" {
		t.Errorf("after the exchange's edit: %+v", inc)
	}
	// The operator may not even see it.
	if res, _ := f.signedIn(t, "operator").get("/incidents/" + id + "/edit"); res.StatusCode != http.StatusNotFound {
		t.Errorf("operator GET edit: %s", res.Status)
	}
}

func TestIncidentFormRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	lazarus := MustLazarus(t, f)
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		field  string // the id of the field the error is tied to
		msg    string
	}{
		{"empty name", func(v url.Values) { v.Set("name", " ") }, "name", "Enter a name"},
		{"bad date", func(v url.Values) { v.Set("occurred", "2024-13-45") }, "occurred", "is not a date"},
		{"future date", func(v url.Values) { v.Set("occurred", "2999-01-01") }, "occurred", "in the future"},
		{"unknown TLP", func(v url.Values) { v.Set("tlp", "PURPLE") }, "tlp", `&#34;PURPLE&#34; is not a TLP marking`},
		{"bad amount", func(v url.Values) { v["loss_amount"] = []string{"1.5", "", ""} }, "loss-amount-1", "is not an amount in base units"},
		{"bad usd", func(v url.Values) { v["loss_usd"] = []string{"lots", "", ""} }, "loss-usd-1", "is not a US dollar value"},
		{"unknown asset chain", func(v url.Values) { v["loss_asset"] = []string{"dogecoin:DOGE", "", ""} }, "loss-asset-1", "not a chain this node knows"},
		{"bad checksum", func(v url.Values) {
			v.Set("wallets", "bitcoin 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYaX theft-destination")
		}, "wallets", "bad checksum"},
		{"address of another chain", func(v url.Values) {
			v.Set("wallets", "ethereum "+formBTC1+" laundering")
		}, "wallets", "line 1: ethereum address"},
		{"unknown role", func(v url.Values) {
			v.Set("wallets", "bitcoin "+formBTC1+" mixer")
		}, "wallets", `role &#34;mixer&#34; is not one of theft-destination, laundering, cash-out, victim`},
		{"unknown chain", func(v url.Values) { v.Set("wallets", "bitcoin "+formBTC1+" theft-destination\nmoon 0xabc cash-out") }, "wallets", "line 2: &#34;moon&#34; is not a chain"},
		{"recipients on GREEN", func(v url.Values) { v.Set("tlp", "GREEN") }, "recipients", "Recipients apply to TLP:AMBER, AMBER&#43;STRICT and RED only"},
		{"recipients on CLEAR", func(v url.Values) { v.Set("tlp", "clear") }, "recipients", "TLP:CLEAR"},
		{"unknown recipient", func(v url.Values) { v.Set("recipients", "identity--6f4b2a47-5c2e-4a83-9b2c-2d5d2a5e3f10") }, "recipients", "is not an organisation you may share with"},
		{"bad country", func(v url.Values) { v.Set("victim_country", "Japan") }, "victim_country", "is not an ISO 3166-1 alpha-2 country code"},
		{"confidence out of range", func(v url.Values) { v.Set("confidence", "101") }, "confidence", "from 0 to 100"},
		{"two actors", func(v url.Values) { v.Set("new_actor", "Someone") }, "actor", "not both"},
		{"bad source", func(v url.Values) { v.Set("sources", "ftp://example.org/x") }, "sources", "is not an http or https URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(MustIncidents(t, f, "fiu"))
			form := incidentFormValues(t, f, lazarus)
			form.Set("name", form.Get("name")+" "+tc.name)
			tc.change(form)
			res, body := c.submit("/incidents", form)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("%s, want 400 Bad Request", res.Status)
			}
			if !strings.Contains(body, tc.msg) {
				t.Errorf("the form lacks %q", tc.msg)
			}
			if !strings.Contains(body, `id="`+tc.field+`-error"`) || !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, `href="#`+tc.field+`"`) {
				t.Errorf("the error is not tied to field %s", tc.field)
			}
			// What the visitor typed is shown again.
			if name := strings.TrimSpace(form.Get("name")); name != "" && !strings.Contains(body, `value="`+name+`"`) {
				t.Errorf("the form lost the name %q", name)
			}
			if !strings.Contains(body, "Example Exchange") || (tc.field != "loss-amount-1" && !strings.Contains(body, "450000000000")) {
				t.Error("the form lost the visitor's values")
			}
			if after := len(MustIncidents(t, f, "fiu")); after != before {
				t.Errorf("incidents %d -> %d after a refused form", before, after)
			}
		})
	}

	// A refused edit stores nothing either.
	form := incidentFormValues(t, f, lazarus)
	id := MustCreateIncident(t, c, form)
	form.Set("name", "Renamed")
	form.Set("loss_amount", "-3")
	if res, _ := c.submit("/incidents/"+id, form); res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad edit: %s, want 400", res.Status)
	}
	if vs, err := f.svc.Versions(context.Background(), f.viewers["fiu"], id); err != nil || len(vs) != 1 {
		t.Errorf("after a refused edit: %d versions (%v), want 1", len(vs), err)
	}
}

// formValues returns the values a browser posts for form as shown.
func formValues(form *incidentForm) url.Values {
	v := url.Values{
		"name": {form.Name}, "occurred": {form.Occurred}, "description": {form.Description},
		"victim_name": {form.VictimName}, "victim_country": {form.VictimCountry}, "victim_type": {form.VictimType},
		"actor": {form.Actor}, "new_actor": {form.NewActor}, "confidence": {form.Confidence},
		"wallets": {form.Wallets}, "sources": {form.Sources}, "tlp": {form.TLP}, "recipients": form.Recipients,
	}
	for _, l := range form.Losses {
		v["loss_asset"] = append(v["loss_asset"], l.Asset)
		v["loss_amount"] = append(v["loss_amount"], l.Amount)
		v["loss_usd"] = append(v["loss_usd"], l.USD)
	}
	return v
}

func TestIncidentFormEditUnchangedAddsNoVersion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	fiu := f.viewers["fiu"]
	var coincheck string
	for _, inc := range MustIncidents(t, f, "fiu") {
		if inc.Name == "Coincheck theft" {
			coincheck = inc.ID
		}
	}
	st, err := f.web.incidentFormLoad(ctx, fiu, coincheck)
	if err != nil {
		t.Fatal(err)
	}
	form := st.form()
	c := f.signedIn(t, "fiu")
	page := c.page("/incidents/" + coincheck + "/edit")
	for _, want := range []string{`value="Coincheck theft"`, `value="2018-01-26"`, `value="Coincheck"`, `value="JP"`, `value="nem:XEM"`, `value="70"`, "https://undocs.org/S/2019/171"} {
		if !strings.Contains(page, want) {
			t.Errorf("Coincheck's edit form lacks %q", want)
		}
	}
	before := MustIncidents(t, f, "fiu")
	res, body := c.submit("/incidents/"+coincheck, formValues(form))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the form unchanged: %s\n%s", res.Status, body)
	}
	if vs, err := f.svc.Versions(ctx, fiu, coincheck); err != nil || len(vs) != 1 {
		t.Errorf("Coincheck: %d versions (%v) after saving it unchanged, want 1", len(vs), err)
	}
	if after := formIncident(MustIncidents(t, f, "fiu"), coincheck); !slices.EqualFunc(after.Sources, formIncident(before, coincheck).Sources, func(a, b intel.ExternalRef) bool { return a == b }) {
		t.Errorf("sources changed: %+v", after.Sources)
	}

	// A change to the loss versions the incident and keeps the rest:
	// the references without a URL, the loss's source.
	form.Losses[0].USD = "534800000"
	form.Sources += "\nhttps://example.org/coincheck"
	if res, body := c.submit("/incidents/"+coincheck, formValues(form)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving a changed loss: %s\n%s", res.Status, body)
	}
	inc := formIncident(MustIncidents(t, f, "fiu"), coincheck)
	if len(inc.Losses) != 1 || inc.Losses[0].USD != "534800000.00" || inc.Losses[0].Source != "United Nations Security Council" || len(inc.Sources) != 3 || inc.Sources[1].SourceName != "1712n/dn-institute" {
		t.Errorf("after the change: losses %+v, sources %+v", inc.Losses, inc.Sources)
	}
	if vs, _ := f.svc.Versions(ctx, fiu, coincheck); len(vs) != 2 {
		t.Errorf("Coincheck: %d versions after a change, want 2", len(vs))
	}
}
