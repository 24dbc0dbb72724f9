// Command chaos is Samsa's Jepsen-style verification harness: it starts a
// three-node cluster of real samsa processes (in private network
// namespaces when run as root), runs the "queue" workload, injects seeded
// random faults (kill -9, SIGSTOP, network partitions), heals, drains and
// checks the history. It exits non-zero on any anomaly.
//
//	go run ./scripts/chaos --profile short|long [--seed N] [--samsa-bin PATH] [--out report.md]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// errAnomalies is returned when a run finds at least one anomaly.
var errAnomalies = errors.New("anomalies found")

// profile sizes one run.
type profile struct {
	name       string
	duration   time.Duration // workload and faults
	producers  int
	consumers  int
	partitions int
	interval   time.Duration // between two records of one producer
	gap        [2]time.Duration
	hold       [2]time.Duration
	pauseHold  [2]time.Duration
}

var profiles = map[string]profile{
	"short": {name: "short", duration: 60 * time.Second, producers: 3, consumers: 2, partitions: 6,
		interval: 20 * time.Millisecond, gap: [2]time.Duration{time.Second, 3 * time.Second},
		hold: [2]time.Duration{2 * time.Second, 6 * time.Second}, pauseHold: [2]time.Duration{5 * time.Second, 7 * time.Second}},
	"long": {name: "long", duration: 30 * time.Minute, producers: 4, consumers: 3, partitions: 8,
		interval: 10 * time.Millisecond, gap: [2]time.Duration{time.Second, 8 * time.Second},
		hold: [2]time.Duration{2 * time.Second, 12 * time.Second}, pauseHold: [2]time.Duration{5 * time.Second, 12 * time.Second}},
}

// options are one run's inputs.
type options struct {
	profile  profile
	seed     uint64
	binary   string
	keepData bool
	logger   *slog.Logger
}

func main() {
	profileName := flag.String("profile", "short", "short (about a minute of faults) or long (30 minutes)")
	seed := flag.Uint64("seed", 0, "random seed (0: pick one and print it)")
	binary := flag.String("samsa-bin", "", "samsa binary (default: go build ./cmd/samsa)")
	out := flag.String("out", "", "also write the markdown report here")
	duration := flag.Duration("duration", 0, "override the profile's fault phase length")
	keep := flag.Bool("keep", false, "keep the data dirs and node logs")
	flag.Parse()
	chosen, ok := profiles[*profileName]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown profile %q (short, long)\n", *profileName)
		os.Exit(2)
	}
	if *duration > 0 {
		chosen.duration = *duration
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	code := 0
	if err := mainRun(ctx, options{profile: chosen, seed: *seed, binary: *binary, keepData: *keep, logger: logger}, *out); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		code = 1
	}
	stop()
	os.Exit(code)
}

func mainRun(ctx context.Context, opts options, out string) error {
	if opts.binary == "" {
		built, cleanup, err := buildSamsa(ctx)
		if err != nil {
			return err
		}
		defer cleanup()
		opts.binary = built
	}
	result, err := run(ctx, opts)
	if result != nil {
		markdown := result.markdown()
		fmt.Print(markdown)
		if out != "" {
			if writeErr := os.WriteFile(out, []byte(markdown), 0o644); writeErr != nil {
				err = errors.Join(err, writeErr)
			}
		}
	}
	return err
}

// buildSamsa builds ./cmd/samsa (from the module root) into a temp dir.
func buildSamsa(ctx context.Context) (string, func(), error) {
	dir, err := os.MkdirTemp("", "samsa-chaos-bin-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	root, err := moduleRoot()
	if err != nil {
		cleanup()
		return "", nil, err
	}
	binary := filepath.Join(dir, "samsa")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	build := exec.CommandContext(ctx, goTool, "build", "-o", binary, "./cmd/samsa")
	build.Dir = root
	if output, err := build.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build ./cmd/samsa: %w\n%s", err, output)
	}
	return binary, cleanup, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 10 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", errors.New("go.mod not found above the working directory")
}
