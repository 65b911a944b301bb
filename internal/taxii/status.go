package taxii

import (
	"crypto/rand"
	"fmt"
	"sync"
	"time"
)

// Status is a TAXII status resource: the outcome of an add-objects request.
// Requests are processed at once, so a status is always "complete".
type Status struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp string         `json:"request_timestamp,omitempty"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []StatusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []StatusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []StatusDetail `json:"pendings,omitempty"`
}

// StatusDetail names one object of a status resource.
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
	Message string `json:"message,omitempty"`
}

func newStatusID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// statusStore keeps recent status resources in memory, each readable by
// the organisation that made the request. Statuses expire after a while,
// as TAXII allows; the node's objects themselves are durable.
type statusStore struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu struct {
		sync.Mutex
		byID  map[string]*statusEntry // guarded by mu
		order []string                // ids, oldest first; guarded by mu
	}
}

type statusEntry struct {
	status  *Status
	org     string
	created time.Time
}

func newStatusStore(max int, ttl time.Duration, now func() time.Time) *statusStore {
	s := &statusStore{max: max, ttl: ttl, now: now}
	s.mu.byID = map[string]*statusEntry{}
	return s
}

func (s *statusStore) put(st *Status, org string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	for len(s.mu.order) >= s.max {
		delete(s.mu.byID, s.mu.order[0])
		s.mu.order = s.mu.order[1:]
	}
	s.mu.byID[st.ID] = &statusEntry{status: st, org: org, created: now}
	s.mu.order = append(s.mu.order, st.ID)
}

func (s *statusStore) get(id, org string) *Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(s.now())
	e := s.mu.byID[id]
	if e == nil || e.org != org {
		return nil
	}
	return e.status
}

func (s *statusStore) expireLocked(now time.Time) {
	for len(s.mu.order) > 0 {
		e := s.mu.byID[s.mu.order[0]]
		if e != nil && now.Sub(e.created) < s.ttl {
			return
		}
		delete(s.mu.byID, s.mu.order[0])
		s.mu.order = s.mu.order[1:]
	}
}
