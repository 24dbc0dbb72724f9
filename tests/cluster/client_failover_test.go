package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestClientsCarryOnThroughFailover: librdkafka (idempotent, its defaults)
// and kafka-python (retries=5, as a user sets it for failover: its default
// is 0) keep producing with acks=all while the partition leader is killed
// with SIGKILL. Every acknowledged record is in the log afterwards; with
// the idempotent producer each exactly once and in order.
func TestClientsCarryOnThroughFailover(t *testing.T) {
	requireKafkaPython(t)
	for _, client := range []string{"confluent", "kafka-python"} {
		t.Run(client, func(t *testing.T) {
			c := startCluster(t)
			const topic, count = "failover", 400
			c.createTopic(topic, 1, 3, nil)
			c.waitISR(topic, 1, c.ids())
			leader := c.waitLeaders(topic, 1)[0].leader

			marker := filepath.Join(t.TempDir(), "kill-now")
			params, _ := json.Marshal(map[string]any{"client": client, "bootstrap": c.addrs(), "topic": topic,
				"count": count, "signal_after": count / 3, "marker": marker})
			ctx, cancel := context.WithTimeout(context.Background(), pythonTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, pythonPath, filepath.Join("py", "producer_failover.py"), string(params))
			cmd.WaitDelay = 5 * time.Second
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			c.eventually(60*time.Second, "the producer's signal to kill the leader", func() error {
				if _, err := os.Stat(marker); err != nil {
					return err
				}
				return nil
			})
			c.kill(leader)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("producer: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
			}
			var result struct {
				Acked  []string `json:"acked"`
				Errors []string `json:"errors"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &result); err != nil {
				t.Fatalf("producer output: %v\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
			}
			if len(result.Errors) > 0 || len(result.Acked) != count {
				t.Fatalf("%d of %d acknowledged, errors: %v", len(result.Acked), count, result.Errors)
			}
			records := c.consumeAll(topic, count)
			seen := map[string]int{}
			for _, r := range records {
				seen[string(r.Value)]++
			}
			for _, v := range result.Acked {
				if seen[v] == 0 {
					t.Fatalf("acknowledged %s is missing after the failover", v)
				}
			}
			if client == "confluent" {
				if len(records) != count {
					t.Fatalf("idempotent producer: %d records in the log, want exactly %d", len(records), count)
				}
				for i, r := range records {
					if want := fmt.Sprintf("v%05d", i); string(r.Value) != want {
						t.Fatalf("record %d is %s, want %s (order or duplicates)", i, r.Value, want)
					}
				}
			}
			t.Logf("%s: %d records acknowledged through the kill of leader %d, %d in the log", client, count, leader, len(records))
		})
	}
}
