package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// Frozen vectors of two formats the domain invented: the profile
// container v1 (container.go) and the emergency access log's hash chain
// (emergency.go). Containers are backups people keep, and the log is the
// record a person reviews after a break-the-glass access: if a change
// makes these tests fail, old backups stop importing or old logs stop
// verifying.
//
// The files are written once by the generators below:
//
//	go test -tags ci -run 'TestContainerVectors|TestEmergencyLogVectors' ./app/ -update
//
// Regenerate only when a format is meant to change (and then with a new
// version). Sealing draws random nonces and salts, so the sealed parts are
// frozen bytes that the current code must open; what is deterministic (the
// header layout, the container key, the log's associated data, bodies and
// hashes) is re-derived and compared.

var update = flag.Bool("update", false, "rewrite testdata/container-v1.json and testdata/emergency-log-v1.json from the current code (only when a format is meant to change)")

const (
	containerVectors = "testdata/container-v1.json"
	logVectors       = "testdata/emergency-log-v1.json"
	// vectorPassword signs in to the account a test imports.
	vectorPassword = "vector test password 1"
)

type containerFile struct {
	About      []string          `json:"about"`
	Passphrase string            `json:"passphrase"`
	Container  string            `json:"container"` // base64
	Header     containerHeader   `json:"header"`
	HeaderEnd  int               `json:"header_end"` // the associated data's length
	Key        hexBytes          `json:"key"`
	Snapshot   snapshotVector    `json:"snapshot"`
	Fields     map[string]string `json:"fields"` // the profile's fields after import, as text
}

type containerHeader struct {
	Cipher    string    `json:"cipher"`
	Content   string    `json:"content"`
	KDF       string    `json:"kdf"`
	CreatedAt time.Time `json:"created_at"`
}

type snapshotVector struct {
	UserID    string   `json:"user_id"`
	ProfileID string   `json:"profile_id"`
	Email     string   `json:"email"`
	Handle    string   `json:"handle"`
	DEK       hexBytes `json:"dek"`
	Cells     int      `json:"cells"`
}

type logFile struct {
	About           []string   `json:"about"`
	InstallationKey hexBytes   `json:"installation_key"`
	UserID          string     `json:"user_id"` // the container's user
	Entries         []logEntry `json:"entries"`
}

type logEntry struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Body     string    `json:"body"` // the entry's exact JSON, as hashed and sealed
	AD       hexBytes  `json:"ad"`
	PrevHash hexBytes  `json:"prev_hash"`
	Hash     hexBytes  `json:"hash"`
	Sealed   hexBytes  `json:"sealed"` // under the installation key, frozen
}

type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }
func (h *hexBytes) UnmarshalText(b []byte) error {
	d, err := hex.DecodeString(string(b))
	*h = d
	return err
}

