package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeOptions are the parsed flags of `samsa consume`.
type consumeOptions struct {
	topic         string
	partition     int
	fromBeginning bool
	offset        int64
	offsetSet     bool
	timestamp     int64
	maxMessages   int
	timeout       time.Duration
	group         string
	formatter     recordFormatter
}

func runConsume(e *env, args []string) error {
	fs := newFlagSet(e, "consume", "consume --topic T [flags]")
	var o consumeOptions
	fs.StringVar(&o.topic, "topic", "", "topic to read (required)")
	fs.IntVar(&o.partition, "partition", -1, "read only this partition (-1: all)")
	fs.BoolVar(&o.fromBeginning, "from-beginning", false, "start at the earliest offset")
	offset := fs.String("offset", "", "start offset: N absolute, -N that many before the end")
	fs.Int64Var(&o.timestamp, "timestamp", -1, "start at the first record at or after this unix `ms`")
	fs.IntVar(&o.maxMessages, "max-messages", 0, "exit after this many records (0: unlimited)")
	timeoutMs := fs.Int("timeout-ms", 0, "exit after this many ms without records (0: never)")
	format := fs.String("format", `%v\n`, "output format: %t %p %o %k %v %h %T %K %S, escapes \\n \\t")
	fs.StringVar(&o.formatter.nullMarker, "null-marker", "", "printed for a null key or value")
	fs.StringVar(&o.group, "group", "", "consume as a member of this consumer group, committing offsets")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := o.validate(*offset, *timeoutMs); err != nil {
		return err
	}
	tokens, err := parseFormat(*format)
	if err != nil {
		return err
	}
	o.formatter.tokens = tokens
	if err := checkTopicExists(e, fs, o.topic); err != nil {
		return err
	}
	client, err := fs.client(o.kgoOptions()...)
	if err != nil {
		return err
	}
	defer client.Close()
	count, err := consumeLoop(e, client, &o)
	fmt.Fprintf(e.stderr, "Processed a total of %d messages\n", count)
	return err
}

func (o *consumeOptions) validate(offset string, timeoutMs int) error {
	if err := requireFlag("topic", o.topic); err != nil {
		return err
	}
	starts := 0
	if o.fromBeginning {
		starts++
	}
	if offset != "" {
		starts++
		if _, err := fmt.Sscan(offset, &o.offset); err != nil {
			return fmt.Errorf("%w: --offset %q is not an integer", ErrUsage, offset)
		}
		o.offsetSet = true
	}
	if o.timestamp >= 0 {
		starts++
	}
	switch {
	case starts > 1:
		return fmt.Errorf("%w: use only one of --from-beginning, --offset and --timestamp", ErrUsage)
	case o.partition < -1 || o.partition > math.MaxInt32:
		return fmt.Errorf("%w: --partition out of range", ErrUsage)
	case o.maxMessages < 0 || timeoutMs < 0:
		return fmt.Errorf("%w: --max-messages and --timeout-ms must not be negative", ErrUsage)
	case o.group != "" && o.partition >= 0:
		return fmt.Errorf("%w: --partition cannot be combined with --group", ErrUsage)
	}
	o.timeout = time.Duration(timeoutMs) * time.Millisecond
	return nil
}

// startOffset is where consumption begins in each partition.
func (o *consumeOptions) startOffset() kgo.Offset {
	switch {
	case o.fromBeginning:
		return kgo.NewOffset().AtStart()
	case o.offsetSet && o.offset < 0:
		return kgo.NewOffset().AtEnd().Relative(o.offset)
	case o.offsetSet:
		return kgo.NewOffset().At(o.offset)
	case o.timestamp >= 0:
		return kgo.NewOffset().AfterMilli(o.timestamp)
	}
	return kgo.NewOffset().AtEnd()
}

func (o *consumeOptions) kgoOptions() []kgo.Opt {
	start := o.startOffset()
	if o.partition >= 0 {
		return []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			o.topic: {int32(o.partition): start},
		})}
	}
	opts := []kgo.Opt{kgo.ConsumeTopics(o.topic), kgo.ConsumeResetOffset(start)}
	if o.group != "" {
		opts = append(opts, kgo.ConsumerGroup(o.group), kgo.AutoCommitMarks())
	}
	return opts
}

// consumeLoop prints records until max-messages, the idle timeout, or
// cancellation; it returns how many records it printed.
func consumeLoop(e *env, client *kgo.Client, o *consumeOptions) (int, error) {
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	var buffer []byte
	count := 0
	for o.maxMessages == 0 || count < o.maxMessages {
		fetches, idle := pollOnce(e.ctx, client, o, count)
		if idle || e.ctx.Err() != nil || fetches.IsClientClosed() {
			break
		}
		if err := fetchError(fetches); err != nil {
			return count, err
		}
		for iter := fetches.RecordIter(); !iter.Done(); {
			record := iter.Next()
			buffer = o.formatter.appendRecord(buffer[:0], record)
			if _, err := out.Write(buffer); err != nil {
				return count, fmt.Errorf("writing output: %w", err)
			}
			if o.group != "" {
				client.MarkCommitRecords(record)
			}
			count++
		}
		if err := out.Flush(); err != nil {
			return count, fmt.Errorf("writing output: %w", err)
		}
	}
	if o.group != "" {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if err := client.CommitMarkedOffsets(ctx); err != nil {
			return count, fmt.Errorf("committing offsets: %w", err)
		}
	}
	return count, nil
}

// pollOnce waits for records; idle reports that the idle timeout expired.
func pollOnce(ctx context.Context, client *kgo.Client, o *consumeOptions, count int) (kgo.Fetches, bool) {
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	limit := -1
	if o.maxMessages > 0 {
		limit = o.maxMessages - count
	}
	fetches := client.PollRecords(ctx, limit)
	idle := fetches.NumRecords() == 0 && ctx.Err() != nil
	return fetches, idle
}

// fetchError returns the first fetch error that is not a context error.
func fetchError(fetches kgo.Fetches) error {
	for _, fe := range fetches.Errors() {
		if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
			continue
		}
		return fmt.Errorf("fetching %s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
	}
	return nil
}

// checkTopicExists fails with ErrTopicNotFound if topic is unknown.
func checkTopicExists(e *env, fs *flagSet, topic string) error {
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	details, err := admin.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("looking up topic %s: %w", topic, err)
	}
	detail, ok := details[topic]
	if !ok || detail.Err != nil {
		return fmt.Errorf("%w: %s", ErrTopicNotFound, topic)
	}
	return nil
}
