package clients

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	memberLifetime = 55 * time.Second // a member script exits by itself after this
	memberStopWait = 30 * time.Second // bound on a clean stop
	groupWait      = 45 * time.Second // deadline for a group to reach a state
)

// groupOverrides keep group tests fast and exercise coordinator placement
// over more than one offsets partition.
var groupOverrides = []string{
	"group.initial.rebalance.delay.ms=0",
	"offsets.topic.num.partitions=5",
}

// startGroupBroker starts a broker with groupOverrides.
func startGroupBroker(t *testing.T, opts ...brokerOption) *testBroker {
	t.Helper()
	return startBroker(t, append([]brokerOption{withOverrides(groupOverrides...)}, opts...)...)
}

// memberEvent is one JSON line a member script (py/*_member.py) prints.
type memberEvent struct {
	Event      string           `json:"event"`                // ready, assigned, revoked, lost, record, committed, woke, error, closed
	Partitions []int32          `json:"partitions,omitempty"` // assigned/revoked/lost: the partitions of this callback
	Assignment []int32          `json:"assignment,omitempty"` // assigned/revoked/lost: everything owned afterwards
	Partition  int32            `json:"partition,omitempty"`  // record
	Offset     int64            `json:"offset,omitempty"`     // record
	Value      string           `json:"value,omitempty"`      // record
	Committed  map[string]int64 `json:"committed,omitempty"`  // committed: partition → committed offset
	Message    string           `json:"message,omitempty"`    // error
}

// memberProcess is one consumer-group member running in a python script,
// driven by lines on stdin (commit, sleep N, stop) and reporting events as
// JSON lines on stdout.
type memberProcess struct {
	t       *testing.T
	name    string
	command *exec.Cmd
	stdin   io.WriteCloser
	cancel  context.CancelFunc
	exited  chan struct{} // closed once stdout is drained and the process reaped

	mu struct {
		sync.Mutex
		events  []memberEvent
		changed chan struct{} // closed and replaced on every event
		stderr  bytes.Buffer
		err     error // Wait's result, set before exited closes
	}
}

// startMember runs py/<script> with params (plus name and lifetime).
func startMember(t *testing.T, script, name string, params map[string]any) *memberProcess {
	t.Helper()
	all := map[string]any{"name": name, "lifetime": memberLifetime.Seconds()}
	for key, value := range params {
		all[key] = value
	}
	encoded, err := json.Marshal(all)
	if err != nil {
		t.Fatalf("encode params: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	command := exec.CommandContext(ctx, pythonPath, filepath.Join("py", script), string(encoded))
	command.WaitDelay = 5 * time.Second
	command.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	member := &memberProcess{t: t, name: name, command: command, cancel: cancel, exited: make(chan struct{})}
	member.mu.changed = make(chan struct{})
	command.Stderr = &lockedWriter{member: member}
	stdout, err := command.StdoutPipe()
	if err != nil {
		t.Fatalf("%s stdout: %v", name, err)
	}
	if member.stdin, err = command.StdinPipe(); err != nil {
		t.Fatalf("%s stdin: %v", name, err)
	}
	if err := command.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	go member.read(stdout)
	t.Cleanup(member.kill)
	return member
}

// lockedWriter collects a member's stderr under its lock.
type lockedWriter struct{ member *memberProcess }

func (w *lockedWriter) Write(data []byte) (int, error) {
	w.member.mu.Lock()
	defer w.member.mu.Unlock()
	if w.member.mu.stderr.Len() < 1<<20 {
		w.member.mu.stderr.Write(data)
	}
	return len(data), nil
}

// read parses stdout until EOF, then reaps the process.
func (m *memberProcess) read(stdout io.Reader) {
	scanner := bufio.NewScanner(stdout)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		var event memberEvent
		if err := json.Unmarshal(scanner.Bytes(), &event); err != nil {
			event = memberEvent{Event: "error", Message: "bad line: " + scanner.Text()}
		}
		m.mu.Lock()
		m.mu.events = append(m.mu.events, event)
		close(m.mu.changed)
		m.mu.changed = make(chan struct{})
		m.mu.Unlock()
	}
	err := m.command.Wait()
	m.mu.Lock()
	m.mu.err = err
	close(m.exited)
	close(m.mu.changed) // wake waiters: an exit is a change
	m.mu.changed = make(chan struct{})
	m.mu.Unlock()
}

// events returns a copy of everything the member reported so far.
func (m *memberProcess) events() []memberEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.mu.events)
}

