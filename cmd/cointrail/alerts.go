package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/alert"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
)

// openAlerts opens a data folder's alert store and the service over it.
func openAlerts(ctx context.Context, e *env) (*alert.Service, error) {
	st, err := alert.OpenStore(ctx, filepath.Join(e.dir, alert.File), alert.StoreOptions{Logger: e.log})
	if err != nil {
		return nil, err
	}
	return alert.NewService(st, e.svc, alert.Options{Logger: e.log.With("component", "alerts"), Operator: e.cfg.Operator}), nil
}

// withAlerts opens the node and its alert store, resolves --org (a name
// or an identity id; "" stays "") and calls fn: what every watch and alert
// command does first.
func (m *Main) withAlerts(ctx context.Context, d dataFlags, org string, fn func(e *env, svc *alert.Service, orgID string) error) error {
	e, err := m.open(ctx, d)
	if err != nil {
		return err
	}
	defer e.Close()
	id, err := orgOf(ctx, e, org)
	if err != nil {
		return err
	}
	svc, err := openAlerts(ctx, e)
	if err != nil {
		return err
	}
	defer svc.Store().Close()
	return fn(e, svc, id)
}

// orgNames maps the node's organisations' identity ids to their names.
func orgNames(ctx context.Context, e *env) map[string]string {
	names := map[string]string{}
	if orgs, err := e.svc.Orgs(ctx, e.operator()); err == nil {
		for _, o := range orgs {
			names[o.ID] = o.Name
		}
	}
	return names
}

// orgOf resolves --org (a name or an identity id) to an identity id; ""
// stays "".
func orgOf(ctx context.Context, e *env, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	v, err := e.as(ctx, name)
	if err != nil {
		return "", err
	}
	return v.Org, nil
}

