package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestConnectionLimits(t *testing.T) {
	broker, err := Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if broker.MaxConnectionsPerIP != 2147483647 || len(broker.MaxConnectionsPerIPOverrides) != 0 || broker.QueuedMaxRequestBytes != -1 {
		t.Fatalf("defaults: per ip %d overrides %v queued %d", broker.MaxConnectionsPerIP, broker.MaxConnectionsPerIPOverrides, broker.QueuedMaxRequestBytes)
	}
	broker, err = Load("", []string{
		"max.connections.per.ip=3",
		"max.connections.per.ip.overrides=localhost:10, 127.0.0.2:0,[::1]:7",
		"queued.max.request.bytes=1048576",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int32{"localhost": 10, "127.0.0.2": 0, "::1": 7}
	if broker.MaxConnectionsPerIP != 3 || !reflect.DeepEqual(broker.MaxConnectionsPerIPOverrides, want) || broker.QueuedMaxRequestBytes != 1<<20 {
		t.Fatalf("got per ip %d overrides %v queued %d", broker.MaxConnectionsPerIP, broker.MaxConnectionsPerIPOverrides, broker.QueuedMaxRequestBytes)
	}
	for _, bad := range []string{"localhost", "localhost:x", ":5", "a:-1", "a:99999999999"} {
		if _, err := Load("", []string{"max.connections.per.ip.overrides=" + bad}, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("overrides %q: err = %v, want ErrInvalidConfig", bad, err)
		}
	}
}
