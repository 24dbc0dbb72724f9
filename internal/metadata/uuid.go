package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// ErrInvalidUUID is returned when text is not a base64url-encoded 16-byte UUID.
var ErrInvalidUUID = errors.New("invalid uuid")

// UUID is a Kafka UUID (topic IDs, incarnation IDs). Its text form is
// unpadded base64url, as Kafka prints it.
type UUID [16]byte

// NewUUID returns a random version-4 UUID that is never all zeros and never
// starts with '-' in text form (Kafka avoids that for command lines).
func NewUUID() UUID {
	for {
		var id UUID
		if _, err := rand.Read(id[:]); err != nil {
			panic("metadata: crypto/rand failed: " + err.Error())
		}
		id[6] = id[6]&0x0f | 0x40
		id[8] = id[8]&0x3f | 0x80
		if !id.IsZero() && id.String()[0] != '-' {
			return id
		}
	}
}

// IsZero reports whether the UUID is all zeros.
func (id UUID) IsZero() bool {
	return id == UUID{}
}

// String returns the unpadded base64url form.
func (id UUID) String() string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// MarshalText implements encoding.TextMarshaler.
func (id UUID) MarshalText() ([]byte, error) {
	return []byte(id.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *UUID) UnmarshalText(text []byte) error {
	parsed, err := ParseUUID(string(text))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// ParseUUID parses the unpadded base64url form.
func ParseUUID(text string) (UUID, error) {
	var id UUID
	if len(text) != 22 {
		return id, fmt.Errorf("%w: %q", ErrInvalidUUID, text)
	}
	decoded, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(decoded) != 16 {
		return id, fmt.Errorf("%w: %q", ErrInvalidUUID, text)
	}
	copy(id[:], decoded)
	return id, nil
}
