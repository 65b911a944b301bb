package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chain/ethereum"
	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/federation"
	"github.com/cointrail/cointrail/internal/httpapi"
	"github.com/cointrail/cointrail/internal/ingest"
	"github.com/cointrail/cointrail/internal/screen"
	"github.com/cointrail/cointrail/internal/taxii"
	"github.com/cointrail/cointrail/internal/trace"
	"github.com/cointrail/cointrail/internal/web"
)

// serveFlags configure the HTTP server.
type serveFlags struct {
	listen            string
	tlsCert, tlsKey   string
	publicRead        bool
	maxBody           int64
	rate              float64
	burst             int
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	shutdownGrace     time.Duration
	logLevel          string
	logFormat         string
	publicURL         string
	collections       string
	syncInterval      time.Duration
	syncTimeout       time.Duration
	syncBackoff       time.Duration
	syncPage          int
	followBitcoin     string
	followBTCNetwork  string
	followBTCUser     string
	followBTCPassword string
	followBTCCookie   string
	followEthereum    string
	followETHChain    string
	followInterval    time.Duration
}

func (f *serveFlags) register(cmd *cobra.Command, defaultListen string) {
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", defaultListen, "address to listen on")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key, serve HTTPS")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS private key (PEM)")
	fl.BoolVar(&f.publicRead, "public-read", false, "let requests without a token read TLP:CLEAR objects")
	fl.Int64Var(&f.maxBody, "max-body", 32<<20, "largest request body in bytes")
	fl.Float64Var(&f.rate, "rate", 50, "requests per second per token (negative: no limit)")
	fl.IntVar(&f.burst, "burst", 100, "requests a token may make at once")
	fl.DurationVar(&f.readHeaderTimeout, "read-header-timeout", 10*time.Second, "time to read request headers")
	fl.DurationVar(&f.readTimeout, "read-timeout", 2*time.Minute, "time to read a whole request")
	fl.DurationVar(&f.writeTimeout, "write-timeout", 5*time.Minute, "time to write a response")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace", 15*time.Second, "how long requests may finish after a stop signal")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fl.StringVar(&f.publicURL, "public-url", "", "base URL clients reach the node at (behind a reverse proxy); TAXII discovery gives absolute URLs on it (default: each request's host)")
	fl.StringVar(&f.collections, "collections", "", "JSON file of TAXII collections (default: one collection of everything)")
	fl.DurationVar(&f.syncInterval, "sync-interval", 30*time.Second, "time between two sync rounds with a peer")
	fl.DurationVar(&f.syncTimeout, "sync-timeout", time.Minute, "bound on each request to a peer")
	fl.DurationVar(&f.syncBackoff, "sync-backoff-max", 5*time.Minute, "longest wait after failed sync rounds (the wait doubles from 1s)")
	fl.IntVar(&f.syncPage, "sync-page", 5000, "objects per page when pulling from or pushing to a peer")
	fl.StringVar(&f.followBitcoin, "follow-bitcoin", "", "JSON-RPC URL of a Bitcoin Core-compatible node whose chain to keep up with")
	fl.StringVar(&f.followBTCNetwork, "follow-bitcoin-network", "mainnet", "mainnet, testnet, regtest or simnet")
	fl.StringVar(&f.followBTCUser, "follow-bitcoin-user", "", "JSON-RPC user of the Bitcoin node")
	fl.StringVar(&f.followBTCPassword, "follow-bitcoin-password", "", "JSON-RPC password of the Bitcoin node")
	fl.StringVar(&f.followBTCCookie, "follow-bitcoin-cookie", "", "the Bitcoin node's .cookie file")
	fl.StringVar(&f.followEthereum, "follow-ethereum", "", "JSON-RPC URL of an Ethereum-family node whose chain to keep up with")
	fl.StringVar(&f.followETHChain, "follow-ethereum-chain", "ethereum", "the chain id of the Ethereum-family node")
	fl.DurationVar(&f.followInterval, "follow-interval", 5*time.Second, "how often to ask a followed node for new blocks")
}

// followers returns the chain sources serve keeps up with.
func (f *serveFlags) followers(log *slog.Logger) ([]chain.Source, error) {
	var out []chain.Source
	if f.followBitcoin != "" {
		net, err := bitcoin.ParseNetwork(f.followBTCNetwork)
		if err != nil {
			return nil, usagef("--follow-bitcoin-network: %v", err)
		}
		src, err := bitcoin.NewRPC(f.followBitcoin, net, bitcoin.RPCOptions{User: f.followBTCUser, Password: f.followBTCPassword, CookieFile: f.followBTCCookie})
		if err != nil {
			return nil, usagef("--follow-bitcoin: %v", err)
		}
		out = append(out, src)
	}
	if f.followEthereum != "" {
		if info, ok := chain.Lookup(f.followETHChain); !ok || info.Model != chain.Account {
			return nil, usagef("--follow-ethereum-chain %q is not an Ethereum-family chain", f.followETHChain)
		}
		src, err := ethereum.NewRPC(f.followEthereum, f.followETHChain, ethereum.RPCOptions{Logger: log})
		if err != nil {
			return nil, usagef("--follow-ethereum: %v", err)
		}
		out = append(out, src)
	}
	return out, nil
}

