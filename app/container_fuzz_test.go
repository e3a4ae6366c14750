package app

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// fuzzKDF is a cheap Argon2id cost, and fuzzMaxMemory the most a fuzzed
// header may ask for, so that each input stays quick.
var fuzzKDF = crypto.KDFParams{Time: 1, Memory: 64, Threads: 1}

const (
	fuzzPassphrase = "fuzz passphrase"
	fuzzMaxMemory  = 1024
)

func fuzzSnapshot() *snapshot {
	return &snapshot{
		UserID: "0190a3c4-0000-7000-8000-000000000001", ProfileID: "0190a3c4-0000-7000-8000-000000000002", Email: "f@example.org", Handle: "f",
		DEK: bytes.Repeat([]byte{7}, crypto.KeySize), CreatedAt: time.Unix(0, 0).UTC(),
		Cells: []snapshotCell{
			{Entity: EntityField, ID: "name", Field: "value", Sealed: true, Data: []byte(`"F"`)},
			{Entity: "share", ID: "s", Field: "token_hash", Data: []byte{1, 2, 3}},
		},
	}
}

func TestSealedContainerOpens(t *testing.T) {
	want := fuzzSnapshot()
	c, err := sealContainer(want, fuzzPassphrase, fuzzKDF, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got, err := openContainer(c, fuzzPassphrase, fuzzMaxMemory)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != want.UserID || len(got.Cells) != 2 || string(got.Cells[0].Data) != `"F"` || !bytes.Equal(got.DEK, want.DEK) {
		t.Fatalf("got %+v", got)
	}
	// A header asking for more memory than allowed is refused before any
	// derivation.
	if _, err := openContainer(c, fuzzPassphrase, 32); err != errContainerCost {
		t.Fatalf("costly container: %v", err)
	}
	// A snapshot that could not be restored is refused even when it opens.
	bad := fuzzSnapshot()
	bad.Cells[0].Entity = "a\x00b"
	c, _ = sealContainer(bad, fuzzPassphrase, fuzzKDF, time.Now())
	if _, err := openContainer(c, fuzzPassphrase, fuzzMaxMemory); err != errContainerFormat {
		t.Fatalf("NUL in a name: %v", err)
	}
	// Ids from outside must be well-formed UUIDs: never a name chosen to
	// sort first or to look like another account's.
	for _, id := range []string{"u1", "00000000", "0190A3C4-0000-7000-8000-000000000001", "{0190a3c4-0000-7000-8000-000000000001}"} {
		bad := fuzzSnapshot()
		bad.UserID = id
		c, _ = sealContainer(bad, fuzzPassphrase, fuzzKDF, time.Now())
		if _, err := openContainer(c, fuzzPassphrase, fuzzMaxMemory); err != errContainerFormat {
			t.Fatalf("user id %q: %v", id, err)
		}
	}
}

// FuzzOpenContainer: no input, however malformed, makes the container
// reader panic; whatever opens is a restorable snapshot.
func FuzzOpenContainer(f *testing.F) {
	c, err := sealContainer(fuzzSnapshot(), fuzzPassphrase, fuzzKDF, time.Unix(1e9, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c)
	f.Add([]byte(base64.StdEncoding.EncodeToString(c)))
	f.Add([]byte(`{"exported_data":"` + base64.RawURLEncoding.EncodeToString(c) + `"}`))
	f.Add(c[:7])
	f.Add(c[:len(c)-1])
	f.Add([]byte("SPPC\x01\x00\x02{}"))
	f.Add([]byte("SPPC\x01\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := DecodeContainer(data)
		if err != nil {
			return
		}
		s, err := openContainer(raw, fuzzPassphrase, fuzzMaxMemory)
		if err != nil {
			if AsError(err).Kind == KindInternal {
				t.Fatalf("internal error for bad input: %v", err)
			}
			return
		}
		if s.check() != nil {
			t.Fatal("opened a snapshot that fails its check")
		}
	})
}