func (m *Main) watchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Watch addresses for stolen value: add, list and remove watches",
		Long:  "A watch is an organisation's: addresses on a chain (its deposit addresses), or every address labelled with an entity as the organisation sees the labels. When a live trace of an incident the organisation may see brings tainted value to a watched address, serve raises an alert: stored (cointrail alert list), POSTed to the webhook, streamed at /api/v1/alerts/stream and recorded as a STIX sighting owned by the organisation.",
	}

	var (
		d                              dataFlags
		org, chainID, label, minAmount string
		webhook, secret                string
		addrs                          []string
		asJSON                         bool
	)
	add := &cobra.Command{
		Use:   "add --org ORG --chain CHAIN (--address A... | --label L) [--min AMOUNT] [--webhook URL --secret S] --data DIR",
		Short: "Watch addresses, or everything labelled with an entity, and print the watch's id",
		Long:  "add watches, for organisation ORG, the addresses given (--address, repeated or comma-separated) or every address labelled with entity L (--label, compared without regard to case). --min is the least tainted amount, in base units, that raises an alert. Alerts are POSTed to --webhook with X-Cointrail-Signature: sha256=<HMAC-SHA256 of the body keyed with --secret> and an Idempotency-Key; the secret may come from COINTRAIL_SECRET rather than the command line.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if org == "" || chainID == "" {
				return usagef("watch add needs --org ORG and --chain CHAIN")
			}
			if _, ok := chain.Lookup(chainID); !ok {
				return usagef("--chain %q is not a chain cointrail knows", chainID)
			}
			if (len(addrs) == 0) == (label == "") {
				return usagef("watch add needs --address A... or --label L (one of them)")
			}
			if (webhook == "") != (secret == "") {
				return usagef("--webhook and --secret go together")
			}
			return m.withAlerts(ctx, d, org, func(e *env, svc *alert.Service, id string) error {
				v := e.operator()
				if id != "" {
					v = access.Viewer{Org: id, Role: access.Admin}
				}
				w, err := svc.AddWatch(ctx, v, alert.Watch{Chain: chainID, Addresses: addrs, Label: label, Min: minAmount, Webhook: webhook, Secret: secret})
				if err != nil {
					return err
				}
				if asJSON {
					return m.printJSON(w)
				}
				fmt.Fprintln(m.Stdout, w.ID)
				return nil
			})
		},
	}
	d.register(add)
	f := add.Flags()
	f.StringVar(&org, "org", "", "the watching organisation (name or identity id)")
	f.StringVar(&chainID, "chain", "", "the chain (bitcoin, ethereum, ...)")
	f.StringSliceVar(&addrs, "address", nil, "an address to watch (repeat, or separate with commas)")
	f.StringVar(&label, "label", "", "watch every address labelled with this entity")
	f.StringVar(&minAmount, "min", "0", "the least tainted amount, in base units, that raises an alert")
	f.StringVar(&webhook, "webhook", "", "URL to POST alerts to")
	f.StringVar(&secret, "secret", "", "key of the deliveries' HMAC signature")
	f.BoolVar(&asJSON, "json", false, "print the watch as JSON")

	var ld dataFlags
	var lorg string
	var ljson bool
	list := &cobra.Command{
		Use:   "list --data DIR [--org ORG] [--json]",
		Short: "List watches (an organisation's with --org)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return m.withAlerts(ctx, ld, lorg, func(e *env, svc *alert.Service, id string) error {
				ws, err := svc.Store().Watches(ctx, id)
				if err != nil {
					return err
				}
				if ws == nil {
					ws = []alert.Watch{}
				}
				if ljson {
					return m.printJSON(ws)
				}
				names := orgNames(ctx, e)
				tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tORG\tCHAIN\tWATCHES\tMIN\tWEBHOOK")
				for _, w := range ws {
					what := strings.Join(w.Addresses, ",")
					if w.Label != "" {
						what = "label " + w.Label
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", w.ID, names[w.Org], w.Chain, what, w.Min, w.Webhook)
				}
				return tw.Flush()
			})
		},
	}
	ld.register(list)
	list.Flags().StringVar(&lorg, "org", "", "only this organisation's watches")
	list.Flags().BoolVar(&ljson, "json", false, "print JSON")

	var rd dataFlags
	var rorg string
	remove := &cobra.Command{
		Use:   "remove ID --data DIR [--org ORG]",
		Short: "Remove a watch (its alerts stay; their pending deliveries stop)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return m.withAlerts(ctx, rd, rorg, func(e *env, svc *alert.Service, id string) error {
				if err := svc.Store().RemoveWatch(ctx, args[0], id); err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "removed watch %s\n", args[0])
				return nil
			})
		},
	}
	rd.register(remove)
	remove.Flags().StringVar(&rorg, "org", "", "the watch's organisation (refused if the watch is another's)")

	cmd.AddCommand(add, list, remove)
	return cmd
}

