package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/trace"
)

// TraceRequest is the body of POST /api/v1/traces.
type TraceRequest struct {
	Chain string `json:"chain"`
	// Seeds, or Incident: whose theft-destination wallets seed the trace.
	Seeds    []TraceSeed `json:"seeds,omitempty"`
	Incident string      `json:"incident,omitempty"`
	// Model is fifo (default), haircut, poison, lifo or tiho.
	Model              string   `json:"model,omitempty"`
	MaxHops            int      `json:"max_hops,omitempty"`
	Dust               string   `json:"dust,omitempty"`
	ToHeight           int64    `json:"to_height,omitempty"`
	EndpointCategories []string `json:"endpoint_categories,omitempty"`
	// Async asks for a job at once, whatever the trace's size.
	Async bool `json:"async,omitempty"`
}

// TraceSeed is one seed of a TraceRequest: an output ("txid:vout"), a
// transaction, or an address with its asset.
type TraceSeed struct {
	Output     string `json:"output,omitempty"`
	Tx         string `json:"tx,omitempty"`
	Address    string `json:"address,omitempty"`
	Asset      string `json:"asset,omitempty"`
	Amount     string `json:"amount,omitempty"`
	FromHeight int64  `json:"from_height,omitempty"`
}

// TraceJob is a trace run in the background: GET /api/v1/traces/{id}.
type TraceJob struct {
	ID      string    `json:"id"`
	Status  string    `json:"status"` // running, done, failed, canceled
	Created time.Time `json:"created"`
	// Txs is how many transactions the trace has stepped so far.
	Txs       int           `json:"txs"`
	ResultURL string        `json:"result_url"`
	Error     *errorBody    `json:"error,omitempty"`
	Result    *trace.Result `json:"result,omitempty"`

	org    string
	cancel context.CancelFunc
	done   chan struct{}
	ended  time.Time
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// traceJobs holds the trace jobs of a server, in memory: a job is kept for
// an hour after it ends, then forgotten.
type traceJobs struct {
	mu   sync.Mutex
	jobs map[string]*TraceJob
}

const traceJobTTL = time.Hour

func (j *traceJobs) add(job *TraceJob) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.jobs == nil {
		j.jobs = map[string]*TraceJob{}
	}
	for id, old := range j.jobs {
		if !old.ended.IsZero() && time.Since(old.ended) > traceJobTTL {
			delete(j.jobs, id)
		}
	}
	j.jobs[job.ID] = job
}

// get returns a copy of job id, if org may see it.
func (j *traceJobs) get(id, org string) (TraceJob, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.jobs[id]
	if !ok || job.org != org {
		return TraceJob{}, false
	}
	return *job, true
}

func (j *traceJobs) update(job *TraceJob, fn func(*TraceJob)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	fn(job)
}

// seeds turns the request into the tracer's seeds and options.
func (s *Server) traceInput(ctx context.Context, v access.Viewer, req *TraceRequest) ([]trace.Seed, trace.Options, error) {
	var opts trace.Options
	info, ok := chain.Lookup(req.Chain)
	if !ok {
		return nil, opts, fault.New(fault.Invalid, "chain %q is not a chain cointrail knows", req.Chain)
	}
	if (len(req.Seeds) == 0) == (req.Incident == "") {
		return nil, opts, fault.New(fault.Invalid, "a trace needs seeds or an incident (one of them)")
	}
	if req.Model != "" {
		m, err := trace.ParseModel(req.Model)
		if err != nil {
			return nil, opts, fault.Wrap(fault.Invalid, err, "model: %v", err)
		}
		opts.Model = m
	}
	if req.MaxHops < 0 {
		return nil, opts, fault.New(fault.Invalid, "max_hops %d is negative", req.MaxHops)
	}
	opts.MaxHops, opts.MaxHeight, opts.EndpointCategories = req.MaxHops, req.ToHeight, req.EndpointCategories
	if req.Dust != "" {
		d, ok := new(big.Int).SetString(req.Dust, 10)
		if !ok || d.Sign() < 0 {
			return nil, opts, fault.New(fault.Invalid, "dust %q is not a whole number of base units", req.Dust)
		}
		opts.Dust = d
	}
	var seeds []trace.Seed
	for i, sd := range req.Seeds {
		var amt trace.Amount
		if sd.Amount != "" {
			a, ok := new(big.Int).SetString(sd.Amount, 10)
			if !ok || a.Sign() <= 0 {
				return nil, opts, fault.New(fault.Invalid, "seeds[%d].amount %q is not a positive whole number of base units", i, sd.Amount)
			}
			amt.Int = a
		}
		switch {
		case sd.Output != "" && sd.Tx == "" && sd.Address == "":
			if info.Model != chain.UTXO {
				return nil, opts, fault.New(fault.Invalid, "seeds[%d]: %s has no outputs; seed an address or a transaction", i, req.Chain)
			}
			if _, err := chain.ParseOutpoint(sd.Output); err != nil {
				return nil, opts, fault.Wrap(fault.Invalid, err, "seeds[%d].output: %v", i, err)
			}
			seeds = append(seeds, trace.Seed{Kind: trace.SeedOutput, Output: sd.Output, Amount: amt})
		case sd.Tx != "" && sd.Output == "" && sd.Address == "":
			seeds = append(seeds, trace.Seed{Kind: trace.SeedTx, Tx: sd.Tx, Asset: sd.Asset, Amount: amt})
		case sd.Address != "" && sd.Output == "" && sd.Tx == "":
			seeds = append(seeds, trace.Seed{Kind: trace.SeedAddress, Address: sd.Address, Asset: sd.Asset, Amount: amt, FromHeight: sd.FromHeight})
		default:
			return nil, opts, fault.New(fault.Invalid, "seeds[%d] needs exactly one of output, tx or address", i)
		}
	}
	if req.Incident != "" {
		var err error
		if seeds, err = trace.IncidentSeeds(ctx, s.svc, v, req.Incident, req.Chain); err != nil {
			return nil, opts, err
		}
	}
	labels, err := trace.LabelsFor(ctx, s.svc, v, req.Chain, req.EndpointCategories)
	if err != nil {
		return nil, opts, err
	}
	opts.Labels = labels
	return seeds, opts, nil
}

