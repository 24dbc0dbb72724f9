package cli

import (
	"strings"
	"testing"
	"time"
)

// resetTable renders the reset-offsets output for group g's rows "topic p offset".
func resetTable(group string, rows ...string) string {
	cells := [][]string{{"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"}}
	for _, row := range rows {
		cells = append(cells, append([]string{group}, strings.Fields(row)...))
	}
	return align(cells...)
}

func TestGroupResetOffsets(t *testing.T) {
	f := newGroupFixture(t)
	b := "-b=" + f.addr
	f.commit(t, "g", map[string]map[int32]int64{"orders": {0: 2, 1: 3}})
	reset := func(args ...string) result {
		return run(t, "", append([]string{"group", "reset-offsets", b, "--group", "g"}, args...)...)
	}
	const dryRunNote = "Dry run: no offsets were committed; add --execute to commit them.\n"
	cases := []struct {
		args           []string
		stdout, stderr string
		committed      string
	}{
		{[]string{"--topic", "orders", "--to-earliest"}, resetTable("g", "orders 0 0", "orders 1 0"), dryRunNote, "orders/0=2 orders/1=3"},
		{[]string{"--topic", "orders", "--to-earliest", "--dry-run"}, resetTable("g", "orders 0 0", "orders 1 0"), "", "orders/0=2 orders/1=3"},
		{[]string{"--topic", "orders", "--to-earliest", "--execute"}, resetTable("g", "orders 0 0", "orders 1 0"), "", "orders/0=0 orders/1=0"},
		{[]string{"--topic", "orders:1", "--to-latest", "--execute"}, resetTable("g", "orders 1 3"), "", "orders/0=0 orders/1=3"},
		{[]string{"--all-topics", "--to-offset", "4", "--execute"}, resetTable("g", "orders 0 4", "orders 1 3"),
			"New offset (4) is higher than latest offset for topic partition orders-1. Value will be set to 3\n", "orders/0=4 orders/1=3"},
		{[]string{"--all-topics", "--shift-by", "-1", "--execute"}, resetTable("g", "orders 0 3", "orders 1 2"), "", "orders/0=3 orders/1=2"},
		{[]string{"--all-topics", "--shift-by", "-5"}, resetTable("g", "orders 0 0", "orders 1 0"),
			"New offset (-2) is lower than earliest offset for topic partition orders-0. Value will be set to 0\n" +
				"New offset (-3) is lower than earliest offset for topic partition orders-1. Value will be set to 0\n" + dryRunNote,
			"orders/0=3 orders/1=2"},
		{[]string{"--topic", "orders:0,1", "--to-timestamp", "2500", "--execute"}, resetTable("g", "orders 0 2", "orders 1 2"), "", "orders/0=2 orders/1=2"},
		{[]string{"--topic", "orders", "--to-datetime", "1970-01-01T00:00:01.5Z", "--execute"}, resetTable("g", "orders 0 1", "orders 1 1"), "", "orders/0=1 orders/1=1"},
		{[]string{"--topic", "orders", "--to-datetime", time.UnixMilli(4000).Format("2006-01-02T15:04:05.000"), "--execute"},
			resetTable("g", "orders 0 3", "orders 1 3"), "", "orders/0=3 orders/1=3"},
		{[]string{"--topic", "orders", "--topic", "audit", "--to-timestamp", "99999", "--execute"},
			resetTable("g", "audit 0 1", "orders 0 5", "orders 1 3"), "", "audit/0=1 orders/0=5 orders/1=3"},
	}
	for _, c := range cases {
		r := reset(c.args...)
		if r.code != ExitOK || r.stdout != c.stdout || r.stderr != c.stderr {
			t.Errorf("reset %v: exit %d\n%s\nstderr %q\nwant\n%s\nstderr %q", c.args, r.code, r.stdout, r.stderr, c.stdout, c.stderr)
		}
		if got := f.committed(t, "g"); got != c.committed {
			t.Errorf("after reset %v: committed %q, want %q", c.args, got, c.committed)
		}
	}
	// A group that does not exist yet may be reset; the commit creates it.
	r := run(t, "", "group", "reset-offsets", b, "--group", "fresh", "--topic", "orders:1", "--to-offset", "1", "--execute")
	if r.code != ExitOK || r.stdout != resetTable("fresh", "orders 1 1") || f.committed(t, "fresh") != "orders/1=1" {
		t.Fatalf("reset fresh: %+v, committed %q", r, f.committed(t, "fresh"))
	}
}

