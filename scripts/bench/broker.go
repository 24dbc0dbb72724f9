package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// errBrokerExited means the broker process ended before it was ready.
var errBrokerExited = errors.New("broker process exited")

// brokerProcess is a broker running in a child process.
type brokerProcess struct {
	cmd    *exec.Cmd
	addr   string
	dir    string
	exited chan struct{}
}

// startKfake runs the kfakeserver binary with extra arguments and reads its
// address from stdout. "{dir}" in an argument becomes the process's own
// temporary directory (for --data-dir).
func startKfake(bin string, args ...string) (*brokerProcess, error) {
	dir, err := os.MkdirTemp("", "bench-kfake-")
	if err != nil {
		return nil, err
	}
	for i := range args {
		args[i] = strings.ReplaceAll(args[i], "{dir}", filepath.Join(dir, "data"))
	}
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	b, err := launch(cmd, dir)
	if err != nil {
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
	}()
	select {
	case b.addr = <-lines:
	case <-time.After(30 * time.Second):
	}
	if b.addr == "" {
		b.stop()
		return nil, fmt.Errorf("kfakeserver printed no address: %w", errBrokerExited)
	}
	return b, nil
}

// startSamsa runs `samsa serve` on free loopback ports with a fresh data
// directory, plus any extra config overrides (name=value), and waits until it
// answers ApiVersions.
func startSamsa(bin string, ready time.Duration, overrides ...string) (*brokerProcess, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("samsa binary: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bench-samsa-")
	if err != nil {
		return nil, err
	}
	logs := filepath.Join(dir, "broker.log")
	logFile, err := os.Create(logs)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	data := filepath.Join(dir, "data")
	args := []string{"serve",
		"--override", fmt.Sprintf("listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", ports[0], ports[1]),
		"--override", fmt.Sprintf("controller.quorum.voters=1@127.0.0.1:%d", ports[1]),
		"--override", "log.dirs=" + data}
	for _, override := range overrides {
		args = append(args, "--override", override)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	b, err := launch(cmd, dir)
	if err != nil {
		return nil, err
	}
	b.addr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	if err := b.waitReady(ready); err != nil {
		tail, _ := os.ReadFile(logs)
		b.stop()
		return nil, fmt.Errorf("samsa serve not ready: %w (log tail: %q)", err, lastBytes(tail, 300))
	}
	return b, nil
}

func launch(cmd *exec.Cmd, dir string) (*brokerProcess, error) {
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	b := &brokerProcess{cmd: cmd, dir: dir, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(b.exited)
	}()
	return b, nil
}

// waitReady polls ApiVersions until it succeeds, the process exits, or the
// deadline passes.
func (b *brokerProcess) waitReady(limit time.Duration) error {
	client, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		return err
	}
	defer client.Close()
	deadline := time.Now().Add(limit)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		select {
		case <-b.exited:
			return errBrokerExited
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err = kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, client)
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("no ApiVersions answer within %s: %w", limit, err)
}

// stop terminates the process (SIGTERM, then SIGKILL after 10 s) and removes
// its directory.
func (b *brokerProcess) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	os.RemoveAll(b.dir)
}

// cpuSeconds is the process's user+system CPU time from /proc/PID/stat.
func (b *brokerProcess) cpuSeconds() (float64, error) {
	return processCPUSeconds(b.cmd.Process.Pid)
}

// peakRSSMiB is the process's VmHWM in MiB.
func (b *brokerProcess) peakRSSMiB() (float64, error) {
	return processPeakRSSMiB(b.cmd.Process.Pid)
}

// rssMiB is the process's current VmRSS in MiB.
func (b *brokerProcess) rssMiB() (float64, error) {
	return processStatusMiB(b.cmd.Process.Pid, "VmRSS:")
}

// processCPUSeconds is a running process's user+system CPU time from
// /proc/PID/stat.
func processCPUSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields overall, so the 12th and 13th after it.
	end := strings.LastIndexByte(string(raw), ')')
	if end < 0 {
		return 0, fmt.Errorf("malformed /proc stat")
	}
	fields := strings.Fields(string(raw[end+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc stat")
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const clockTicks = 100 // USER_HZ on Linux
	return (utime + stime) / clockTicks, nil
}

// processPeakRSSMiB is a running process's VmHWM in MiB.
func processPeakRSSMiB(pid int) (float64, error) {
	return processStatusMiB(pid, "VmHWM:")
}

// processStatusMiB is a kB field of /proc/PID/status (field ends in ':')
// in MiB.
func processStatusMiB(pid int, field string) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func lastBytes(data []byte, n int) string {
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}
