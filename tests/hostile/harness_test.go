package hostile

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	readyTimeout = 30 * time.Second
	stopGrace    = 10 * time.Second
)

var samsaBinary string

func TestMain(m *testing.M) {
	cleanup, err := prepareSamsaBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests/hostile:", err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// prepareSamsaBinary honours SAMSA_BIN or builds ./cmd/samsa once.
func prepareSamsaBinary() (func(), error) {
	if path := os.Getenv("SAMSA_BIN"); path != "" {
		samsaBinary = path
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "samsa-hostile-")
	if err != nil {
		return nil, err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	samsaBinary = filepath.Join(dir, "samsa")
	build := exec.CommandContext(ctx, goTool, "build", "-o", samsaBinary, "./cmd/samsa")
	build.Dir = filepath.Join("..", "..")
	if output, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("go build ./cmd/samsa: %w\n%s", err, output)
	}
	return func() { os.RemoveAll(dir) }, nil
}

// broker is one samsa process on free loopback ports.
type broker struct {
	addr    string
	logPath string
	command *exec.Cmd
	exited  chan struct{}
}

func startBroker(t *testing.T, overrides ...string) *broker {
	t.Helper()
	ports := freePorts(t, 2)
	root := t.TempDir()
	b := &broker{
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		logPath: filepath.Join(root, "broker.log"),
		exited:  make(chan struct{}),
	}
	controller := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	args := []string{"serve"}
	for _, override := range append([]string{
		"listeners=PLAINTEXT://" + b.addr + ",CONTROLLER://" + controller,
		"advertised.listeners=PLAINTEXT://" + b.addr,
		"controller.quorum.voters=1@" + controller,
		"log.dirs=" + filepath.Join(root, "data"),
		"offsets.topic.num.partitions=3",
		"offsets.topic.replication.factor=1",
	}, overrides...) {
		args = append(args, "--override", override)
	}
	logFile, err := os.Create(b.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	b.command = exec.Command(samsaBinary, args...)
	b.command.Stdout, b.command.Stderr = logFile, logFile
	if err := b.command.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.command.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		b.stop(t)
		if t.Failed() {
			b.logTail(t)
		}
	})
	deadline := time.Now().Add(readyTimeout)
	for !b.ping() {
		if time.Now().After(deadline) || b.hasExited() {
			t.Fatalf("broker %s not ready", b.addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return b
}

func (b *broker) ping() bool {
	client, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.RetryTimeout(2*time.Second))
	if err != nil {
		return false
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return client.Ping(ctx) == nil
}

func (b *broker) hasExited() bool {
	select {
	case <-b.exited:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after stopGrace.
func (b *broker) stop(t *testing.T) {
	b.command.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
		return
	case <-time.After(stopGrace):
		t.Errorf("broker pid %d ignored SIGTERM; killing it", b.command.Process.Pid)
	}
	b.command.Process.Signal(syscall.SIGKILL)
	<-b.exited
}

func (b *broker) logTail(t *testing.T) {
	data, _ := os.ReadFile(b.logPath)
	if len(data) > 16<<10 {
		data = data[len(data)-16<<10:]
	}
	t.Logf("broker log tail:\n%s", data)
}

// logCount counts broker log lines containing every one of the fragments.
func (b *broker) logCount(t *testing.T, fragments ...string) int {
	t.Helper()
	data, err := os.ReadFile(b.logPath)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, line := range strings.Split(string(data), "\n") {
		matches := true
		for _, fragment := range fragments {
			matches = matches && strings.Contains(line, fragment)
		}
		if matches {
			count++
		}
	}
	return count
}

// statusKiB reads a field (VmRSS, VmHWM) of /proc/PID/status in KiB.
func (b *broker) statusKiB(t *testing.T, field string) int64 {
	t.Helper()
	file, err := os.Open(fmt.Sprintf("/proc/%d/status", b.command.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		if rest, ok := strings.CutPrefix(scanner.Text(), field+":"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return kib
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, b.command.Process.Pid)
	return 0
}

// freePorts returns count distinct loopback ports in [20000, 32000).
func freePorts(t *testing.T, count int) []int {
	t.Helper()
	var ports []int
	for attempt := 0; attempt < 200 && len(ports) < count; attempt++ {
		port := 20000 + rand.IntN(12000)
		listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		listener.Close()
		duplicate := false
		for _, p := range ports {
			duplicate = duplicate || p == port
		}
		if !duplicate {
			ports = append(ports, port)
		}
	}
	if len(ports) < count {
		t.Fatalf("found only %d free ports", len(ports))
	}
	return ports
}

// requireClient skips, or fails under SAMSA_REQUIRE_CLIENTS=1, when a real
// client is missing.
func requireClient(t *testing.T, ok bool, what string) bool {
	t.Helper()
	if ok {
		return true
	}
	if os.Getenv("SAMSA_REQUIRE_CLIENTS") == "1" {
		t.Fatalf("required client missing: %s", what)
	}
	t.Logf("skipping %s: not installed", what)
	return false
}

// runClient runs a client process with a bounded context.
func runClient(t *testing.T, stdin string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	command := exec.CommandContext(ctx, name, args...)
	command.WaitDelay = 5 * time.Second
	command.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	command.Stderr = &stderr
	out, err := command.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w\nstderr:\n%s", name, err, stderr.String())
	}
	return string(out), nil
}