// postTrace runs a trace: a small one answers at once (200 with the
// result); one that runs longer than TraceWait, or asked async, becomes a
// job (202, Location: its URL, where the result appears when done).
func (s *Server) postTrace(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Tracer == nil {
		return fault.New(fault.Unavailable, "this node holds no chain index to trace on")
	}
	var req TraceRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v := ViewerFrom(r.Context())
	seeds, opts, err := s.traceInput(r.Context(), v, &req)
	if err != nil {
		return err
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	// The job outlives the request: its context is the server's.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	job := &TraceJob{ID: hex.EncodeToString(id), Status: "running", Created: time.Now().UTC(), org: v.Org, cancel: cancel, done: make(chan struct{})}
	job.ResultURL = "/api/v1/traces/" + job.ID
	opts.Progress = func(txs int) { s.traces.update(job, func(j *TraceJob) { j.Txs = txs }) }
	s.traces.add(job)
	go func() {
		defer close(job.done)
		defer cancel()
		res, err := s.opts.Tracer.Trace(ctx, req.Chain, seeds, opts)
		s.traces.update(job, func(j *TraceJob) {
			j.ended = time.Now()
			switch {
			case err == nil:
				j.Status, j.Result, j.Txs = "done", res, res.Stats.Txs
			case errors.Is(err, context.Canceled):
				j.Status = "canceled"
			default:
				j.Status = "failed"
				j.Error = &errorBody{Code: string(fault.CodeOf(err)), Message: errorText(err)}
			}
		})
	}()
	if !req.Async {
		select {
		case <-job.done:
			got, _ := s.traces.get(job.ID, v.Org)
			if got.Status == "failed" {
				return &fault.Error{Code: fault.Code(got.Error.Code), Message: got.Error.Message}
			}
			writeJSON(w, http.StatusOK, got.Result)
			return nil
		case <-time.After(s.opts.TraceWait):
		case <-r.Context().Done():
		}
	}
	got, _ := s.traces.get(job.ID, v.Org)
	w.Header().Set("Location", got.ResultURL)
	writeJSON(w, http.StatusAccepted, got)
	return nil
}

// getTrace reports a trace job: its status and progress, and the result
// when it is done. Only the organisation that started a job sees it.
func (s *Server) getTrace(w http.ResponseWriter, r *http.Request) error {
	job, ok := s.traces.get(r.PathValue("id"), ViewerFrom(r.Context()).Org)
	if !ok {
		return fault.New(fault.NotFound, "no trace job %s", r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

// deleteTrace cancels a running trace job.
func (s *Server) deleteTrace(w http.ResponseWriter, r *http.Request) error {
	job, ok := s.traces.get(r.PathValue("id"), ViewerFrom(r.Context()).Org)
	if !ok {
		return fault.New(fault.NotFound, "no trace job %s", r.PathValue("id"))
	}
	job.cancel()
	<-job.done
	job, _ = s.traces.get(job.ID, ViewerFrom(r.Context()).Org)
	writeJSON(w, http.StatusOK, job)
	return nil
}

// errorText returns a fault's message, or the error's text.
func errorText(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return strings.TrimSpace(fmt.Sprint(err))
}
