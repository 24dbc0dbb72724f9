package clients

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	kindSamsa = "samsa"
	kindKfake = "kfake"

	readyTimeout   = 30 * time.Second // bound on broker start-up
	stopGrace      = 10 * time.Second // SIGTERM → SIGKILL delay
	commandTimeout = 60 * time.Second // bound on every client subprocess
	logTailBytes   = 8 << 10          // broker log printed on failure
)

// errBrokerExited is reported when the broker process dies while the harness
// waits for it to become ready.
var errBrokerExited = errors.New("broker process exited")

// samsaBinary is the path of the binary under test, set by TestMain.
var samsaBinary string

// brokerKind is "samsa" (default) or "kfake" (SAMSA_TEST_BROKER=kfake).
func brokerKind() string {
	if os.Getenv("SAMSA_TEST_BROKER") == kindKfake {
		return kindKfake
	}
	return kindSamsa
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if brokerKind() == kindSamsa {
		cleanup, err := prepareSamsaBinary()
		if err != nil {
			fmt.Fprintln(os.Stderr, "tests/clients:", err)
			return 1
		}
		defer cleanup()
	}
	return m.Run()
}

// prepareSamsaBinary honours SAMSA_BIN or builds ./cmd/samsa once into a
// temporary directory, returning a function that removes it.
func prepareSamsaBinary() (func(), error) {
	if path := os.Getenv("SAMSA_BIN"); path != "" {
		samsaBinary = path
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "samsa-clients-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
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
		cleanup()
		return nil, fmt.Errorf("go build ./cmd/samsa: %w\n%s", err, output)
	}
	return cleanup, nil
}

// brokerOptions configure startBroker.
type brokerOptions struct {
	partitions int      // num.partitions, the default for auto-created topics
	overrides  []string // extra key=value broker configs (samsa --override)
}

type brokerOption func(*brokerOptions)

// withPartitions sets num.partitions.
func withPartitions(count int) brokerOption {
	return func(options *brokerOptions) { options.partitions = count }
}

// withOverrides adds key=value broker configs. Samsa gets each as an
// --override; kfake gets the ones it understands (see kfakeOptions) and
// ignores the rest.
func withOverrides(overrides ...string) brokerOption {
	return func(options *brokerOptions) { options.overrides = append(options.overrides, overrides...) }
}

// testBroker is one single-node broker (samsa process or in-process kfake)
// with a data directory that survives restarts.
type testBroker struct {
	t              *testing.T
	kind           string
	addr           string // 127.0.0.1:port of the PLAINTEXT listener
	port           int
	controllerPort int
	dataDir        string
	logPath        string
	options        brokerOptions

	mu struct {
		sync.Mutex
		process *brokerProcess
		fake    *kfake.Cluster
	}
}

// brokerProcess is one run of the samsa binary.
type brokerProcess struct {
	command *exec.Cmd
	exited  chan struct{} // closed once the process has been reaped
	err     error         // Wait's result; read only after exited is closed
}

// startBroker starts a broker on free loopback ports and a fresh data dir,
// waits until it answers ApiVersions, and stops it when the test ends.
func startBroker(t *testing.T, opts ...brokerOption) *testBroker {
	t.Helper()
	options := brokerOptions{partitions: 1}
	for _, opt := range opts {
		opt(&options)
	}
	ports := freePorts(t, 2)
	root := t.TempDir()
	b := &testBroker{
		t:              t,
		kind:           brokerKind(),
		addr:           net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		port:           ports[0],
		controllerPort: ports[1],
		dataDir:        filepath.Join(root, "data"),
		logPath:        filepath.Join(root, "broker.log"),
		options:        options,
	}
	t.Cleanup(func() {
		b.stop(syscall.SIGTERM)
		if t.Failed() {
			b.logTail()
		}
	})
	b.start()
	return b
}

