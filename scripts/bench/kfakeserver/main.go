// Command kfakeserver runs franz-go's kfake broker in its own process so a
// benchmark can measure its CPU and memory apart from the client. By default
// it keeps everything in memory; with --data-dir it also persists every
// batch to segment files there (kfake's DataDir option, page cache, synced
// on segment roll and shutdown, like Kafka's default flush policy). It
// prints the listen address on stdout and runs until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// configFlags collects repeated --config name=value broker settings.
type configFlags map[string]string

func (c configFlags) String() string { return fmt.Sprint(map[string]string(c)) }

func (c configFlags) Set(setting string) error {
	name, value, ok := strings.Cut(setting, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", setting)
	}
	c[name] = value
	return nil
}

func main() {
	port := flag.Int("port", 0, "listen port on 127.0.0.1 (0: any free port)")
	dataDir := flag.String("data-dir", "", "persist to this directory (empty: memory only)")
	configs := configFlags{}
	flag.Var(configs, "config", "broker config name=value (repeatable)")
	flag.Parse()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(*port)}
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir))
	}
	if len(configs) > 0 {
		opts = append(opts, kfake.BrokerConfigs(configs))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfakeserver: %v\n", err)
		os.Exit(1)
	}
	defer cluster.Close()
	fmt.Println(cluster.ListenAddrs()[0])
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	<-signals
}
