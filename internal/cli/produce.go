package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrProduceFailed is returned when at least one record could not be written.
var ErrProduceFailed = errors.New("records failed to produce")

// producerOptions are the flags that tune a franz-go producer.
type producerOptions struct {
	acks        string
	compression string
	lingerMs    int
	batchBytes  int
}

func (o *producerOptions) register(fs *flagSet) {
	fs.StringVar(&o.acks, "acks", "-1", "required acks: -1 (all), 0 or 1")
	fs.StringVar(&o.compression, "compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
}

// kgoOptions turns the producer flags into client options.
func (o *producerOptions) kgoOptions() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	switch o.acks {
	case "-1", "all":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("%w: --acks must be -1, all, 0 or 1, not %q", ErrUsage, o.acks)
	}
	codec, err := compressionCodec(o.compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if o.lingerMs >= 0 { // negative: the client's default (10 ms in franz-go)
		opts = append(opts, kgo.ProducerLinger(time.Duration(o.lingerMs)*time.Millisecond))
	}
	if o.batchBytes > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(int32(min(o.batchBytes, 1<<30))))
	}
	return opts, nil
}

func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("%w: unknown --compression %q", ErrUsage, name)
}

// lineParser turns console input lines into records.
type lineParser struct {
	topic        string
	keySeparator string
	nullMarker   string
	partition    int32
	headers      []kgo.RecordHeader
}

func (p *lineParser) record(line string, lineNumber int) (*kgo.Record, error) {
	record := &kgo.Record{Topic: p.topic, Partition: p.partition, Headers: p.headers}
	value := line
	if p.keySeparator != "" {
		key, rest, ok := strings.Cut(line, p.keySeparator)
		if !ok {
			return nil, fmt.Errorf("%w: line %d has no key separator %q", ErrUsage, lineNumber, p.keySeparator)
		}
		value = rest
		record.Key = p.bytes(key)
	}
	record.Value = p.bytes(value)
	return record, nil
}

func (p *lineParser) bytes(s string) []byte {
	if p.nullMarker != "" && s == p.nullMarker {
		return nil
	}
	return []byte(s)
}

func runProduce(e *env, args []string) error {
	fs := newFlagSet(e, "produce", "produce --topic T [flags] < lines")
	topic := fs.String("topic", "", "topic to write to (required)")
	keySeparator := fs.String("key-separator", "", "split each line into key SEP value (parse.key); \\t, \\n and \\\\ are unescaped")
	partition := fs.Int("partition", -1, "write every record to this partition (-1: partitioner)")
	nullMarker := fs.String("null-marker", "", "a key or value equal to this string is sent as null")
	maxLine := fs.Int("max-line-bytes", 16<<20, "longest accepted input line")
	verbose := fs.Bool("verbose", false, "print partition@offset for every record")
	var headers stringList
	fs.Var(&headers, "header", "record header `k=v` added to every record (repeatable)")
	var producer producerOptions
	producer.register(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := requireFlag("topic", *topic); err != nil {
		return err
	}
	if *partition < -1 || *partition > 1<<31-1 || *maxLine <= 0 {
		return fmt.Errorf("%w: --partition and --max-line-bytes out of range", ErrUsage)
	}
	parser := &lineParser{topic: *topic, keySeparator: unescapeSeparator(*keySeparator), nullMarker: *nullMarker, partition: int32(*partition)}
	for _, h := range headers {
		key, value, err := parseKeyValue(h)
		if err != nil {
			return err
		}
		parser.headers = append(parser.headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
	}
	opts, err := producer.kgoOptions()
	if err != nil {
		return err
	}
	opts = append(opts, kgo.RecordDeliveryTimeout(adminTimeout))
	if *partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	client, err := fs.client(opts...)
	if err != nil {
		return err
	}
	defer client.Close()
	return produceLines(e, client, parser, *maxLine, *verbose)
}

// produceLines sends one record per input line and waits for every ack.
func produceLines(e *env, client *kgo.Client, parser *lineParser, maxLine int, verbose bool) error {
	var mu struct {
		sync.Mutex
		failed   int
		firstErr error
	}
	var wg sync.WaitGroup
	scanner := bufio.NewScanner(e.stdin)
	scanner.Buffer(make([]byte, 0, 64<<10), maxLine)
	sent, lineNumber := 0, 0
	var inputErr error
	for scanner.Scan() {
		lineNumber++
		record, err := parser.record(strings.TrimSuffix(scanner.Text(), "\r"), lineNumber)
		if err != nil {
			inputErr = err
			break
		}
		sent++
		wg.Add(1)
		client.Produce(e.ctx, record, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				mu.failed++
				if mu.firstErr == nil {
					mu.firstErr = err
				}
				return
			}
			if verbose {
				fmt.Fprintf(e.stdout, "%d@%d\n", r.Partition, r.Offset)
			}
		})
	}
	if err := scanner.Err(); err != nil && inputErr == nil {
		inputErr = fmt.Errorf("reading input line %d: %w", lineNumber+1, err)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if mu.failed > 0 {
		return fmt.Errorf("%w: %d of %d (first error: %w)", ErrProduceFailed, mu.failed, sent, mu.firstErr)
	}
	return inputErr
}

// unescapeSeparator turns the escapes a shell passes through literally
// ('\t') into the characters they name, so --key-separator '\t' splits on
// a tab as users expect.
func unescapeSeparator(s string) string {
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\r`, "\r", `\\`, `\`).Replace(s)
}
