package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
)

// Frozen vectors of a sealed cell: the associated data that binds a value
// to its place (user, entity, id, field), and values sealed under a fixed
// data key. Every profile on every device, every operation in flight and
// every export holds values sealed this way; if a change makes this test
// fail, those stop opening.
//
// The file is written once by the generator below:
//
//	go test -tags ci -run TestCellVectors ./store/ -update
//
// Regenerate only when the format is meant to change (and old data is
// migrated). Sealing draws a random nonce, so the sealed values are frozen
// bytes that the current code must open, through ApplyOps (as sync
// delivers them) and a transaction's Get (as every use case reads them).

var update = flag.Bool("update", false, "rewrite testdata/cells-v1.json from the current code (only when the format is meant to change)")

const cellVectors = "testdata/cells-v1.json"

type cellFile struct {
	About []string     `json:"about"`
	DEK   hexBytes     `json:"dek"`
	HLC   uint64       `json:"hlc"` // the time the frozen operations carry
	Cells []cellVector `json:"cells"`
}

type cellVector struct {
	Comment   string   `json:"comment"`
	UserID    string   `json:"user_id"`
	Entity    string   `json:"entity"`
	ID        string   `json:"id"`
	Field     string   `json:"field"`
	Plaintext hexBytes `json:"plaintext"`
	AD        hexBytes `json:"ad"`     // cellAD
	Sealed    hexBytes `json:"sealed"` // crypto.Seal(dek, plaintext, ad), frozen
}

type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }
func (h *hexBytes) UnmarshalText(b []byte) error {
	d, err := hex.DecodeString(string(b))
	*h = d
	return err
}

func TestCellVectors(t *testing.T) {
	if *update {
		writeCellVectors(t)
	}
	b, err := os.ReadFile(cellVectors)
	if err != nil {
		t.Fatal(err)
	}
	var f cellFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", cellVectors, err)
	}
	if len(f.Cells) < 2 || len(f.DEK) != crypto.KeySize {
		t.Fatalf("%s: too few cells or no data key", cellVectors)
	}
	for _, v := range f.Cells {
		if got := cellAD(v.UserID, v.Entity, v.ID, v.Field); !bytes.Equal(got, v.AD) {
			t.Errorf("%s: associated data\n got %x\nwant %x", v.Comment, got, v.AD)
		}
	}

	// The frozen values arrive as another device's operations, are
	// checked and stored, and open where they belong.
	ctx := context.Background()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	byUser := map[string][]app.Op{}
	for i, v := range f.Cells {
		byUser[v.UserID] = append(byUser[v.UserID], app.Op{Device: "frozen-vector-device", Counter: int64(i + 1), HLC: f.HLC,
			UserID: v.UserID, Entity: v.Entity, ID: v.ID, Field: v.Field, Value: v.Sealed})
	}
	for user, ops := range byUser {
		res, err := db.ApplyOps(ctx, user, f.DEK, ops)
		if err != nil {
			t.Fatal(err)
		}
		if res.Applied != len(ops) || len(res.Rejected) > 0 {
			t.Fatalf("user %s: applied %d of %d, rejected %+v", user, res.Applied, len(ops), res.Rejected)
		}
	}
	for _, v := range f.Cells {
		err := db.View(ctx, v.UserID, f.DEK, func(tx app.Tx) error {
			c, ok, err := tx.Get(v.Entity, v.ID, v.Field)
			if err != nil || !ok {
				t.Errorf("%s: not read back (%v, %v)", v.Comment, ok, err)
			} else if !bytes.Equal(c.Value, v.Plaintext) {
				t.Errorf("%s: opened to %q, want %q", v.Comment, c.Value, v.Plaintext)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// Bound to its place: the first value, moved to another field, is refused.
	v := f.Cells[0]
	moved := app.Op{Device: "frozen-vector-device", Counter: int64(len(f.Cells) + 1), HLC: f.HLC,
		UserID: v.UserID, Entity: v.Entity, ID: v.ID, Field: v.Field + "_moved", Value: v.Sealed}
	res, err := db.ApplyOps(ctx, v.UserID, f.DEK, []app.Op{moved})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, "does not open at its place") {
		t.Fatalf("a moved value: %+v", res)
	}
}

// writeCellVectors is the generator: fixed inputs, the current code's
// associated data, values sealed now.
func writeCellVectors(t *testing.T) {
	t.Helper()
	key := sha256.Sum256([]byte("spp test vector: cell data key"))
	f := cellFile{About: []string{
		"Frozen vectors of a sealed cell (store/cells.go cellAD, docs/security.md). Written by TestCellVectors -update; do not edit.",
		"Byte strings are hex. ad = \"cell\" 0x00 user_id 0x00 entity 0x00 id 0x00 field.",
		"sealed = 0x01 || 24-byte XChaCha20 nonce || XChaCha20-Poly1305(dek, plaintext, ad) || 16-byte tag; the nonce was random, so sealed is checked by opening it.",
		"hlc is the hybrid logical clock time the test's operations carry (Unix milliseconds shifted left by 16 bits).",
	}, DEK: key[:], HLC: uint64(1767225600000) << 16}
	for _, in := range []cellVector{
		{Comment: "a profile field's value", UserID: "01a230d0-626e-78c9-9b8d-e20eda3d8065", Entity: "field", ID: "email", Field: "value", Plaintext: []byte(`"ada@example.org"`)},
		{Comment: "a field's ring", UserID: "01a230d0-626e-78c9-9b8d-e20eda3d8065", Entity: "field", ID: "email", Field: "ring", Plaintext: []byte("private")},
		{Comment: "binary, a credential image", UserID: "01a230d0-626e-78c9-9b8d-e20eda3d8065", Entity: "credential", ID: "01a230d0-8176-72ba-8f8d-ad74913c9d2b", Field: "image", Plaintext: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")},
		{Comment: "UTF-8 text, another user", UserID: "01a230d1-173c-791c-93ff-a09d81a32fbc", Entity: "health_record", ID: "01a230d1-173c-791c-93ff-a09d81a32fbb", Field: "note", Plaintext: []byte("Allergie : pénicilline — 青霉素")},
	} {
		in.AD = cellAD(in.UserID, in.Entity, in.ID, in.Field)
		sealed, err := crypto.Seal(f.DEK, in.Plaintext, in.AD)
		if err != nil {
			t.Fatal(err)
		}
		in.Sealed = sealed
		f.Cells = append(f.Cells, in)
	}
	b, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(cellVectors), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cellVectors, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", cellVectors)
}