func TestGroupDeleteOffsetsInactive(t *testing.T) {
	f := newGroupFixture(t)
	b := "-b=" + f.addr
	f.commit(t, "g", map[string]map[int32]int64{"orders": {0: 2, 1: 3}, "audit": {0: 1}})
	want := "" +
		"TOPIC   PARTITION  STATUS\n" +
		"audit   0          Successful\n" +
		"orders  0          Successful\n"
	if got := mustRun(t, "", "group", "delete-offsets", b, "--group", "g", "--topic", "orders:0", "--topic", "audit"); got != want {
		t.Fatalf("delete-offsets %q", got)
	}
	if got := f.committed(t, "g"); got != "orders/1=3" {
		t.Fatalf("committed after delete-offsets %q", got)
	}
	want = "" +
		"GROUP  TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  HOST  CLIENT-ID\n" +
		"g      orders  1          3               3               0    -            -     -\n"
	if got := mustRun(t, "", "group", "describe", b, "--group", "g"); got != want {
		t.Fatalf("describe after delete-offsets %q", got)
	}
}

func TestGroupErrors(t *testing.T) {
	f := newGroupFixture(t)
	b := "-b=" + f.addr
	f.commit(t, "g", map[string]map[int32]int64{"orders": {0: 2}})
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"group"}, ExitUsage, "needs a subcommand"},
		{[]string{"group", "frob"}, ExitUsage, `unknown subcommand "frob" for group`},
		{[]string{"group", "list", b, "--state", "sleepy"}, ExitUsage, "Error: usage error: unknown group state \"sleepy\"\n"},
		{[]string{"group", "describe", b}, ExitUsage, "Error: usage error: --group is required\n"},
		{[]string{"group", "describe", b, "--group", "g", "--members", "--state"}, ExitUsage, "only one of --members and --state"},
		{[]string{"group", "delete", b}, ExitUsage, "--group is required"},
		{[]string{"group", "delete-offsets", b, "--group", "g"}, ExitUsage, "--topic is required"},
		{[]string{"group", "delete-offsets", b, "--group", "nope", "--topic", "orders"}, ExitError, "Error: Consumer group 'nope' does not exist.\n"},
		{[]string{"group", "delete-offsets", b, "--group", "g", "--topic", "missing"}, ExitError, "Error: topic does not exist: missing\n"},
		{[]string{"group", "delete-offsets", b, "--group", "g", "--topic", "orders:x"}, ExitUsage, `bad partition "x" in --topic "orders:x"`},
		{[]string{"group", "reset-offsets", b, "--group", "g", "--to-earliest"}, ExitUsage, "give either --topic or --all-topics"},
		{[]string{"group", "reset-offsets", b, "--group", "g", "--all-topics", "--topic", "orders", "--to-earliest"}, ExitUsage, "give either --topic or --all-topics"},
		{[]string{"group", "reset-offsets", b, "--group", "g", "--all-topics"}, ExitUsage, "give exactly one of --to-earliest"},
		{[]string{"group", "reset-offsets", b, "--group", "g", "--all-topics", "--to-earliest", "--to-latest"}, ExitUsage, "give exactly one of"},
		{[]string{"group", "reset-offsets", b, "--group", "g", "--all-topics", "--to-offset", "-1"}, ExitUsage, `bad --to-offset "-1"`},
		{[]string{"group", "reset-offsets", b, "--group", "g", "--all-topics", "--to-datetime", "yesterday"}, ExitUsage, `--to-datetime "yesterday" is not`},
		{[]string{"group", "reset-offsets", b, "--group", "g", "--all-topics", "--to-latest", "--execute", "--dry-run"}, ExitUsage, "only one of --execute and --dry-run"},
		{[]string{"group", "reset-offsets", b, "--group", "g", "--topic", "missing", "--to-latest"}, ExitError, "Error: topic does not exist: missing\n"},
		{[]string{"group", "reset-offsets", b, "--group", "g", "--topic", "orders:7", "--to-latest"}, ExitError, "Error: topic does not exist: partition orders-7\n"},
		{[]string{"group", "reset-offsets", b, "--group", "g", "--topic", "orders", "--shift-by", "1"}, ExitError,
			"Error: cannot shift the offset of orders-1: the group has no committed offset for it\n"},
	}
	for _, c := range cases {
		r := run(t, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("samsa %s: exit %d stderr %q; want exit %d containing %q", strings.Join(c.args, " "), r.code, r.stderr, c.code, c.want)
		}
	}
	if got := f.committed(t, "g"); got != "orders/0=2" {
		t.Fatalf("failed commands changed commits: %q", got)
	}
	r := run(t, "", "help")
	if r.code != ExitOK || !strings.Contains(r.stderr, "  group    list, describe, reset offsets of and delete consumer groups\n") {
		t.Fatalf("help %+v", r)
	}
	r = run(t, "", "group", "--help")
	if r.code != ExitOK || r.stderr != "Usage: samsa group <delete|delete-offsets|describe|list|reset-offsets> [flags]\n" {
		t.Fatalf("group help %+v", r)
	}
}
