// Package handlers holds one file per Kafka API key. Each file registers the
// version range it implements; ApiVersions is built from that registry, never
// from a hand-kept list.
package handlers

import (
	"context"
	"log/slog"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Request is one decoded request with what its handler needs to know about
// the connection it came from.
type Request struct {
	Ctx      context.Context // cancelled when the connection closes
	Kreq     kmsg.Request
	Version  int16
	ClientID string
	Listener string // name of the listener the connection came in on
	Remote   string
	Log      *slog.Logger
}

// Responder delivers the response to a request exactly once. A handler calls
// it before returning or later from another goroutine (long-poll fetches,
// produce waiting for acks). A nil response means "send nothing" (acks=0).
type Responder func(kmsg.Response)

// Func handles one request kind.
type Func func(env *Env, req *Request, respond Responder)

// API describes one implemented API key.
type API struct {
	Key        int16
	MinVersion int16
	MaxVersion int16
	Handle     Func
}

var registry = map[int16]API{}

// register is called from the init function of each handler file.
func register(a API) {
	if _, dup := registry[a.Key]; dup {
		panic("handlers: API key registered twice: " + kmsg.NameForKey(a.Key))
	}
	registry[a.Key] = a
}

// Lookup returns the API implementing key.
func Lookup(key int16) (API, bool) {
	a, ok := registry[key]
	return a, ok
}

// All returns the implemented APIs sorted by key.
func All() []API {
	out := make([]API, 0, len(registry))
	for _, a := range registry {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
