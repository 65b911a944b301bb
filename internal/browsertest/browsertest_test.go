package browsertest

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

// newSite serves the pages the browser tests drive: a page with a heading,
// a coloured box and a form; the form's result page; and two pages that
// set and show a cookie.
func newSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html>
<html><head><title>browsertest</title></head>
<body style="font-family: sans-serif; margin: 24px">
<h1 id="title">Cointrail browser test</h1>
<div id="box" style="width: 400px; height: 200px; background: linear-gradient(90deg, #c33, #33c)"></div>
<form id="form" method="post" action="/submit">
  <label>Name <input id="name" name="name"></label>
  <button id="send" type="submit">Send</button>
</form>
</body></html>`)
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html>
<html><body style="font-family: sans-serif; margin: 24px">
<h1 id="result">Hello, %s!</h1>
<div style="width: 600px; height: 300px; background: #2a7"></div>
<p>The form arrived as a POST.</p>
</body></html>`, html.EscapeString(r.FormValue("name")))
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "org", Value: r.FormValue("org"), Path: "/"})
		fmt.Fprint(w, `<p id="done">signed in</p>`)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		org := "nobody"
		if c, err := r.Cookie("org"); err == nil {
			org = c.Value
		}
		fmt.Fprintf(w, `<p id="org">%s</p>`, html.EscapeString(org))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestFormAndScreenshot(t *testing.T) {
	srv := newSite(t)
	ctx := New(t)

	Navigate(t, ctx, srv.URL)
	if got, want := Text(t, ctx, "#title"), "Cointrail browser test"; got != want {
		t.Errorf("heading = %q, want %q", got, want)
	}
	Screenshot(t, ctx, "form")

	Run(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#name"), "Ada"),
		chromedp.Submit(chromedp.CSS("#form")),
		chromedp.WaitVisible(chromedp.CSS("#result")),
	)
	if got, want := Text(t, ctx, "#result"), "Hello, Ada!"; got != want {
		t.Errorf("result = %q, want %q", got, want)
	}
	shot := Screenshot(t, ctx, "result")
	if err := CheckNonBlank(shot); err != nil {
		t.Errorf("result page: %v", err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if cfg.Width != width || cfg.Height != height {
		t.Errorf("screenshot is %dx%d, want the viewport's %dx%d", cfg.Width, cfg.Height, width, height)
	}
}

func TestIsolatedCookies(t *testing.T) {
	srv := newSite(t)
	ctx := New(t)
	acme, globex := Isolated(t, ctx), Isolated(t, ctx)

	Navigate(t, acme, srv.URL+"/login?org=acme")
	Text(t, acme, "#done")
	Navigate(t, globex, srv.URL+"/whoami")
	if got := Text(t, globex, "#org"); got != "nobody" {
		t.Errorf("second isolated tab sees org %q, want nobody", got)
	}
	Navigate(t, ctx, srv.URL+"/whoami")
	if got := Text(t, ctx, "#org"); got != "nobody" {
		t.Errorf("parent tab sees org %q, want nobody", got)
	}

	Navigate(t, globex, srv.URL+"/login?org=globex")
	Text(t, globex, "#done")
	for tab, want := range map[string]string{"acme": "acme", "globex": "globex"} {
		c := acme
		if tab == "globex" {
			c = globex
		}
		Navigate(t, c, srv.URL+"/whoami")
		if got := Text(t, c, "#org"); got != want {
			t.Errorf("%s tab sees org %q, want %q", tab, got, want)
		}
	}
}

func TestCheckNonBlank(t *testing.T) {
	encode := func(img image.Image) []byte {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	white := func() *image.NRGBA {
		img := image.NewNRGBA(image.Rect(0, 0, 200, 100))
		for i := range img.Pix {
			img.Pix[i] = 0xff
		}
		return img
	}

	line := white()
	for x := range 200 {
		line.Set(x, 50, color.Black)
	}
	twoColours := white()
	for y := range 50 {
		for x := range 200 {
			twoColours.Set(x, y, color.NRGBA{R: 0x33, G: 0x66, B: 0x99, A: 0xff})
		}
	}
	content := white()
	for y := range 60 {
		for x := range 200 {
			content.Set(x, y, color.NRGBA{R: uint8(x), G: uint8(y * 4), B: 0x80, A: 0xff})
		}
	}

	for _, tc := range []struct {
		name string
		png  []byte
		ok   bool
	}{
		{"white", encode(white()), false},
		{"thin line", encode(line), false},
		{"two colours", encode(twoColours), false},
		{"content", encode(content), true},
		{"not a png", []byte("GIF89a"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNonBlank(tc.png)
			if (err == nil) != tc.ok {
				t.Errorf("CheckNonBlank = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"TestX/sub case-result": "TestX_sub_case-result",
		"a.b_c":                 "a.b_c",
		"ü/../x":                "__.._x",
	} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}
