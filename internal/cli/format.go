package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// formatToken is one piece of a parsed --format string: either literal text
// or a record field verb.
type formatToken struct {
	literal string
	verb    byte
}

// recordFormatter renders records with a kcat-style format string.
type recordFormatter struct {
	tokens     []formatToken
	nullMarker string
}

// parseFormat parses a format such as "%k\t%v\n". Verbs: %t topic, %p
// partition, %o offset, %k key, %v value, %h headers (k=v,...), %T timestamp
// in ms, %K key length, %S value length, %% a percent sign. Escapes \n, \t,
// \r and \\ are expanded.
func parseFormat(format string) ([]formatToken, error) {
	var tokens []formatToken
	var literal strings.Builder
	flush := func() {
		if literal.Len() > 0 {
			tokens = append(tokens, formatToken{literal: literal.String()})
			literal.Reset()
		}
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' && c != '\\' {
			literal.WriteByte(c)
			continue
		}
		if i+1 >= len(format) {
			return nil, fmt.Errorf("%w: --format ends with a lone %q", ErrUsage, c)
		}
		i++
		next := format[i]
		if c == '\\' {
			escaped, ok := map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', '\\': '\\'}[next]
			if !ok {
				return nil, fmt.Errorf("%w: unknown escape \\%c in --format", ErrUsage, next)
			}
			literal.WriteByte(escaped)
			continue
		}
		if next == '%' {
			literal.WriteByte('%')
			continue
		}
		if !strings.ContainsRune("tpokvhTKS", rune(next)) {
			return nil, fmt.Errorf("%w: unknown verb %%%c in --format", ErrUsage, next)
		}
		flush()
		tokens = append(tokens, formatToken{verb: next})
	}
	flush()
	return tokens, nil
}

// appendRecord appends the rendering of record to out.
func (f *recordFormatter) appendRecord(out []byte, record *kgo.Record) []byte {
	for _, token := range f.tokens {
		switch token.verb {
		case 0:
			out = append(out, token.literal...)
		case 't':
			out = append(out, record.Topic...)
		case 'p':
			out = strconv.AppendInt(out, int64(record.Partition), 10)
		case 'o':
			out = strconv.AppendInt(out, record.Offset, 10)
		case 'k':
			out = f.appendBytes(out, record.Key)
		case 'v':
			out = f.appendBytes(out, record.Value)
		case 'h':
			out = appendHeaders(out, record.Headers)
		case 'T':
			out = strconv.AppendInt(out, record.Timestamp.UnixMilli(), 10)
		case 'K':
			out = strconv.AppendInt(out, lengthOrNull(record.Key), 10)
		case 'S':
			out = strconv.AppendInt(out, lengthOrNull(record.Value), 10)
		}
	}
	return out
}

func (f *recordFormatter) appendBytes(out, data []byte) []byte {
	if data == nil {
		return append(out, f.nullMarker...)
	}
	return append(out, data...)
}

func appendHeaders(out []byte, headers []kgo.RecordHeader) []byte {
	for i, h := range headers {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, h.Key...)
		out = append(out, '=')
		out = append(out, h.Value...)
	}
	return out
}

// lengthOrNull returns len(data), or -1 for a null field as kcat does.
func lengthOrNull(data []byte) int64 {
	if data == nil {
		return -1
	}
	return int64(len(data))
}