func readVectors(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func writeVectors(t *testing.T, path string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "\t")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// importFrozen imports the frozen container into a fresh store whose
// installation key is key (nil: a random one) and signs in.
func importFrozen(t *testing.T, f *containerFile, key []byte) (*storetest.Env, *app.Principal) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if key != nil {
		if err := os.WriteFile(filepath.Join(dir, store.InstallationKeyFile), key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := storetest.Open(t, dir, app.Config{})
	raw, err := base64.StdEncoding.DecodeString(f.Container)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := env.App.Import(ctx, raw, f.Passphrase, vectorPassword)
	if err != nil {
		t.Fatalf("the frozen container does not import: %v", err)
	}
	if imp.UserID != f.Snapshot.UserID || imp.ProfileID != f.Snapshot.ProfileID || imp.Email != f.Snapshot.Email {
		t.Fatalf("imported %+v, want the snapshot's %+v", imp, f.Snapshot)
	}
	auth, err := env.App.Login(ctx, imp.Email, vectorPassword)
	if err != nil {
		t.Fatalf("login after import: %v", err)
	}
	p, err := env.App.Authenticate(ctx, auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	return env, p
}

func TestContainerVectors(t *testing.T) {
	if *update {
		writeContainerVectors(t)
	}
	var f containerFile
	readVectors(t, containerVectors, &f)
	raw, err := base64.StdEncoding.DecodeString(f.Container)
	if err != nil {
		t.Fatal(err)
	}

	// The layout: magic, version, header length, header; all of it the
	// payload's associated data.
	n := f.HeaderEnd
	if len(raw) <= n || string(raw[:4]) != "SPPC" || raw[4] != 1 || int(binary.BigEndian.Uint16(raw[5:7])) != n-7 {
		t.Fatalf("layout: % x…, header end %d", raw[:min(len(raw), 8)], n)
	}
	cipher, content, kdf, created, end, err := app.ContainerHeaderForTest(raw)
	if err != nil {
		t.Fatalf("the frozen header does not parse: %v", err)
	}
	if got := (containerHeader{cipher, content, kdf, created}); got != f.Header || end != n {
		t.Fatalf("header %+v (end %d), want %+v (end %d)", got, end, f.Header, n)
	}
	key, err := app.ContainerKeyForTest(f.Passphrase, kdf)
	if err != nil || !bytes.Equal(key, f.Key) {
		t.Fatalf("container key\n got %x (%v)\nwant %x", key, err, f.Key)
	}
	if _, err := crypto.Open(key, raw[n:], raw[:n]); err != nil {
		t.Fatalf("the payload does not open under the key with the header as associated data: %v", err)
	}

	// Opened and imported by the current code.
	user, profile, email, handle, dek, cells, err := app.ContainerSnapshotForTest(raw, f.Passphrase)
	if err != nil {
		t.Fatalf("the frozen container does not open: %v", err)
	}
	if got := (snapshotVector{user, profile, email, handle, dek, cells}); !sameSnapshot(got, f.Snapshot) {
		t.Fatalf("snapshot %+v, want %+v", got, f.Snapshot)
	}
	env, p := importFrozen(t, &f, nil)
	got := fieldTexts(t, env, p)
	for name, want := range f.Fields {
		if got[name] != want {
			t.Errorf("field %s = %q after import, want %q", name, got[name], want)
		}
	}
	if len(got) != len(f.Fields) {
		t.Errorf("%d fields after import, want %d: %v", len(got), len(f.Fields), got)
	}
}

func sameSnapshot(a, b snapshotVector) bool {
	return a.UserID == b.UserID && a.ProfileID == b.ProfileID && a.Email == b.Email && a.Handle == b.Handle &&
		bytes.Equal(a.DEK, b.DEK) && a.Cells == b.Cells
}

func fieldTexts(t *testing.T, env *storetest.Env, p *app.Principal) map[string]string {
	t.Helper()
	fs, err := env.App.Fields(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range fs {
		out[f.Name] = f.Text()
	}
	return out
}

// writeContainerVectors is the container's generator: a profile made
// through the use cases, exported by the current code.
func writeContainerVectors(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	env := storetest.New(t, app.Config{})
	auth, err := env.App.Register(ctx, app.Registration{Name: "Ada Lovelace", Email: "ada@example.org", Handle: "ada", Password: vectorPassword})
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.App.Authenticate(ctx, auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.UpdateInfo(ctx, p, []byte(`{"phone":"+15551234567","city":"London","blood_type":"O+"}`)); err != nil {
		t.Fatal(err)
	}
	f := containerFile{About: []string{
		"A frozen profile container v1 (app/container.go). Written by TestContainerVectors -update; do not edit.",
		"Layout: \"SPPC\" || version 0x01 || uint16 big-endian header length || header JSON || XChaCha20-Poly1305(key, snapshot JSON, every byte before the payload).",
		"key = Argon2id(passphrase, the header's kdf parameters and salt), hex. The container is base64; its salt and nonce were random, so it is checked by opening it.",
		"fields are the profile's fields, as text, once the container is imported.",
	}, Passphrase: "frozen container passphrase"}
	ex, err := env.App.Export(ctx, p, app.ExportContainer, f.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	raw := ex.Container
	f.Container = base64.StdEncoding.EncodeToString(raw)
	cipher, content, kdf, created, end, err := app.ContainerHeaderForTest(raw)
	if err != nil {
		t.Fatal(err)
	}
	f.Header, f.HeaderEnd = containerHeader{cipher, content, kdf, created}, end
	if f.Key, err = app.ContainerKeyForTest(f.Passphrase, kdf); err != nil {
		t.Fatal(err)
	}
	user, profile, email, handle, dek, cells, err := app.ContainerSnapshotForTest(raw, f.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	f.Snapshot = snapshotVector{user, profile, email, handle, dek, cells}
	f.Fields = fieldTexts(t, env, p)
	writeVectors(t, containerVectors, f)
}

func TestEmergencyLogVectors(t *testing.T) {
	if *update {
		writeLogVectors(t)
	}
	var f logFile
	readVectors(t, logVectors, &f)
	if len(f.Entries) < 2 {
		t.Fatalf("%s: too few entries", logVectors)
	}

	// The chain, re-derived: each entry's body hashes, with the previous
	// hash, to its own; the first follows the genesis (32 zero bytes).
	prev := app.LogGenesisForTest
	for i, e := range f.Entries {
		if e.Seq != int64(i+1) || !bytes.Equal(e.PrevHash, prev) {
			t.Fatalf("entry %d: seq %d, prev %x, want %d, %x", i, e.Seq, e.PrevHash, i+1, prev)
		}
		if got := app.LogHashForTest(e.PrevHash, []byte(e.Body)); !bytes.Equal(got, e.Hash) {
			t.Errorf("entry %d: hash\n got %x\nwant %x", e.Seq, got, e.Hash)
		}
		if got := app.LogADForTest(f.UserID, e.Seq); !bytes.Equal(got, e.AD) {
			t.Errorf("entry %d: associated data %q, want %q", e.Seq, got, e.AD)
		}
		// The body is the entry's JSON as the current type writes it.
		var entry app.EmergencyLogEntry
		if err := json.Unmarshal([]byte(e.Body), &entry); err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(&entry); string(b) != e.Body {
			t.Errorf("entry %d: body\n got %s\nwant %s", e.Seq, b, e.Body)
		}
		prev = e.Hash
	}

	// The frozen records, in a store with the frozen installation key,
	// open and verify through the current listing.
	var cf containerFile
	readVectors(t, containerVectors, &cf)
	if cf.Snapshot.UserID != f.UserID {
		t.Fatalf("the log's user %s is not the container's %s", f.UserID, cf.Snapshot.UserID)
	}
	env, p := importFrozen(t, &cf, f.InstallationKey)
	ctx := context.Background()
	for _, e := range f.Entries {
		rec := &app.EmergencyLogRecord{UserID: f.UserID, Seq: e.Seq, At: e.At, Sealed: e.Sealed, PrevHash: e.PrevHash, Hash: e.Hash}
		err := env.DB.AppendEmergencyLog(ctx, f.UserID, func(*app.EmergencyLogRecord) (*app.EmergencyLogRecord, error) { return rec, nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	l, err := env.App.EmergencyLog(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Verified || l.BrokenAt != 0 || len(l.Entries) != len(f.Entries) {
		t.Fatalf("log verified %v (broken at %d), %d entries, want %d verified", l.Verified, l.BrokenAt, len(l.Entries), len(f.Entries))
	}
	for i, got := range l.Entries {
		e := f.Entries[i]
		var want app.EmergencyLogEntry
		json.Unmarshal([]byte(e.Body), &want)
		want.PrevHash, want.Hash = hex.EncodeToString(e.PrevHash), hex.EncodeToString(e.Hash)
		got.At, want.At = got.At.UTC(), want.At.UTC()
		if *got != want {
			t.Errorf("entry %d listed as %+v, want %+v", e.Seq, *got, want)
		}
	}
}

// writeLogVectors is the log's generator: three attempts of the kinds a
// grant logs, chained and sealed by the current code's functions, for the
// frozen container's user.
func writeLogVectors(t *testing.T) {
	t.Helper()
	var cf containerFile
	readVectors(t, containerVectors, &cf)
	key := sha256.Sum256([]byte("spp test vector: installation key"))
	f := logFile{About: []string{
		"A frozen emergency access log (app/emergency.go logHash, logAD). Written by TestEmergencyLogVectors -update; do not edit.",
		"Byte strings are hex; body is the entry's exact JSON. The log belongs to the user of container-v1.json.",
		"hash = SHA-256(\"spp/emergency-log/v1\" 0x00 || prev_hash || body); the first prev_hash is 32 zero bytes.",
		"ad = \"emergency-log\" 0x00 user_id 0x00 decimal seq; sealed = XChaCha20-Poly1305(installation_key, body, ad) with a random nonce, checked by opening it.",
	}, InstallationKey: key[:], UserID: cf.Snapshot.UserID}
	at := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	prev := app.LogGenesisForTest
	for i, e := range []app.EmergencyLogEntry{
		{ResponderID: "responder-17", Reason: "unconscious patient", Client: "192.0.2.7", Via: "api", Outcome: "not_verified"},
		{ResponderID: "responder-17", ResponderName: "Dr. Mary Seacole", ResponderOrganization: "St Thomas' Hospital", Verified: true,
			Reason: "unconscious patient, allergies?", Client: "192.0.2.7", Via: "page", Outcome: "granted"},
		{ResponderID: "someone", Reason: "", Client: "2001:db8::1", Via: "api", Outcome: "rate_limited"},
	} {
		seq := int64(i + 1)
		salt := sha256.Sum256(fmt.Appendf(nil, "spp test vector: log salt %d", seq))
		e.LogID = fmt.Sprintf("01a230d2-0000-7000-8000-%012d", seq)
		e.Seq, e.At = seq, at.Add(time.Duration(i)*time.Minute)
		e.Salt = base64.RawURLEncoding.EncodeToString(salt[:])[:22]
		body, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		ad := app.LogADForTest(f.UserID, seq)
		sealed, err := crypto.Seal(f.InstallationKey, body, ad)
		if err != nil {
			t.Fatal(err)
		}
		hash := app.LogHashForTest(prev, body)
		f.Entries = append(f.Entries, logEntry{Seq: seq, At: e.At, Body: string(body), AD: ad, PrevHash: prev, Hash: hash, Sealed: sealed})
		prev = hash
	}
	writeVectors(t, logVectors, f)
}
