// Command cointrail runs a cointrail node and manages its data folder.
//
// A node stores shared cryptocurrency-theft intelligence as STIX 2.1
// objects and serves each organisation what its TLP markings allow. Run
// "cointrail demo" for a node loaded with the UN Panel of Experts' findings,
// or "cointrail help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/fault"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // something failed that is not the caller's input
	exitUsage = 2 // bad usage or bad input
)

// Main holds what every command shares: its streams and environment.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv reads COINTRAIL_* variables.
	LookupEnv func(string) (string, bool)
}

// Run runs the command line args and returns the exit code. Results go to
// stdout, diagnostics to stderr; a failure prints one line.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	m := &Main{Stdin: stdin, Stdout: stdout, Stderr: stderr, LookupEnv: env}
	root := m.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "cointrail: %s\n", oneLine(errorText(err)))
	return exitCode(err)
}

// usageError is bad usage: unknown flags, missing arguments, bad values.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	switch fault.CodeOf(err) {
	case fault.Internal, fault.Unavailable:
		return exitError
	}
	return exitUsage
}

func errorText(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
}

func (m *Main) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "cointrail",
		Short:         "Share, trace and report stolen cryptocurrency",
		Long:          "cointrail is the open, self-hosted node for sharing cryptocurrency-theft intelligence as STIX 2.1 objects under TLP markings.\n\nEvery flag can also be set through an environment variable: --data is COINTRAIL_DATA, --listen is COINTRAIL_LISTEN, and so on.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return m.applyEnv(cmd)
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%v (see cointrail %s --help)", err, cmd.Name())
	})
	root.AddCommand(
		m.initCommand(),
		m.orgCommand(),
		m.tokenCommand(),
		m.serveCommand(),
		m.importCommand(),
		m.exportCommand(),
		m.demoCommand(),
		m.nodeCommand(),
		m.ingestCommand(),
		m.chainCommand(),
		m.traceCommand(),
		m.reportCommand(),
		m.clusterCommand(),
		m.screenCommand(),
		m.peerCommand(),
		m.simulateCommand(),
		m.watchCommand(),
		m.alertCommand(),
		m.versionCommand(),
	)
	wrapArgs(root)
	return root
}

// wrapArgs makes argument-count errors usage errors, on c and its children.
func wrapArgs(c *cobra.Command) {
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usagef("%s: %v", cmd.CommandPath(), err)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
	if c.HasSubCommands() && c.RunE == nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %s", args[0], cmd.CommandPath())
			}
			return usagef("%s needs a subcommand (see %s --help)", cmd.CommandPath(), cmd.CommandPath())
		}
		c.Args = cobra.ArbitraryArgs
	}
}
