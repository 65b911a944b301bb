package httpapi

import (
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
)

// authenticate returns the viewer a request's credentials stand for: a
// Bearer token, or HTTP Basic with the token as the password (the user name
// is ignored; TAXII clients send Basic). No credentials is the anonymous
// viewer; bad credentials are an error even where anonymous reads are
// allowed.
func (s *Server) authenticate(r *http.Request) (access.Viewer, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return access.Viewer{}, nil
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		// "Token" is what taxii2-client's TokenAuth and OpenCTI's TAXII
		// connector send.
		return s.svc.Authenticate(r.Context(), cred)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return access.Viewer{}, fault.New(fault.Unauthorized, "malformed Basic credentials")
		}
		_, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return access.Viewer{}, fault.New(fault.Unauthorized, "malformed Basic credentials")
		}
		return s.svc.Authenticate(r.Context(), pass)
	}
	return access.Viewer{}, fault.New(fault.Unauthorized, "unsupported authorization scheme %q (use Bearer, Token or Basic)", scheme)
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter keeps a token bucket per key (token id or client address).
type limiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu struct {
		sync.Mutex
		buckets map[string]*bucket // guarded by mu
	}
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// idleBucket is how long a bucket may go unused before it is dropped.
const idleBucket = 10 * time.Minute

func newLimiter(perSecond float64, burst int, now func() time.Time) *limiter {
	l := &limiter{rate: rate.Limit(perSecond), burst: burst, now: now}
	l.mu.buckets = map[string]*bucket{}
	return l
}

// allow takes one request from key's bucket, or says how long to wait.
func (l *limiter) allow(key string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.mu.buckets[key]
	if b == nil {
		if len(l.mu.buckets) >= 10000 {
			l.sweepLocked(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.mu.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

func (l *limiter) sweepLocked(now time.Time) {
	for k, b := range l.mu.buckets {
		if now.Sub(b.seen) > idleBucket {
			delete(l.mu.buckets, k)
		}
	}
}
