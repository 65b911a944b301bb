package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzIncidentForm feeds the incident form's reader and checker with any
// posted body: they must never panic, and a form they accept has a name,
// a date and a marking.
func FuzzIncidentForm(f *testing.F) {
	f.Add("name=Theft&occurred=2018-01-26&tlp=AMBER&wallets=bitcoin+1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE+theft-destination&loss_asset=nem:XEM&loss_amount=523000000000000&loss_usd=530000000")
	f.Add("name=x&occurred=2018-13-01&tlp=PURPLE&recipients=identity--x&confidence=101&loss_amount=-1&loss_usd=1e9")
	f.Add("name=&wallets=%0A%0Abitcoin&sources=javascript:alert(1)&victim_country=XXX&actor=threat-actor--1&new_actor=y")
	f.Add("name=a&occurred=2020-01-01&tlp=GREEN&loss_asset=&loss_asset=ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7&loss_amount=1&loss_amount=2&loss_usd=0.001")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/incidents", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form := readIncidentForm(r)
		ch := &incidentFormChoices{}
		form.finish(ch)
		in := form.check(ch, nil, now)
		if len(form.Problems) > 0 || in == nil {
			return
		}
		if in.name == "" || in.occurred == "" {
			t.Errorf("accepted a form without a name or date: %q", body)
		}
	})
}
