// Package browsertest drives a real headless Chromium from Go tests with
// chromedp: it finds the browser, starts one per test with flags fit for a
// machine without outside network, and offers the few helpers the web tests
// share (navigation, text, screenshots that are checked not to be blank).
//
// A test starts with [New], which skips the test when no Chromium is found,
// except under CI, where the missing browser fails it. The contexts it
// returns belong to one test and one goroutine; they are closed by the
// test's cleanup.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	// width and height are the size of the browser window and of the
	// viewport of every tab, in CSS pixels.
	width, height = 1280, 900

	// testTimeout bounds the life of the browser of one test, so a hung
	// browser fails the test instead of hanging it.
	testTimeout = 2 * time.Minute

	// stepTimeout bounds one helper call ([Navigate], [Text], [Run],
	// [Screenshot]), so a missing element fails fast, naming its selector.
	stepTimeout = 30 * time.Second
)

// candidates are the names of Chromium looked up on PATH, in order, when
// COINTRAIL_CHROMIUM is not set.
var candidates = []string{"chromium", "chromium-browser", "google-chrome"}

// findChromium returns the path of the browser: $COINTRAIL_CHROMIUM, which
// must then be executable, else the first of candidates on PATH.
func findChromium() (string, error) {
	if p := os.Getenv("COINTRAIL_CHROMIUM"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("COINTRAIL_CHROMIUM=%s: %w", p, err)
		}
		return path, nil
	}
	for _, name := range candidates {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("no Chromium: COINTRAIL_CHROMIUM is not set and none of %s is on PATH",
		strings.Join(candidates, ", "))
}

// New starts a headless Chromium for the test and returns the context of
// its first tab, whose viewport is 1280x900. Without a browser it skips the test, or fails it when the
// environment has CI=true. The browser lives at most two minutes and is
// stopped by the test's cleanup; its profile is a fresh directory under
// t.TempDir(). Its informational logs reach t.Logf only under go test -v;
// its errors always do, so a failing test shows them.
func New(t testing.TB) context.Context {
	t.Helper()
	path, err := findChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browsertest: %v (CI installs Debian's chromium; see .ci/run)", err)
		}
		t.Skipf("browsertest: %v; install Chromium or set COINTRAIL_CHROMIUM to run this test", err)
	}

	// Made before the cleanup below is registered, so it is removed after
	// the browser has stopped.
	profile := filepath.Join(t.TempDir(), "chromium-profile")

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// No outside network here: keep the browser from calling home.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(width, height),
	)

	var (
		mu   sync.Mutex
		done bool // the test has ended: t.Logf would panic
	)
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Logf("chromium: "+format, args...)
		}
	}
	quiet := func(string, ...any) {}
	info := quiet
	if testing.Verbose() {
		info = logf
	}

	timeoutCtx, cancelTimeout := context.WithTimeout(context.Background(), testTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(timeoutCtx, opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(info),
		chromedp.WithErrorf(logf),
		chromedp.WithDebugf(quiet),
	)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
		mu.Lock()
		done = true
		mu.Unlock()
	})

	// Start the browser now, with the test's context: this ties the
	// browser's life to it, lets the helpers bound single steps with
	// shorter timeouts, and reports a browser that cannot start here.
	if err := chromedp.Do(ctx, viewport()); err != nil {
		t.Fatalf("browsertest: start %s: %v", path, err)
	}
	return ctx
}

// Isolated returns a new tab of parent's browser in a browser context of
// its own, like an incognito window: it shares no cookies or storage with
// parent or with other Isolated tabs, so a test can be signed in as two
// organisations at once. parent is a context from [New]; the tab is closed
// by the test's cleanup.
func Isolated(t testing.TB, parent context.Context) context.Context {
	t.Helper()
	if chromedp.FromContext(parent) == nil {
		t.Fatal("browsertest: Isolated needs a context from New")
	}
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, viewport()); err != nil {
		t.Fatalf("browsertest: open an isolated tab: %v", err)
	}
	return ctx
}

// viewport sizes a tab's viewport to the window's width and height: the
// window size alone leaves room for browser controls headless mode does
// not draw, so pages would render shorter than the window.
func viewport() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(width, height)
}

// Run runs the actions in order in the tab of ctx and fails the test with
// the first error.
func Run(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := step(ctx, func(ctx context.Context) error { return chromedp.Do(ctx, actions...) }); err != nil {
		t.Fatalf("browsertest: run: %v%s", err, where(ctx))
	}
}

// Navigate loads url in the tab of ctx, waiting for the page's load event,
// and fails the test if that does not succeed.
func Navigate(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	if err := step(ctx, func(ctx context.Context) error { return chromedp.Do(ctx, chromedp.Navigate(url)) }); err != nil {
		t.Fatalf("browsertest: navigate to %s: %v", url, err)
	}
}

// Text returns the visible text of the first element matching the CSS
// selector sel, waiting for it to appear, and fails the test naming sel if
// it does not.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	var text string
	err := step(ctx, func(ctx context.Context) error {
		var err error
		text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		return err
	})
	if err != nil {
		t.Fatalf("browsertest: text of %q: %v%s", sel, err, where(ctx))
	}
	return text
}