// taxiiConfig reads the TAXII configuration the flags give.
func (f *serveFlags) taxiiConfig(log *slog.Logger) (taxii.Config, error) {
	cfg := taxii.Config{PublicURL: f.publicURL, MaxContentLength: f.maxBody, Logger: log}
	if f.publicURL != "" {
		u, err := url.Parse(f.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, usagef("--public-url %q is not an http(s) URL", f.publicURL)
		}
	}
	if f.collections != "" {
		data, err := os.ReadFile(f.collections)
		if err != nil {
			return cfg, usagef("--collections: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg.Collections); err != nil {
			return cfg, usagef("--collections %s: %v", f.collections, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usagef("%v", err)
	}
	return cfg, nil
}

func (f *serveFlags) logger(m *Main) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(m.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(m.Stderr, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", f.logFormat)
}

func (m *Main) serveCommand() *cobra.Command {
	var d dataFlags
	var sf serveFlags
	cmd := &cobra.Command{
		Use:   "serve --data DIR --listen ADDR",
		Short: "Run the node: REST API, health checks and metrics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := sf.logger(m)
			if err != nil {
				return err
			}
			e, err := m.open(cmd.Context(), d)
			if err != nil {
				return err
			}
			defer e.Close()
			e.log = log
			ln, err := net.Listen("tcp", sf.listen)
			if err != nil {
				return usagef("listen on %s: %v", sf.listen, err)
			}
			return m.serve(cmd.Context(), e, ln, sf, nil)
		},
	}
	d.register(cmd)
	sf.register(cmd, "127.0.0.1:8080")
	return cmd
}

// serve runs the node's HTTP server on ln until ctx ends, then shuts it
// down gracefully. ready, if set, is called with the base URL once serving.
func (m *Main) serve(ctx context.Context, e *env, ln net.Listener, sf serveFlags, ready func(url string)) error {
	log := e.log
	if err := e.bindOwnKeys(ctx); err != nil {
		ln.Close()
		return err
	}
	followers, err := sf.followers(log)
	if err != nil {
		ln.Close()
		return err
	}
	chainIdx, err := m.openChain(e.dir)
	if err != nil {
		ln.Close()
		return err
	}
	defer chainIdx.Close()
	alerts, err := startAlerting(ctx, e, chainIdx, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer alerts.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	tracer := trace.New(chainIdx)
	clusters := cluster.NewIndex(chainIdx)
	screener := screen.New(e.svc, chainIdx, screen.Options{Clusters: clusters})
	ui, err := web.New(e.svc, web.Options{
		Logger: log.With("component", "web"), PublicRead: sf.publicRead,
		Chain: chainIdx, Screener: screener, Tracer: tracer, Clusters: clusters, Alerts: alerts.svc,
		Operator: e.cfg.Operator, PublicURL: sf.publicURL,
	})
	if err != nil {
		ln.Close()
		return err
	}
	api := httpapi.New(e.svc, httpapi.Options{
		Logger: log, MaxBodyBytes: sf.maxBody, RatePerSecond: sf.rate, RateBurst: sf.burst,
		PublicRead: sf.publicRead, Version: version(), Registry: reg,
		NodeDocument: func(ctx context.Context) ([]byte, error) {
			return federation.BuildDocument(ctx, e.svc, e.operator(), e.keys, e.signer, time.Now())
		},
		Chain:    chainIdx,
		Tracer:   tracer,
		Screener: screener,
		Alerts:   alerts.svc,
		UI:       ui.Handler(),
	})
	syncer := federation.NewSyncer(e.svc, e.cfg.Operator, federation.Options{
		Interval: sf.syncInterval, Timeout: sf.syncTimeout, MaxBackoff: sf.syncBackoff, PageSize: sf.syncPage,
		Logger: log.With("component", "federation"), Registerer: reg,
	})
	tcfg, err := sf.taxiiConfig(log)
	if err != nil {
		ln.Close()
		return err
	}
	tx, err := taxii.New(e.svc, tcfg)
	if err != nil {
		ln.Close()
		return err
	}
	for _, p := range tx.Paths() {
		api.Mount(p, tx, httpapi.MountOptions{Public: true, WriteError: taxii.WriteError})
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: sf.readHeaderTimeout,
		ReadTimeout:       sf.readTimeout,
		WriteTimeout:      sf.writeTimeout,
		IdleTimeout:       sf.idleTimeout,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if sf.tlsCert != "" || sf.tlsKey != "" {
		if sf.tlsCert == "" || sf.tlsKey == "" {
			ln.Close()
			return usagef("--tls-cert and --tls-key go together")
		}
		cert, err := tls.LoadX509KeyPair(sf.tlsCert, sf.tlsKey)
		if err != nil {
			ln.Close()
			return usagef("TLS key pair: %v", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s", scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	syncCtx, stopSync := context.WithCancel(ctx)
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		_ = syncer.Run(syncCtx)
	}()
	// Each followed node in a loop of its own; a node that fails is tried
	// again after a while, and slows nothing else.
	var followWG sync.WaitGroup
	defer func() {
		stopSync()
		<-syncDone
		followWG.Wait()
	}()
	followWG.Add(1)
	go func() {
		defer followWG.Done()
		alerts.run(syncCtx, log)
	}()
	for _, src := range followers {
		followWG.Add(1)
		go func() {
			defer followWG.Done()
			flog := log.With("component", "ingest", "chain", src.Chain())
			for syncCtx.Err() == nil {
				err := ingest.FromSource(syncCtx, alerts.index(chainIdx), src, "rpc", -1, -1, true, ingest.Options{Logger: flog, Interval: sf.followInterval})
				if err != nil && syncCtx.Err() == nil {
					flog.Warn("following the node failed; trying again", "err", err, "retry_in", sf.followInterval)
				}
				select {
				case <-syncCtx.Done():
				case <-time.After(sf.followInterval):
				}
			}
		}()
	}
	log.Info("serving", "url", url, "data", e.dir)
	if ready != nil {
		ready(url)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", sf.shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), sf.shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
