package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
)

// cookieName holds the visitor's token. The __Host- prefix (on HTTPS)
// pins it to this host and path, so a sibling subdomain cannot plant one.
const (
	cookieName       = "cointrail_session"
	secureCookieName = "__Host-cointrail_session"
	// The sign-in form's CSRF token is bound to a random value kept in a
	// cookie of its own, as there is no session yet: a page of another
	// site can neither read it nor sign a visitor in as someone else.
	preCookieName       = "cointrail_signin"
	securePreCookieName = "__Host-cointrail_signin"
)

// session is who a request comes from.
type session struct {
	viewer  access.Viewer
	token   string // the cookie's token; "" when anonymous
	orgName string
}

type sessionKey struct{}

func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	if s == nil {
		return &session{}
	}
	return s
}

// viewerOf returns the viewer a page acts as.
func viewerOf(r *http.Request) access.Viewer { return sessionFrom(r.Context()).viewer }

// isHTTPS says whether the visitor reaches the node over HTTPS: served
// with TLS, or behind a proxy that the node's public URL says is HTTPS.
func (s *Server) isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.opts.PublicURL, "https://")
}

func (s *Server) cookieNameFor(r *http.Request) string {
	if s.isHTTPS(r) {
		return secureCookieName
	}
	return cookieName
}

// session authenticates the request's cookie. A request without one is
// anonymous; a cookie whose token no longer authenticates is an error, so
// that a revoked token signs the visitor out at once.
func (s *Server) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(s.cookieNameFor(r))
	if err != nil || c.Value == "" {
		return &session{}, nil
	}
	v, err := s.svc.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil, fault.New(fault.Unauthorized, "your sign-in is no longer valid (the token was revoked or has expired): sign in again")
	}
	sess := &session{viewer: v, token: c.Value}
	if org, err := s.svc.Org(r.Context(), v, v.Org); err == nil {
		sess.orgName = org.Name
	} else {
		sess.orgName = v.Org
	}
	return sess, nil
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookieNameFor(r),
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.isHTTPS(r),
		SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookieNameFor(r),
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   s.isHTTPS(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// csrfToken is an HMAC of the session's token under the server's key: a
// form rendered for one sign-in is refused under another, and a page of
// another site cannot compute it.
func (s *Server) csrfToken(sess *session) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(sess.token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// preSession returns the sign-in form's random value from its cookie,
// setting a new one when there is none (w nil: only read it).
func (s *Server) preSession(w http.ResponseWriter, r *http.Request) string {
	name := preCookieName
	if s.isHTTPS(r) {
		name = securePreCookieName
	}
	if c, err := r.Cookie(name); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	if w == nil {
		return ""
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: name, Value: v, Path: "/", HttpOnly: true, Secure: s.isHTTPS(r), SameSite: http.SameSiteStrictMode})
	return v
}

// signinCSRF is the sign-in form's CSRF token for the pre-session value.
func (s *Server) signinCSRF(pre string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("signin\x00"))
	m.Write([]byte(pre))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF checks a form's CSRF token: against the session, or for the
// sign-in form against its pre-session cookie.
func (s *Server) checkCSRF(r *http.Request, sess *session) error {
	if origin := r.Header.Get("Origin"); origin != "" && origin != "null" {
		u, err := url.Parse(origin)
		if err != nil || u.Host != r.Host {
			return fault.New(fault.Forbidden, "the form was sent from another site (%s)", origin)
		}
	}
	got := r.PostFormValue("csrf")
	var want string
	switch {
	case r.URL.Path == "/signin":
		pre := s.preSession(nil, r)
		if pre == "" {
			return fault.New(fault.Forbidden, "the sign-in form has expired or was not sent from this node's pages: reload it and try again")
		}
		want = s.signinCSRF(pre)
	case sess.viewer.Anonymous():
		return fault.New(fault.Unauthorized, "sign in first")
	default:
		want = s.csrfToken(sess)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fault.New(fault.Forbidden, "the form has expired or was not sent from this node's pages: reload the page and try again")
	}
	return nil
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// safeNext returns next if it is a path on this site, else "/": the sign-in
// form must not become an open redirect.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) error {
	pre := s.preSession(w, r)
	return s.render(w, r, "signin", "Sign in", signinPage{Next: safeNext(r.URL.Query().Get("next")), CSRF: s.signinCSRF(pre)})
}

type signinPage struct {
	Next  string
	Error string
	CSRF  string
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) error {
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	csrf := s.signinCSRF(s.preSession(nil, r))
	if token == "" {
		s.renderStatus(w, r, &session{}, http.StatusBadRequest, "signin", "Sign in", signinPage{Next: next, CSRF: csrf, Error: "Enter the token your node's operator gave you."})
		return nil
	}
	if _, err := s.svc.Authenticate(r.Context(), token); err != nil {
		s.renderStatus(w, r, &session{}, http.StatusUnauthorized, "signin", "Sign in", signinPage{Next: next, CSRF: csrf, Error: "That token is not valid on this node (unknown, revoked or expired)."})
		return nil
	}
	s.setCookie(w, r, token)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) error {
	s.clearCookie(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