// Get runs an action that yields a value (chromedp.OuterHTML,
// chromedp.Evaluate, chromedp.AttributeValue, ...) in the tab of ctx and
// returns the value; it fails the test, naming what, with the error.
func Get[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	var v T
	err := step(ctx, func(ctx context.Context) error {
		var err error
		v, err = chromedp.Run(ctx, a)
		return err
	})
	if err != nil {
		t.Fatalf("browsertest: %s: %v%s", what, err, where(ctx))
	}
	return v
}

// where says which page the tab is on and how it begins, for the message
// of a step that failed: a step that waited in vain often did so on an
// error page.
func where(ctx context.Context) string {
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	page, err := chromedp.Run(wctx, chromedp.Evaluate[string](`location.href + "\n" + (document.body ? document.body.innerText.slice(0, 400) : "")`))
	if err != nil {
		return ""
	}
	return "\nthe tab was on " + page
}

// step runs f with a context limited to stepTimeout, and says so when that
// is what failed it.
func step(ctx context.Context, f func(context.Context) error) error {
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	err := f(sctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (the test's browser ran out of its %v)", err, testTimeout)
		}
		return fmt.Errorf("%w (gave up after %v)", err, stepTimeout)
	}
	return err
}

// Screenshot takes a full-page PNG of the tab of ctx, saves it as
// <test name>-<name>.png in the screenshot directory (see [ScreenshotDir])
// and returns it. The test fails if the page looks blank ([CheckNonBlank]).
func Screenshot(t testing.TB, ctx context.Context, name string) []byte {
	t.Helper()
	var shot []byte
	err := step(ctx, func(ctx context.Context) error {
		var err error
		// Quality 100 is what makes chromedp ask for a PNG, not a JPEG.
		shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		return err
	})
	if err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	dir, err := ScreenshotDir()
	if err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, fileName(t.Name()+"-"+name)+".png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	t.Logf("screenshot %s: %s", name, path)
	if err := CheckNonBlank(shot); err != nil {
		t.Errorf("browsertest: screenshot %s (%s): %v", name, path, err)
	}
	return shot
}

// screenshots is the screenshot directory, made once per test binary.
var screenshots struct {
	once sync.Once
	dir  string
	err  error
}

// ScreenshotDir returns the directory [Screenshot] saves to, shared by the
// whole test binary: $COINTRAIL_SCREENSHOTS if set, else a new
// cointrail-screenshots-* directory in the system's temporary directory.
// It outlives the tests, so the pictures can be looked at; the first call
// prints "screenshots: DIR" to standard output.
func ScreenshotDir() (string, error) {
	s := &screenshots
	s.once.Do(func() {
		if dir := os.Getenv("COINTRAIL_SCREENSHOTS"); dir != "" {
			s.dir, s.err = dir, os.MkdirAll(dir, 0o755)
		} else {
			s.dir, s.err = os.MkdirTemp("", "cointrail-screenshots-")
		}
		if s.err != nil {
			s.err = fmt.Errorf("make screenshot directory: %w", s.err)
			return
		}
		fmt.Println("screenshots:", s.dir)
	})
	return s.dir, s.err
}

// fileName makes s safe as a file name: subtest slashes and anything but
// letters, digits, '.', '-' and '_' become '_'.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

const (
	// minDiffering is the least share of pixels that must differ from the
	// most common colour for an image to count as having content.
	minDiffering = 0.02
	// minColours is the least number of distinct colours of such an image.
	minColours = 8
)

// CheckNonBlank decodes a PNG and returns an error unless it shows real
// content: at least 2% of its pixels differ from its most common colour,
// and it has at least 8 distinct colours. A blank page, a page of one
// colour or one with a lone thin line fails.
func CheckNonBlank(pngData []byte) error {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return fmt.Errorf("decode screenshot: %w", err)
	}
	b := img.Bounds()
	total := b.Dx() * b.Dy()
	if total == 0 {
		return errors.New("screenshot is empty (0 pixels)")
	}
	counts := make(map[uint64]int)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[pixel(img, x, y)]++
		}
	}
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	differing := float64(total-most) / float64(total)
	switch {
	case differing < minDiffering:
		return fmt.Errorf("screenshot looks blank: %.2f%% of %dx%d pixels differ from the most common colour, want at least %.0f%%",
			100*differing, b.Dx(), b.Dy(), 100*minDiffering)
	case len(counts) < minColours:
		return fmt.Errorf("screenshot looks blank: %d distinct colours, want at least %d", len(counts), minColours)
	}
	return nil
}

// pixel returns the colour at (x, y) as one comparable value, reading the
// pixel buffer directly for the 8-bit formats Chromium's PNGs decode to.
func pixel(img image.Image, x, y int) uint64 {
	switch m := img.(type) {
	case *image.NRGBA:
		i := m.PixOffset(x, y)
		p := m.Pix[i : i+4 : i+4]
		return uint64(p[0])<<24 | uint64(p[1])<<16 | uint64(p[2])<<8 | uint64(p[3])
	case *image.RGBA:
		i := m.PixOffset(x, y)
		p := m.Pix[i : i+4 : i+4]
		return uint64(p[0])<<24 | uint64(p[1])<<16 | uint64(p[2])<<8 | uint64(p[3])
	}
	r, g, b, a := img.At(x, y).RGBA()
	return uint64(r)<<48 | uint64(g)<<32 | uint64(b)<<16 | uint64(a)
}
