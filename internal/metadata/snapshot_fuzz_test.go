package metadata

import (
	"bytes"
	"testing"
)

// FuzzReadImage: a damaged metadata snapshot is refused or read, never a
// panic; an image that reads back writes and reads again the same way.
func FuzzReadImage(f *testing.F) {
	var valid bytes.Buffer
	if _, err := Empty().WriteTo(&valid); err != nil {
		f.Fatal(err)
	}
	f.Add(valid.Bytes())
	f.Add([]byte("{}"))
	f.Add([]byte(`{"version":1,"topics":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		image, err := ReadImage(bytes.NewReader(data))
		if err != nil {
			return
		}
		var again bytes.Buffer
		if _, err := image.WriteTo(&again); err != nil {
			t.Fatalf("image read from a snapshot does not write: %v", err)
		}
		if _, err := ReadImage(&again); err != nil {
			t.Fatalf("rewritten snapshot does not read: %v", err)
		}
	})
}
