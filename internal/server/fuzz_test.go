package server

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/server/handlers"
)

// maxDecodeFactor bounds the heap a request may allocate while being
// decoded, per byte of frame. kmsg refuses an array length above the bytes
// left, but allocates the whole slice of structs (up to 80 bytes for each
// element, see TestDecodeAmplification) before decoding its elements.
const maxDecodeFactor = 100

// seedRequests returns a valid frame body of every registered API at its
// minimum and maximum version.
func seedRequests() [][]byte {
	var seeds [][]byte
	format := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	for _, api := range handlers.All() {
		for _, version := range []int16{api.MinVersion, api.MaxVersion} {
			req := kmsg.RequestForKey(api.Key)
			req.SetVersion(version)
			seeds = append(seeds, format.AppendRequest(nil, req, 42)[4:])
		}
	}
	return seeds
}

// FuzzRequest feeds arbitrary frame bodies through the parsing step of a
// connection: it must never panic, and valid seeds must parse.
func FuzzRequest(f *testing.F) {
	for _, seed := range seedRequests() {
		f.Add(seed)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 18, 0, 99, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, body []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err := parseRequest(body)
		runtime.ReadMemStats(&after)
		if grown := after.TotalAlloc - before.TotalAlloc; grown > uint64(allocScale*(maxDecodeFactor*len(body)+64<<10)) {
			t.Fatalf("decoding %d bytes allocated %d", len(body), grown)
		}
		if err != nil {
			return
		}
		if len(body) < 8 || r.key != int16(binary.BigEndian.Uint16(body)) || r.corr != int32(binary.BigEndian.Uint32(body[4:])) {
			t.Fatalf("parsed key %d corr %d from % x", r.key, r.corr, body[:min(len(body), 8)])
		}
		if r.kreq != nil && (r.kreq.Key() != r.key || r.kreq.GetVersion() != r.version) {
			t.Fatalf("request is %d v%d, header says %d v%d", r.kreq.Key(), r.kreq.GetVersion(), r.key, r.version)
		}
	})
}

func TestSeedRequestsParse(t *testing.T) {
	for _, seed := range seedRequests() {
		r, err := parseRequest(seed)
		if err != nil || r.kreq == nil || r.clientID != "fuzz" || r.corr != 42 {
			t.Fatalf("seed % x: %+v, %v", seed[:8], r, err)
		}
	}
}

// TestDecodeAmplification measures the worst case the fuzz bound allows:
// a CreateTopics v0 whose topic array claims one element per byte left.
func TestDecodeAmplification(t *testing.T) {
	const n = 1 << 20
	body := []byte{0, 19, 0, 0, 0, 0, 0, 1, 0xff, 0xff}
	body = binary.BigEndian.AppendUint32(body, n)
	body = append(body, make([]byte, n)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := parseRequest(body)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("garbage CreateTopics parsed")
	}
	grown := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d-byte CreateTopics frame allocated %d bytes while failing to decode (%.1fx)", len(body), grown, float64(grown)/float64(len(body)))
	if grown > uint64(allocScale*maxDecodeFactor*len(body)) {
		t.Fatalf("allocated %d bytes for a %d-byte frame", grown, len(body))
	}
}
