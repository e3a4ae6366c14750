package app

import (
	"errors"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// TestContainerContentsRead: this installation writes v=3 containers and
// still reads v=2 and v=1 ones; a content it does not know (a later
// version's) is refused before any key is derived.
func TestContainerContentsRead(t *testing.T) {
	s := &snapshot{UserID: NewID(), ProfileID: NewID(), Email: "ada@example.org", DEK: make([]byte, crypto.KeySize)}
	kdf := crypto.KDFParams{Time: 1, Memory: 64, Threads: 1}
	if containerContent != "spp-profile-snapshot+json;v=3" {
		t.Errorf("containers are written as %q, want v=3", containerContent)
	}
	for _, content := range []string{"spp-profile-snapshot+json;v=3", "spp-profile-snapshot+json;v=2", "spp-profile-snapshot+json;v=1"} {
		b, err := sealContainerAs(content, s, "pass phrase", kdf, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got, err := openContainer(b, "pass phrase", 1<<20); err != nil || got.UserID != s.UserID {
			t.Errorf("a %s container: %v", content, err)
		}
	}
	for _, content := range []string{"spp-profile-snapshot+json;v=4", "spp-profile-snapshot+json", ""} {
		b, err := sealContainerAs(content, s, "pass phrase", kdf, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := openContainer(b, "pass phrase", 1<<20); !errors.Is(err, errContainerFormat) {
			t.Errorf("a container of content %q: %v, want it refused as of another format", content, err)
		}
	}
}

// TestContainerClearBesideSealed: a container cell may carry a clear part
// beside its sealed value only as a share's token_hash does, the index of
// the token its record names; any other is refused as a damaged container.
func TestContainerClearBesideSealed(t *testing.T) {
	token, _ := crypto.NewTimedToken(time.Now())
	record := []byte(`{"service_id":"shop.example","token":"` + token + `"}`)
	other, _ := crypto.NewTimedToken(time.Now())
	for _, tc := range []struct {
		name string
		cell snapshotCell
		ok   bool
	}{
		{"a one-cell share", snapshotCell{Entity: EntityShare, ID: "s", Field: "token_hash", Sealed: true, Data: record, Clear: crypto.TokenIndex(token)}, true},
		{"a two-cell share's hash", snapshotCell{Entity: EntityShare, ID: "s", Field: "token_hash", Data: crypto.TokenIndex(token)}, true},
		{"another token's index", snapshotCell{Entity: EntityShare, ID: "s", Field: "token_hash", Sealed: true, Data: record, Clear: crypto.TokenIndex(other)}, false},
		{"a record without a token", snapshotCell{Entity: EntityShare, ID: "s", Field: "token_hash", Sealed: true, Data: []byte(`{}`), Clear: crypto.TokenIndex(token)}, false},
		{"another field", snapshotCell{Entity: EntityShare, ID: "s", Field: "data", Sealed: true, Data: record, Clear: []byte("hidden in clear")}, false},
		{"another entity", snapshotCell{Entity: EntityPublic, ID: "p", Field: "token_hash", Sealed: true, Data: record, Clear: crypto.TokenIndex(token)}, false},
	} {
		s := &snapshot{UserID: NewID(), ProfileID: NewID(), DEK: make([]byte, crypto.KeySize), Cells: []snapshotCell{tc.cell}}
		if err := s.check(); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want accepted %v", tc.name, err, tc.ok)
		}
	}
}