func (m *Main) alertCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alert",
		Short: "List and acknowledge alerts",
		Long:  "Alerts are raised by a serving node when a live trace brings an incident's stolen value to a watched address (see cointrail watch). Amounts are in base units, under the FIFO and haircut models.",
	}
	var (
		d          dataFlags
		org, state string
		asJSON     bool
	)
	list := &cobra.Command{
		Use:   "list --data DIR [--state new|acknowledged] [--org ORG] [--json]",
		Short: "List alerts, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var f alert.Filter
			if state != "" {
				st, ok := alert.ParseState(state)
				if !ok {
					return usagef("--state %q: want new or acknowledged", state)
				}
				f.State = st
			}
			return m.withAlerts(ctx, d, org, func(e *env, svc *alert.Service, id string) error {
				f.Org = id
				var all []alert.Alert
				for {
					page, err := svc.Store().Alerts(ctx, f)
					if err != nil {
						return err
					}
					all = append(all, page...)
					if len(page) < 1000 {
						break
					}
					f.After = page[len(page)-1].Seq
				}
				if all == nil {
					all = []alert.Alert{}
				}
				if asJSON {
					return m.printJSON(all)
				}
				names := orgNames(ctx, e)
				tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATE\tORG\tINCIDENT\tFIFO\tHAIRCUT\tADDRESS\tTX\tBLOCK\tDELIVERY")
				for _, a := range all {
					delivery := "-"
					if a.Delivery != nil {
						delivery = fmt.Sprintf("%s (%d attempts)", a.Delivery.State, a.Delivery.Attempts)
					}
					name := a.IncidentName
					if name == "" {
						name = a.Incident
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", a.ID, a.State, names[a.Org], name, a.Amounts.FIFO, a.Amounts.Haircut, a.Address, a.Tx, a.BlockHeight, delivery)
				}
				return tw.Flush()
			})
		},
	}
	d.register(list)
	list.Flags().StringVar(&state, "state", "", "only alerts in this state: new or acknowledged")
	list.Flags().StringVar(&org, "org", "", "only this organisation's alerts")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var ad dataFlags
	var aorg string
	ack := &cobra.Command{
		Use:   "ack ID --data DIR [--org ORG]",
		Short: "Acknowledge an alert",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return m.withAlerts(ctx, ad, aorg, func(e *env, svc *alert.Service, id string) error {
				a, err := svc.Store().Ack(ctx, args[0], id)
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "alert %s %s\n", a.ID, a.State)
				return nil
			})
		},
	}
	ad.register(ack)
	ack.Flags().StringVar(&aorg, "org", "", "the alert's organisation (refused if the alert is another's)")

	cmd.AddCommand(list, ack)
	return cmd
}

func (m *Main) printJSON(v any) error {
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// alerting is what serve runs for alerts: the live traces, which raise
// them, and the deliverer, which sends them to webhooks.
type alerting struct {
	svc     *alert.Service
	live    *alert.Live
	deliver *alert.Deliverer
}

// startAlerting opens the data folder's alerts for serve.
func startAlerting(ctx context.Context, e *env, idx *chainstore.Store, log *slog.Logger) (*alerting, error) {
	svc, err := openAlerts(ctx, e)
	if err != nil {
		return nil, err
	}
	return &alerting{
		svc:     svc,
		live:    alert.NewLive(svc, idx, alert.LiveOptions{Logger: log.With("component", "live-trace")}),
		deliver: alert.NewDeliverer(svc, alert.DelivererOptions{Logger: log.With("component", "webhook")}),
	}, nil
}

// run runs the live traces and the deliverer until ctx ends.
func (a *alerting) run(ctx context.Context, log *slog.Logger) {
	var wg sync.WaitGroup
	for name, fn := range map[string]func(context.Context) error{"live traces": a.live.Run, "webhook deliveries": a.deliver.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A failure to start (the store unreadable) is retried: alerts
			// must not stop for good while the node serves.
			for ctx.Err() == nil {
				err := fn(ctx)
				if err == nil || ctx.Err() != nil {
					return
				}
				log.Warn("alerts: "+name+" stopped; restarting", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
				}
			}
		}()
	}
	wg.Wait()
}

func (a *alerting) Close() error { return a.svc.Store().Close() }

// index returns idx as ingest writes to it, telling the live traces of
// every group of blocks applied.
func (a *alerting) index(idx *chainstore.Store) notifyingIndex {
	return notifyingIndex{Store: idx, notify: a.live.Notify}
}

// notifyingIndex is a chain index whose ApplyFrom calls notify after it
// applied blocks.
type notifyingIndex struct {
	*chainstore.Store
	notify func(chainID string)
}

// ApplyFrom applies blocks, then calls notify with their chain.
func (n notifyingIndex) ApplyFrom(ctx context.Context, source string, blocks ...*chain.Block) error {
	err := n.Store.ApplyFrom(ctx, source, blocks...)
	if len(blocks) > 0 && !errors.Is(err, context.Canceled) {
		n.notify(blocks[0].Chain)
	}
	return err
}