// freePorts returns count distinct loopback ports in [20000, 32000) that
// could be listened on a moment ago.
func freePorts(t *testing.T, count int) []int {
	t.Helper()
	var ports []int
	for attempt := 0; attempt < 200 && len(ports) < count; attempt++ {
		port := 20000 + rand.IntN(12000)
		if contains(ports, port) {
			continue
		}
		listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		listener.Close()
		ports = append(ports, port)
	}
	if len(ports) < count {
		t.Fatalf("found only %d free ports of %d", len(ports), count)
	}
	return ports
}

func contains(values []int, value int) bool {
	for _, v := range values {
		if v == value {
			return true
		}
	}
	return false
}

// start launches the broker on b's ports and data dir and waits until ready.
func (b *testBroker) start() {
	b.t.Helper()
	if b.kind == kindKfake {
		b.startFake()
	} else {
		b.startProcess()
	}
	if err := b.waitReady(); err != nil {
		b.t.Fatalf("broker %s not ready: %v", b.addr, err)
	}
}

func (b *testBroker) startFake() {
	b.t.Helper()
	options := []kfake.Opt{
		kfake.Ports(b.port),
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(b.options.partitions),
		kfake.DataDir(b.dataDir),
	}
	cluster, err := kfake.NewCluster(append(options, kfakeOptions(b.options.overrides)...)...)
	if err != nil {
		b.t.Fatalf("kfake: %v", err)
	}
	b.mu.Lock()
	b.mu.fake = cluster
	b.mu.Unlock()
}

func (b *testBroker) startProcess() {
	b.t.Helper()
	logFile, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.t.Fatalf("broker log: %v", err)
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "==== harness: starting %s at %s\n", samsaBinary, time.Now().Format(time.RFC3339Nano))
	process := exec.Command(samsaBinary, b.serveArgs()...)
	process.Stdout = logFile
	process.Stderr = logFile
	if err := process.Start(); err != nil {
		b.t.Fatalf("start %s: %v", samsaBinary, err)
	}
	run := &brokerProcess{command: process, exited: make(chan struct{})}
	go func() {
		run.err = process.Wait()
		close(run.exited)
	}()
	b.mu.Lock()
	b.mu.process = run
	b.mu.Unlock()
}

func (b *testBroker) serveArgs() []string {
	controller := net.JoinHostPort("127.0.0.1", strconv.Itoa(b.controllerPort))
	overrides := []string{
		"listeners=PLAINTEXT://" + b.addr + ",CONTROLLER://" + controller,
		"advertised.listeners=PLAINTEXT://" + b.addr,
		"controller.quorum.voters=1@" + controller,
		"log.dirs=" + b.dataDir,
		"num.partitions=" + strconv.Itoa(b.options.partitions),
	}
	overrides = append(overrides, b.options.overrides...)
	args := []string{"serve"}
	for _, override := range overrides {
		args = append(args, "--override", override)
	}
	return args
}

// kfakeBrokerConfigs are the broker configs kfake accepts as BrokerConfigs;
// other overrides (group.initial.rebalance.delay.ms: kfake never delays a
// join; offsets.topic.num.partitions: kfake has no offsets topic) are
// ignored.
var kfakeBrokerConfigs = map[string]bool{
	"group.max.size":            true,
	"offsets.retention.minutes": true,
	"log.retention.ms":          true,
	"log.segment.bytes":         true,
	"message.max.bytes":         true,
}

// kfakeOptions translates key=value overrides into kfake options.
func kfakeOptions(overrides []string) []kfake.Opt {
	var options []kfake.Opt
	configs := make(map[string]string)
	for _, override := range overrides {
		key, value, _ := strings.Cut(override, "=")
		milliseconds, err := strconv.Atoi(value)
		switch {
		case key == "group.min.session.timeout.ms" && err == nil:
			options = append(options, kfake.GroupMinSessionTimeout(time.Duration(milliseconds)*time.Millisecond))
		case key == "group.max.session.timeout.ms" && err == nil:
			options = append(options, kfake.GroupMaxSessionTimeout(time.Duration(milliseconds)*time.Millisecond))
		case kfakeBrokerConfigs[key]:
			configs[key] = value
		}
	}
	if len(configs) > 0 {
		options = append(options, kfake.BrokerConfigs(configs))
	}
	return options
}

