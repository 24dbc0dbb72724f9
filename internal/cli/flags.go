package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// errUsagePrinted is a usage error whose message the flag package already
// printed; Main returns ExitUsage without printing it again.
var errUsagePrinted = fmt.Errorf("%w: reported", ErrUsage)

// adminTimeout bounds every administrative request.
const adminTimeout = 30 * time.Second

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// flagSet wraps a flag.FlagSet with the connection flags every command shares.
type flagSet struct {
	*flag.FlagSet
	bootstrap string
}

func newFlagSet(e *env, name, usage string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs.SetOutput(e.stderr)
	fs.StringVar(&fs.bootstrap, "bootstrap-server", "localhost:9092", "comma-separated broker `host:port` list")
	fs.StringVar(&fs.bootstrap, "b", "localhost:9092", "shorthand for --bootstrap-server")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: samsa %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, rejecting positional arguments.
func (fs *flagSet) parse(args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsagePrinted
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	return nil
}

// seeds returns the bootstrap servers as a list.
func (fs *flagSet) seeds() []string {
	var out []string
	for _, s := range strings.Split(fs.bootstrap, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// client opens a franz-go client to the bootstrap servers with extra options.
func (fs *flagSet) client(opts ...kgo.Opt) (*kgo.Client, error) {
	seeds := fs.seeds()
	if len(seeds) == 0 {
		return nil, fmt.Errorf("%w: --bootstrap-server is empty", ErrUsage)
	}
	all := append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ClientID("samsa-cli")}, opts...)
	client, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return client, nil
}

// admin opens an admin client; close it with the returned function.
func (fs *flagSet) admin() (*kadm.Client, func(), error) {
	client, err := fs.client()
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(client), client.Close, nil
}

// parseKeyValue splits "k=v", requiring a non-empty key.
func parseKeyValue(s string) (string, string, error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return "", "", fmt.Errorf("%w: %q is not of the form key=value", ErrUsage, s)
	}
	return key, value, nil
}

// requireFlag reports a usage error if value is empty.
func requireFlag(name, value string) error {
	if value == "" {
		return fmt.Errorf("%w: --%s is required", ErrUsage, name)
	}
	return nil
}

// withAdminTimeout derives a context bounded by adminTimeout.
func withAdminTimeout(e *env) (context.Context, context.CancelFunc) {
	return context.WithTimeout(e.ctx, adminTimeout)
}
