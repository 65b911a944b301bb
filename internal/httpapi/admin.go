package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
)

func decodeJSON(r *http.Request, v any) error {
	if err := checkContentType(r, "application/json"); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return fault.New(fault.Malformed, "empty body")
		}
		return fault.New(fault.Malformed, "malformed JSON body: %v", err)
	}
	return nil
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	v := ViewerFrom(r.Context())
	org, err := s.svc.Org(r.Context(), v, v.Org)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"org": org, "role": v.Role, "token": v.TokenID})
	return nil
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request) error {
	orgs, err := s.svc.Orgs(r.Context(), ViewerFrom(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"orgs": orgs})
	return nil
}

// CreateOrgRequest registers an organisation.
type CreateOrgRequest struct {
	Name string `json:"name"`
	// ID registers an organisation of another node under its own id.
	ID string `json:"id,omitempty"`
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request) error {
	var req CreateOrgRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	org, err := s.svc.CreateOrg(r.Context(), ViewerFrom(r.Context()), req.Name, req.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, org)
	return nil
}

// orgParam resolves the {org} path value, a name or an identity id.
func (s *Server) orgParam(r *http.Request) (access.Org, error) {
	return s.svc.Org(r.Context(), ViewerFrom(r.Context()), r.PathValue("org"))
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	org, err := s.orgParam(r)
	if err != nil {
		return err
	}
	toks, err := s.svc.Tokens(r.Context(), ViewerFrom(r.Context()), org.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": toks})
	return nil
}

// CreateTokenRequest makes a token.
type CreateTokenRequest struct {
	Role access.Role `json:"role"`
	// ExpiresIn is a Go duration ("720h"); empty for a token that does not
	// expire.
	ExpiresIn string `json:"expires_in,omitempty"`
}

// CreateTokenResponse shows a new token once.
type CreateTokenResponse struct {
	access.Token
	// Secret is the token to send as "Authorization: Bearer <secret>". It is
	// shown only in this response.
	Secret string `json:"token"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	org, err := s.orgParam(r)
	if err != nil {
		return err
	}
	var req CreateTokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var ttl time.Duration
	if req.ExpiresIn != "" {
		if ttl, err = time.ParseDuration(req.ExpiresIn); err != nil || ttl <= 0 {
			return fault.New(fault.Invalid, "expires_in %q is not a positive duration such as 720h", req.ExpiresIn)
		}
	}
	tok, secret, err := s.svc.CreateToken(r.Context(), ViewerFrom(r.Context()), org.ID, req.Role, ttl)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, CreateTokenResponse{Token: tok, Secret: secret})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.svc.RevokeToken(r.Context(), ViewerFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tok)
	return nil
}

func (s *Server) getAudit(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	q := intel.AuditQuery{Org: v.Get("org"), Action: v.Get("action"), Object: v.Get("object"), Limit: 1000}
	if a := v.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			return fault.New(fault.Malformed, "after %q is not a sequence number", a)
		}
		q.After = n
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			return fault.New(fault.Malformed, "limit %q is not an integer from 1 to 10000", l)
		}
		q.Limit = n
	}
	entries, err := s.svc.Audit(r.Context(), ViewerFrom(r.Context()), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
	return nil
}
