package httpapi

import (
	"context"
	"net/http"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/screen"
)

// Screener screens addresses as a viewer.
type Screener interface {
	Screen(ctx context.Context, v access.Viewer, chainID, addr string) (*screen.Result, error)
	Batch(ctx context.Context, v access.Viewer, chainID string, addrs []string) ([]screen.Result, error)
}

// ScreenRequest is the body of POST /api/v1/screen.
type ScreenRequest struct {
	Chain     string   `json:"chain"`
	Addresses []string `json:"addresses"`
}

func (s *Server) screener() (Screener, error) {
	if s.opts.Screener == nil {
		return nil, fault.New(fault.Unavailable, "this node holds no chain index to screen against")
	}
	return s.opts.Screener, nil
}

func (s *Server) getScreen(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.screener()
	if err != nil {
		return err
	}
	res, err := sc.Screen(r.Context(), ViewerFrom(r.Context()), r.PathValue("chain"), r.PathValue("address"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) postScreen(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.screener()
	if err != nil {
		return err
	}
	var req ScreenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	res, err := sc.Batch(r.Context(), ViewerFrom(r.Context()), req.Chain, req.Addresses)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"chain": req.Chain, "results": res})
	return nil
}