// waitReady polls until a TCP connect and an ApiVersions request succeed.
func (b *testBroker) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		if err := b.processExited(); err != nil {
			return err
		}
		if lastErr = b.ping(); lastErr == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("after %v: %w", readyTimeout, lastErr)
}

func (b *testBroker) ping() error {
	connection, err := net.DialTimeout("tcp", b.addr, time.Second)
	if err != nil {
		return err
	}
	connection.Close()
	client, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.RetryTimeout(2*time.Second))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return client.Ping(ctx)
}

// processExited returns errBrokerExited, with the exit status, once the
// broker process has died; nil while it runs (or for kfake).
func (b *testBroker) processExited() error {
	b.mu.Lock()
	run := b.mu.process
	b.mu.Unlock()
	if run == nil {
		return nil
	}
	select {
	case <-run.exited:
		return fmt.Errorf("%w: %v", errBrokerExited, run.err)
	default:
		return nil
	}
}

// stop ends the broker: SIGTERM then SIGKILL after stopGrace, or SIGKILL at
// once. The in-process kfake cluster is simply closed.
func (b *testBroker) stop(signal syscall.Signal) {
	b.mu.Lock()
	run, fake := b.mu.process, b.mu.fake
	b.mu.process, b.mu.fake = nil, nil
	b.mu.Unlock()
	if fake != nil {
		fake.Close()
	}
	if run == nil {
		return
	}
	process, exited := run.command, run.exited
	process.Process.Signal(signal)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-exited:
		return
	case <-timer.C:
		b.t.Errorf("broker pid %d ignored %v for %v; killing it", process.Process.Pid, signal, stopGrace)
	}
	process.Process.Signal(syscall.SIGKILL)
	timer.Reset(stopGrace)
	select {
	case <-exited:
	case <-timer.C:
		b.t.Errorf("broker pid %d survived SIGKILL for %v", process.Process.Pid, stopGrace)
	}
}

// kill9 kills the broker without warning (kfake: closes it) and restarts it
// on the same ports and data dir.
func (b *testBroker) kill9AndRestart() {
	b.t.Helper()
	b.stop(syscall.SIGKILL)
	b.start()
}

// restart stops the broker cleanly and starts it on the same data dir.
func (b *testBroker) restart() {
	b.t.Helper()
	b.stop(syscall.SIGTERM)
	b.start()
}

// logTail prints the end of the broker's output.
func (b *testBroker) logTail() {
	data, err := os.ReadFile(b.logPath)
	if err != nil {
		return
	}
	if len(data) > logTailBytes {
		data = data[len(data)-logTailBytes:]
	}
	b.t.Logf("broker %s log tail (%s):\n%s", b.addr, b.logPath, data)
}

// commandResult is what a finished client subprocess produced.
type commandResult struct {
	stdout []byte
	stderr []byte
	err    error
}

// runCommand runs a client with a bounded context and returns its output.
func runCommand(stdin []byte, name string, args ...string) commandResult {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	command := exec.CommandContext(ctx, name, args...)
	command.WaitDelay = 5 * time.Second
	command.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	if stdin != nil {
		command.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	command.Stdout = &stdout
	command.Stderr = &stderr
	err := command.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (timeout %v)", ctx.Err(), commandTimeout)
	}
	return commandResult{stdout: stdout.Bytes(), stderr: stderr.Bytes(), err: err}
}

// mustRun runs a client and fails the test if it does not exit 0.
func mustRun(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	result := runCommand(stdin, name, args...)
	if result.err != nil {
		t.Fatalf("%s %q: %v\nstdout:\n%s\nstderr:\n%s", name, args, result.err, result.stdout, result.stderr)
	}
	return result.stdout
}
