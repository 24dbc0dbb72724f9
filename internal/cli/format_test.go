package cli

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestFormatRecord(t *testing.T) {
	tokens, err := parseFormat(`%t/%p/%o %k=%v {%h} %T 100%% \\ %K %S\t\r\n`)
	if err != nil {
		t.Fatal(err)
	}
	f := recordFormatter{tokens: tokens, nullMarker: "~"}
	record := &kgo.Record{Topic: "t", Partition: 3, Offset: 42, Value: []byte("val"),
		Headers: []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b"}}, Timestamp: time.UnixMilli(1700000000123)}
	got := string(f.appendRecord(nil, record))
	want := "t/3/42 ~=val {a=1,b=} 1700000000123 100% \\ -1 3\t\r\n"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestFormatErrors(t *testing.T) {
	for _, format := range []string{"%", `\`, "%z", `\q`} {
		if _, err := parseFormat(format); !errors.Is(err, ErrUsage) {
			t.Errorf("format %q: err %v", format, err)
		}
	}
}

func FuzzParseFormat(f *testing.F) {
	for _, seed := range []string{`%k\t%v\n`, "%%", "%", `\x`, "plain"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, format string) {
		tokens, err := parseFormat(format)
		if err != nil {
			return
		}
		formatter := recordFormatter{tokens: tokens}
		formatter.appendRecord(nil, &kgo.Record{Key: []byte("k")})
	})
}