// describe is the member's log for failure messages.
func (m *memberProcess) describe() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var text strings.Builder
	fmt.Fprintf(&text, "member %s: %d events\n", m.name, len(m.mu.events))
	for _, event := range m.mu.events {
		if event.Event != "record" {
			encoded, _ := json.Marshal(event)
			fmt.Fprintf(&text, "  %s\n", encoded)
		}
	}
	stderr := m.mu.stderr.Bytes()
	if len(stderr) > 4096 {
		stderr = stderr[len(stderr)-4096:]
	}
	fmt.Fprintf(&text, "  stderr tail:\n%s", stderr)
	return text.String()
}

// waitMembers waits until condition holds over the members' events, or
// fails the test after timeout (a deadline, not a pass criterion). Any
// member reporting an error or exiting early fails the wait at once.
func waitMembers(t *testing.T, what string, timeout time.Duration, condition func() bool, members ...*memberProcess) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		var changed []chan struct{}
		for _, member := range members {
			member.mu.Lock()
			changed = append(changed, member.mu.changed)
			member.mu.Unlock()
		}
		if condition() {
			return
		}
		for _, member := range members {
			if event, failed := member.failure(); failed {
				t.Fatalf("waiting for %s: member %s failed: %s\n%s", what, member.name, event, describeAll(members))
			}
		}
		cases := make(chan struct{}, 1)
		stop := make(chan struct{})
		for _, channel := range changed {
			go func() {
				select {
				case <-channel:
					select {
					case cases <- struct{}{}:
					default:
					}
				case <-stop:
				}
			}()
		}
		select {
		case <-cases:
			close(stop)
		case <-deadline.C:
			close(stop)
			t.Fatalf("%s: not reached within %v\n%s", what, timeout, describeAll(members))
		}
	}
}

// failure reports an error event or an exit before "closed".
func (m *memberProcess) failure() (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, event := range m.mu.events {
		if event.Event == "error" {
			return event.Message, true
		}
	}
	select {
	case <-m.exited:
		return fmt.Sprintf("exited: %v", m.mu.err), true
	default:
		return "", false
	}
}

func describeAll(members []*memberProcess) string {
	var text strings.Builder
	for _, member := range members {
		text.WriteString(member.describe())
		text.WriteString("\n")
	}
	return text.String()
}

// send writes one command line to the member's stdin.
func (m *memberProcess) send(command string) {
	m.t.Helper()
	if _, err := io.WriteString(m.stdin, command+"\n"); err != nil {
		m.t.Fatalf("member %s: send %q: %v\n%s", m.name, command, err, m.describe())
	}
}

// stop asks the member to close cleanly and waits for it to exit 0.
func (m *memberProcess) stop() {
	m.t.Helper()
	m.send("stop")
	m.stdin.Close()
	timer := time.NewTimer(memberStopWait)
	defer timer.Stop()
	select {
	case <-m.exited:
	case <-timer.C:
		m.t.Fatalf("member %s did not stop within %v\n%s", m.name, memberStopWait, m.describe())
	}
	m.mu.Lock()
	err := m.mu.err
	m.mu.Unlock()
	if err != nil {
		m.t.Fatalf("member %s exited with %v\n%s", m.name, err, m.describe())
	}
}

// signal sends sig (SIGSTOP, SIGCONT, SIGKILL) to the member process.
func (m *memberProcess) signal(sig syscall.Signal) {
	m.t.Helper()
	if err := m.command.Process.Signal(sig); err != nil {
		m.t.Fatalf("member %s: signal %v: %v", m.name, sig, err)
	}
}

// killAndWait kills the member with SIGKILL and waits until it is reaped.
func (m *memberProcess) killAndWait() {
	m.t.Helper()
	m.signal(syscall.SIGKILL)
	timer := time.NewTimer(memberStopWait)
	defer timer.Stop()
	select {
	case <-m.exited:
	case <-timer.C:
		m.t.Fatalf("member %s survived SIGKILL", m.name)
	}
}

// kill ends the process however it is (stopped or running); for Cleanup.
func (m *memberProcess) kill() {
	m.command.Process.Signal(syscall.SIGCONT)
	m.command.Process.Signal(syscall.SIGKILL)
	<-m.exited
	m.cancel()
}

// assignment is the partitions the member owns after its last callback;
// ok is false before the first callback.
func (m *memberProcess) assignment() (partitions []int32, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.mu.events) - 1; i >= 0; i-- {
		switch event := m.mu.events[i]; event.Event {
		case "assigned", "revoked", "lost":
			return sortedPartitions(event.Assignment), true
		}
	}
	return nil, false
}

