// Package cli implements the samsa command-line client: topic administration,
// console produce/consume, consumer group administration, cluster inspection
// and performance tools. It talks
// to any Kafka-compatible broker through franz-go.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes returned by Main.
const (
	ExitOK    = 0 // success
	ExitError = 1 // the command ran and failed
	ExitUsage = 2 // bad command line
)

// ErrUsage marks a command-line error; Main returns ExitUsage for it.
var ErrUsage = errors.New("usage error")

// env carries the process streams a command runs with.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one runnable subcommand.
type command struct {
	summary string
	run     func(e *env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"topic":   {"create, list, describe, alter and delete topics", runTopic},
		"produce": {"write stdin lines as records to a topic", runProduce},
		"consume": {"print records from a topic", runConsume},
		"cluster": {"describe brokers, controller and API versions", runCluster},
		"perf":    {"producer, consumer and end-to-end latency benchmarks", runPerf},
		"group":   {"list, describe, reset offsets of and delete consumer groups", runGroup},
	}
}

// Main runs the samsa client with args (without the program name) and returns
// the process exit code. SIGINT and SIGTERM cancel the running command.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return MainContext(ctx, args, stdin, stdout, stderr)
}

// MainContext is Main with a caller-supplied context.
func MainContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	cmds := commands()
	if len(args) == 0 || isHelp(args[0]) {
		printUsage(stderr, cmds)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "Error: unknown command %q\n", args[0])
		printUsage(stderr, cmds)
		return ExitUsage
	}
	return exitCode(stderr, cmd.run(e, args[1:]))
}

func exitCode(stderr io.Writer, err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.Is(err, errUsagePrinted):
		return ExitUsage
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return ExitError
	}
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

func printUsage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "Usage: samsa <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-8s %s\n", name, cmds[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'samsa <command> --help' for a command's flags.")
}

// dispatch runs the named subcommand of a command group such as "topic".
func dispatch(e *env, group string, args []string, subs map[string]func(*env, []string) error) error {
	names := make([]string, 0, len(subs))
	for name := range subs {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintf(e.stderr, "Usage: samsa %s <%s> [flags]\n", group, strings.Join(names, "|"))
		if len(args) == 0 {
			return fmt.Errorf("%w: samsa %s needs a subcommand", ErrUsage, group)
		}
		return flag.ErrHelp
	}
	sub, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown subcommand %q for %s (want one of %s)", ErrUsage, args[0], group, strings.Join(names, ", "))
	}
	return sub(e, args[1:])
}
