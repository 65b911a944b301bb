package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/fault"
)

// ChainReader reads the chain index.
type ChainReader interface {
	Tx(ctx context.Context, chainID, hash string) (*chainstore.TxView, error)
	Address(ctx context.Context, chainID, addr string) (*chainstore.AddressView, error)
	Status(chainID string) (*chainstore.Status, error)
}

// chainParam returns the {chain} path value, checked.
func chainParam(r *http.Request) (string, error) {
	c := r.PathValue("chain")
	if _, ok := chain.Lookup(c); !ok {
		return "", fault.New(fault.NotFound, "unknown chain %q", c)
	}
	return c, nil
}

func (s *Server) chainReader() (ChainReader, error) {
	if s.opts.Chain == nil {
		return nil, fault.New(fault.Unavailable, "this node holds no chain index")
	}
	return s.opts.Chain, nil
}

// chainRead answers a chain read: the {chain} path value checked, the
// index there, and what read returns as JSON.
func (s *Server) chainRead(w http.ResponseWriter, r *http.Request, read func(cr ChainReader, chainID string) (any, error)) error {
	c, err := chainParam(r)
	if err != nil {
		return err
	}
	cr, err := s.chainReader()
	if err != nil {
		return err
	}
	v, err := read(cr, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) getChainTx(w http.ResponseWriter, r *http.Request) error {
	return s.chainRead(w, r, func(cr ChainReader, c string) (any, error) {
		return cr.Tx(r.Context(), c, r.PathValue("hash"))
	})
}

func (s *Server) getChainAddress(w http.ResponseWriter, r *http.Request) error {
	return s.chainRead(w, r, func(cr ChainReader, c string) (any, error) {
		a := r.PathValue("address")
		if !strings.HasPrefix(a, "script:") {
			var err error
			if a, err = address.Canonical(c, a); err != nil {
				return nil, err
			}
		}
		return cr.Address(r.Context(), c, a)
	})
}

func (s *Server) getChainStatus(w http.ResponseWriter, r *http.Request) error {
	return s.chainRead(w, r, func(cr ChainReader, c string) (any, error) {
		return cr.Status(c)
	})
}