// lastCallback is the kind of the member's latest rebalance callback.
func (m *memberProcess) lastCallback() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.mu.events) - 1; i >= 0; i-- {
		switch event := m.mu.events[i]; event.Event {
		case "assigned", "revoked", "lost":
			return event.Event
		}
	}
	return ""
}

// records returns the values of every record the member consumed.
func (m *memberProcess) records() []memberEvent {
	var records []memberEvent
	for _, event := range m.events() {
		if event.Event == "record" {
			records = append(records, event)
		}
	}
	return records
}

// countEvents counts events of one kind.
func (m *memberProcess) countEvents(kind string) int {
	count := 0
	for _, event := range m.events() {
		if event.Event == kind {
			count++
		}
	}
	return count
}

func sortedPartitions(partitions []int32) []int32 {
	sorted := slices.Clone(partitions)
	if sorted == nil {
		sorted = []int32{}
	}
	slices.Sort(sorted)
	return sorted
}

// balanced reports whether the members' current assignments (after their
// latest callbacks) split partitions 0..total-1 with no overlap and no gap,
// and returns the sorted sizes of their assignments.
func balanced(total int32, members ...*memberProcess) ([]int, bool) {
	seen := make(map[int32]int)
	var sizes []int
	for _, member := range members {
		assignment, ok := member.assignment()
		if !ok {
			return nil, false
		}
		sizes = append(sizes, len(assignment))
		for _, partition := range assignment {
			seen[partition]++
		}
	}
	if int32(len(seen)) != total {
		return nil, false
	}
	for partition, count := range seen {
		if partition < 0 || partition >= total || count != 1 {
			return nil, false
		}
	}
	sort.Ints(sizes)
	return sizes, true
}

// waitBalanced waits until the members split 0..total-1 exactly in shares
// of wantSizes (sorted).
func waitBalanced(t *testing.T, total int32, wantSizes []int, members ...*memberProcess) {
	t.Helper()
	// A cooperative rebalance passes through exact splits of other sizes
	// (the newcomer owning nothing yet), so wait for the wanted one.
	waitMembers(t, fmt.Sprintf("%d members splitting %d partitions %v", len(members), total, wantSizes), groupWait, func() bool {
		sizes, ok := balanced(total, members...)
		return ok && slices.Equal(sizes, wantSizes)
	}, members...)
}

// waitRecords waits until the members together consumed want records.
func waitRecords(t *testing.T, want int, members ...*memberProcess) {
	t.Helper()
	waitMembers(t, fmt.Sprintf("%d records consumed", want), groupWait, func() bool {
		total := 0
		for _, member := range members {
			total += len(member.records())
		}
		return total >= want
	}, members...)
}

// produceValues writes count records "prefix-i" round-robin over partitions
// 0..partitions-1 and returns the values.
func produceValues(t *testing.T, b *testBroker, topic string, partitions, count int, prefix string) []string {
	t.Helper()
	client := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(kgo.NoCompression())) // kafka-python here lacks snappy
	var records []*kgo.Record
	var values []string
	for i := range count {
		value := fmt.Sprintf("%s-%d", prefix, i)
		values = append(values, value)
		records = append(records, &kgo.Record{Partition: int32(i % partitions), Value: []byte(value)})
	}
	produceSync(t, client, records...)
	return values
}

// assertExactlyOnce checks that got holds every value of want exactly once.
func assertExactlyOnce(t *testing.T, what string, got, want []string) {
	t.Helper()
	counts := make(map[string]int)
	for _, value := range got {
		counts[value]++
	}
	var duplicated, missing, unexpected []string
	wanted := make(map[string]bool)
	for _, value := range want {
		wanted[value] = true
		if counts[value] == 0 {
			missing = append(missing, value)
		}
	}
	for value, count := range counts {
		if !wanted[value] {
			unexpected = append(unexpected, value)
		} else if count > 1 {
			duplicated = append(duplicated, value)
		}
	}
	if len(got) != len(want) || len(missing)+len(duplicated)+len(unexpected) > 0 {
		t.Errorf("%s: got %d records, want %d; missing %d %v, duplicated %d %v, unexpected %d %v", what,
			len(got), len(want), len(missing), head(missing), len(duplicated), head(duplicated),
			len(unexpected), head(unexpected))
	}
}

func head(values []string) []string {
	sort.Strings(values)
	if len(values) > 10 {
		return values[:10]
	}
	return values
}

// recordValues are the values of member record events.
func recordValues(records []memberEvent) []string {
	var values []string
	for _, record := range records {
		values = append(values, record.Value)
	}
	return values
}
