package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Headers of a webhook delivery.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// body, keyed with the watch's secret.
	SignatureHeader = "X-Cointrail-Signature"
	// IdempotencyHeader carries the alert's id: the same on every attempt,
	// so a receiver can drop what it has already seen.
	IdempotencyHeader = "Idempotency-Key"
	// AttemptHeader carries the attempt's number, from 1.
	AttemptHeader = "X-Cointrail-Attempt"
)

// Sign returns the X-Cointrail-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature (an X-Cointrail-Signature value) signs
// body under secret, comparing in constant time. Receivers use it.
func Verify(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// Backoff returns the wait after attempts failed deliveries: 1s, doubling
// with each failure, at most max.
func Backoff(attempts int, max time.Duration) time.Duration {
	d := time.Second
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// DelivererOptions configure a [Deliverer]. The zero value is valid.
type DelivererOptions struct {
	// Logger receives what happens. Default: discard.
	Logger *slog.Logger
	// Client sends the requests. Default: a client that follows no
	// redirects.
	Client *http.Client
	// Timeout bounds one attempt. Default: 10s.
	Timeout time.Duration
	// MaxBackoff is the longest wait between two attempts. Default: 10m.
	MaxBackoff time.Duration
	// Parallel is how many deliveries run at once. Default: 4.
	Parallel int
}

// Deliverer sends the outbox's alerts to their webhooks until each is
// acknowledged with a 2xx status: at least once, the same body, signature
// and Idempotency-Key each time, after 1s, 2s, 4s, ... up to MaxBackoff
// between attempts, for ever. The outbox is in the store, so a node
// restarted meanwhile goes on where it stopped. Run it in one goroutine.
type Deliverer struct {
	svc  *Service
	opts DelivererOptions
	log  *slog.Logger
	wake chan struct{}
}

// NewDeliverer returns a deliverer of svc's outbox.
func NewDeliverer(svc *Service, opts DelivererOptions) *Deliverer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Minute
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Deliverer{svc: svc, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// Run delivers until ctx ends, then waits for the attempts under way.
func (d *Deliverer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	inflight := map[string]bool{}
	var mu sync.Mutex // guards inflight
	sem := make(chan struct{}, d.opts.Parallel)
	for {
		raised := d.svc.Raised()
		now := d.svc.store.Now()
		due, err := d.svc.store.due(ctx, now, 64)
		if err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "reading the outbox failed", "err", err)
		}
		for _, e := range due {
			mu.Lock()
			busy := inflight[e.alert]
			inflight[e.alert] = true
			mu.Unlock()
			if busy {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.attempt(ctx, e)
				mu.Lock()
				delete(inflight, e.alert)
				mu.Unlock()
				<-sem
				d.poke()
			}()
		}
		wait := time.Minute
		if next, ok, err := d.svc.store.nextDue(ctx); err == nil && ok {
			wait = min(wait, max(time.Until(next), 10*time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-raised:
		case <-d.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (d *Deliverer) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// attempt delivers e once and records the outcome.
func (d *Deliverer) attempt(ctx context.Context, e outboxEntry) {
	n := e.attempts + 1
	err := d.post(ctx, e, n)
	now := d.svc.store.Now()
	if err == nil {
		// Recorded even when Run is stopping: the receiver has it.
		if err := d.svc.store.delivered(context.WithoutCancel(ctx), e.alert, n, now); err != nil {
			d.log.WarnContext(ctx, "recording a delivery failed", "alert", e.alert, "err", err)
			return
		}
		d.log.InfoContext(ctx, "alert delivered", "alert", e.alert, "attempt", n)
		return
	}
	if ctx.Err() != nil {
		return // stopped mid-attempt: the entry stays due
	}
	wait := Backoff(n, d.opts.MaxBackoff)
	d.log.WarnContext(ctx, "alert delivery failed", "alert", e.alert, "attempt", n, "err", err, "retry_in", wait)
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if err := d.svc.store.failed(ctx, e.alert, n, now.Add(wait), msg); err != nil {
		d.log.WarnContext(ctx, "recording a failed delivery failed", "alert", e.alert, "err", err)
	}
}

// post sends e's body to its webhook: nil on a 2xx answer.
func (d *Deliverer) post(ctx context.Context, e outboxEntry, attempt int) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(e.body))
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cointrail-webhook/1")
	req.Header.Set(SignatureHeader, Sign(e.secret, e.body))
	req.Header.Set(IdempotencyHeader, e.alert)
	req.Header.Set(AttemptHeader, strconv.Itoa(attempt))
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		var ue *url.Error // its text holds the whole URL
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST %s: %w", redact(e.url), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: HTTP %d %s", redact(e.url), resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	return nil
}

// redact drops a URL's query and user info, which may hold credentials.
func redact(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		if _, host, ok := strings.Cut(rest, "@"); ok {
			return scheme + "://" + host
		}
	}
	return u
}
