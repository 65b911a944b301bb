package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/trace"
)

// view is what live traces read of the intelligence at one version: the
// incidents and labels as the operator sees them, which incidents each
// watching organisation may see, and the labels of its label watches. It
// is built apart from the chain work (reading every incident takes a
// while on a large node) and never changed once published.
type view struct {
	version   int64
	incidents map[string]intel.Incident
	labels    map[string]map[string]trace.Label // by chain
	visible   map[string]map[string]bool        // by org: incident ids
	orgLabels map[string]map[string]trace.Label // by org and chain (orgChain)
}

func orgChain(org, chainID string) string { return org + "\x00" + chainID }

// buildView reads the intelligence as of version.
func (l *Live) buildView(ctx context.Context, version int64) (*view, error) {
	v := &view{version: version, labels: map[string]map[string]trace.Label{}, visible: map[string]map[string]bool{}, orgLabels: map[string]map[string]trace.Label{}}
	incs, err := l.svc.intel.Incidents(ctx, l.operator())
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	v.incidents = make(map[string]intel.Incident, len(incs))
	for _, inc := range incs {
		v.incidents[inc.ID] = inc
	}
	for _, id := range l.idx.Chains() {
		if v.labels[id], err = trace.LabelsFor(ctx, l.svc.intel, l.operator(), id, nil); err != nil {
			return nil, err
		}
	}
	ws, err := l.svc.store.Watches(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		if _, ok := v.visible[w.Org]; !ok {
			if v.visible[w.Org], err = visibleIncidents(ctx, l.svc.intel, w.Org); err != nil {
				return nil, err
			}
		}
		if k := orgChain(w.Org, w.Chain); w.Label != "" && v.orgLabels[k] == nil {
			if v.orgLabels[k], err = trace.LabelsFor(ctx, l.svc.intel, access.Viewer{Org: w.Org, Role: access.Reader}, w.Chain, nil); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// visibleIncidents returns the ids of the incidents org may see.
func visibleIncidents(ctx context.Context, in Intel, org string) (map[string]bool, error) {
	incs, err := in.Incidents(ctx, access.Viewer{Org: org, Role: access.Reader})
	if err != nil {
		return nil, fmt.Errorf("incidents of %s: %w", org, err)
	}
	vis := make(map[string]bool, len(incs))
	for _, inc := range incs {
		vis[inc.ID] = true
	}
	return vis, nil
}

// refresh builds a new view whenever the intelligence changed, at most
// once per Refresh, publishes it and wakes the loop, until ctx ends.
func (l *Live) refresh(ctx context.Context) {
	t := time.NewTicker(l.opts.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := l.reread(ctx)
		if err != nil && ctx.Err() == nil {
			l.log.WarnContext(ctx, "live traces: reading the intelligence failed", "err", err)
		}
		if changed {
			l.Notify("")
		}
	}
}

// reread builds and publishes a new view if the intelligence changed
// since the published one was read.
func (l *Live) reread(ctx context.Context) (bool, error) {
	version, err := l.svc.intel.Store().LastAdded(ctx)
	if err != nil {
		return false, fmt.Errorf("intelligence version: %w", err)
	}
	if cur := l.published(); cur != nil && version == cur.version {
		return false, nil
	}
	v, err := l.buildView(ctx, version)
	if err != nil {
		return false, err
	}
	l.publish(v)
	return true, nil
}

func (l *Live) publish(v *view) {
	l.view.Lock()
	defer l.view.Unlock()
	l.view.cur = v
}

func (l *Live) published() *view {
	l.view.Lock()
	defer l.view.Unlock()
	return l.view.cur
}

// sightings records the pending sightings whenever an alert is raised, and
// every 30 seconds those that failed, until ctx ends. It runs apart from
// the chain work, which an alert's webhook delivery waits for.
func (l *Live) sightings(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		if err := l.svc.recordSightings(ctx); err != nil && ctx.Err() == nil {
			l.log.WarnContext(ctx, "live traces: recording sightings failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.svc.sightings:
		}
	}
}
