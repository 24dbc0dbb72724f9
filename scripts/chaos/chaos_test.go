package main

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestShortProfile runs the short profile twice against a samsa built from
// this tree (or SAMSA_BIN): once with a fixed seed and once with a random
// one, printed for replay. Every anomaly count must be 0.
func TestShortProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos short profile takes about two minutes")
	}
	binary := os.Getenv("SAMSA_BIN")
	if binary == "" {
		built, cleanup, err := buildSamsa(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cleanup)
		binary = built
	}
	for _, seed := range []uint64{1, rand.Uint64()} {
		t.Logf("seed %d (replay: go run ./scripts/chaos --profile short --seed %d)", seed, seed)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		result, err := run(ctx, options{profile: profiles["short"], seed: seed, binary: binary,
			logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
		cancel()
		if result != nil {
			t.Log("\n" + result.markdown())
		}
		if errors.Is(err, errAnomalies) {
			t.Fatalf("seed %d: anomalies (report above)", seed)
		}
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// testWriter sends the harness's log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(data []byte) (int, error) {
	w.t.Log(string(data))
	return len(data), nil
}
