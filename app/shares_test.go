package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store/storetest"
)

func newUser(t *testing.T, env *storetest.Env, email string) *app.Principal {
	t.Helper()
	ctx := context.Background()
	auth, err := env.App.Register(ctx, app.Registration{Email: email, Password: "a long enough password", Name: "Grace Hopper", Handle: "grace"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.App.Authenticate(ctx, auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func kind(err error) app.Kind { return app.AsError(err).Kind }

// TestShareKeepsNoCopyOfTheValue: a share stores which field it names,
// never the value, so an update cannot leave a stale copy anywhere.
func TestShareKeepsNoCopyOfTheValue(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "copy@example.org")
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550009999"}`)); err != nil {
		t.Fatal(err)
	}
	sh, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "acme", InfoField: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	err = env.DB.View(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		cells, err := tx.Entity(app.EntityShare, sh.ShareID)
		if err != nil {
			return err
		}
		var names []string
		for f, c := range cells {
			names = append(names, f)
			if bytes.Contains(c.Value, []byte("+1555")) || bytes.Contains(c.Clear, []byte("+1555")) {
				t.Errorf("share cell %s holds the value", f)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"token_hash"}) { // one cell (TestShareIsOneCell)
			t.Errorf("share cells %v", names)
		}
		if bytes.Contains(cells["token_hash"].Clear, []byte(sh.VerificationToken)) {
			t.Error("verification token in clear")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550001234"}`)); err != nil {
		t.Fatal(err)
	}
	v, err := env.App.Verify(ctx, sh.VerificationToken)
	if err != nil || string(v.Claims["phone"]) != `"+15550001234"` {
		t.Fatalf("verify: %+v %v", v, err)
	}
}

// TestVerifyAfterRestart: a new app over the same directory (no cache)
// opens the share with the token alone.
func TestVerifyAfterRestart(t *testing.T) {
	dir := t.TempDir()
	env := storetest.Open(t, dir, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "restart@example.org")
	sh, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "acme", InfoField: "name"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Verify(ctx, sh.VerificationToken); err != nil {
		t.Fatal(err)
	}
	env.DB.Close()
	env2 := storetest.Open(t, dir, app.Config{Now: env.Clock.Now})
	v, err := env2.App.Verify(ctx, sh.VerificationToken)
	if err != nil || string(v.Claims["name"]) != `"Grace Hopper"` {
		t.Fatalf("after restart: %+v %v", v, err)
	}
	// A token that differs in one character opens nothing.
	bad := []byte(sh.VerificationToken)
	bad[3] ^= 1
	if _, err := env2.App.Verify(ctx, string(bad)); kind(err) != app.KindNotFound {
		t.Fatalf("altered token: %v", err)
	}
}

func TestAgeClaimsFollowTheCalendar(t *testing.T) {
	env := storetest.New(t, app.Config{})
	env.Clock.Set(time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	p := newUser(t, env, "age@example.org")
	if _, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "bar", InfoField: "age"}); kind(err) != app.KindUnprocessable {
		t.Fatalf("age without a date of birth: %v", err)
	}
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"date_of_birth":"2008-03-10"}`)); err != nil {
		t.Fatal(err)
	}
	age, _ := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "bar", InfoField: "age"})
	over, _ := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "bar", InfoField: "age_over_18"})
	check := func(wantAge, wantOver string) {
		t.Helper()
		a, err := env.App.Verify(ctx, age.VerificationToken)
		if err != nil || string(a.Claims["age"]) != wantAge {
			t.Fatalf("age %s, want %s (%v)", a.Claims["age"], wantAge, err)
		}
		o, err := env.App.Verify(ctx, over.VerificationToken)
		if err != nil || string(o.Claims["age_over_18"]) != wantOver {
			t.Fatalf("age_over_18 %s, want %s (%v)", o.Claims["age_over_18"], wantOver, err)
		}
	}
	check("17", "false")
	env.Clock.Advance(24 * time.Hour) // the 18th birthday
	check("18", "true")
	// The date of birth goes away: the claim cannot be made.
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"date_of_birth":null}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Verify(ctx, age.VerificationToken); kind(err) != app.KindUnprocessable {
		t.Fatalf("age without a date of birth: %v", err)
	}
}

// TestUnknownRingFailsClosed: a field placed in a ring this device does
// not know (not synced yet, damaged) is treated as restricted.
func TestUnknownRingFailsClosed(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "closed@example.org")
	err := env.DB.Update(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: app.EntityField, ID: "name", Field: "ring", Value: []byte("no-such-ring")})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "acme", InfoField: "name"}); kind(err) != app.KindForbidden {
		t.Fatalf("share of a field in an unknown ring: %v", err)
	}
}

// TestOneUserNeverTouchesAnother: the same service_id at two users is two
// services; revoking at one leaves the other's shares alone.
func TestOneUserNeverTouchesAnother(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	a := newUser(t, env, "a@example.org")
	auth, err := env.App.Register(ctx, app.Registration{Email: "b@example.org", Password: "another long password"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := env.App.Authenticate(ctx, auth.Token)
	sa, _ := env.App.CreateShare(ctx, a, app.ShareRequest{ServiceID: "acme", InfoField: "email"})
	sb, _ := env.App.CreateShare(ctx, b, app.ShareRequest{ServiceID: "acme", InfoField: "email"})
	if n, err := env.App.RevokeAccess(ctx, a, "acme"); err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if _, err := env.App.Verify(ctx, sa.VerificationToken); kind(err) != app.KindGone {
		t.Fatalf("a's share: %v", err)
	}
	v, err := env.App.Verify(ctx, sb.VerificationToken)
	if err != nil || string(v.Claims["email"]) != `"b@example.org"` {
		t.Fatalf("b's share: %+v %v", v, err)
	}
	if _, err := env.App.GetShare(ctx, a, "acme", sb.VerificationToken); kind(err) != app.KindForbidden {
		t.Fatalf("a reads b's share: %v", err)
	}
	acc, _ := env.App.Access(ctx, b)
	if len(acc) != 1 || !acc[0].RevokedAt.IsZero() || len(acc[0].Shares) != 1 || acc[0].Shares[0].State != "active" {
		t.Fatalf("b's access: %+v", acc)
	}
}

func TestDIDKey(t *testing.T) {
	// Key bytes 0x00…0x1f; the expected identifier was computed apart
	// (multicodec 0xed 0x01, base58btc by long division, multibase "z").
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	if got, want := app.DIDKey(key), "did:key:z6MkeTGwHmLmuCmgg4ABYhzWVh6ZX7hTwWt8gguAretUfc9c"; got != want {
		t.Fatalf("DIDKey = %q, want %q", got, want)
	}
}

// shareBySync is the operations of a share of p's with a service, as
// another of p's devices made them: the service, the share's token_hash
// (hash) and its data, naming token.
func shareBySync(t *testing.T, env *storetest.Env, p *app.Principal, device, serviceID, token string, hash []byte) (shareID string, ops []app.Op) {
	t.Helper()
	return shareBySyncAs(t, env, p, device, serviceID, token, hash, app.NewID())
}

// shareBySyncAs is shareBySync under a given share id.
func shareBySyncAs(t *testing.T, env *storetest.Env, p *app.Principal, device, serviceID, token string, hash []byte, shareID string) (string, []app.Op) {
	t.Helper()
	svc := app.ServiceIDForTest(p.DEK, serviceID)
	now := env.Clock.Now()
	data, _ := json.Marshal(map[string]any{"service_id": serviceID, "service": svc, "info_field": "phone", "token": token,
		"issued_at": now, "expires_at": now.Add(time.Hour)})
	seal := func(entity, id, field string, v []byte) []byte {
		b, err := crypto.Seal(p.DEK, v, []byte("cell\x00"+p.UserID+"\x00"+entity+"\x00"+id+"\x00"+field))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hlc := uint64(now.UnixMilli()+1) << 16
	ops := []app.Op{
		{Entity: app.EntityService, ID: svc, Field: "service_id", Value: seal(app.EntityService, svc, "service_id", []byte(serviceID))},
		{Entity: app.EntityShare, ID: shareID, Field: "token_hash", Clear: hash},
		{Entity: app.EntityShare, ID: shareID, Field: "data", Value: seal(app.EntityShare, shareID, "data", data)},
	}
	for i := range ops {
		ops[i].Device, ops[i].Counter, ops[i].HLC, ops[i].UserID = device, int64(i+1), hlc+uint64(i), p.UserID
	}
	return shareID, ops
}

// asOneCell re-forms a share's operations from shareBySync as this
// version makes a share: its record sealed in its token_hash operation,
// no data operation.
func asOneCell(t *testing.T, p *app.Principal, ops []app.Op) []app.Op {
	t.Helper()
	var out []app.Op
	var hash *app.Op
	var record []byte
	for _, op := range ops {
		switch {
		case op.Entity == app.EntityShare && op.Field == "data":
			b, err := crypto.Open(p.DEK, op.Value, []byte("cell\x00"+p.UserID+"\x00"+op.Entity+"\x00"+op.ID+"\x00data"))
			if err != nil {
				t.Fatal(err)
			}
			record = b
			continue
		case op.Entity == app.EntityShare && op.Field == "token_hash":
			out = append(out, op)
			hash = &out[len(out)-1]
			continue
		}
		out = append(out, op)
	}
	if hash == nil || record == nil {
		t.Fatalf("no share in %+v", ops)
	}
	sealed, err := crypto.Seal(p.DEK, record, []byte("cell\x00"+p.UserID+"\x00"+hash.Entity+"\x00"+hash.ID+"\x00token_hash"))
	if err != nil {
		t.Fatal(err)
	}
	hash.Value = sealed
	return out
}

// phoneShare is a share of p's phone with shop.example.
func phoneShare(t *testing.T, env *storetest.Env, p *app.Principal) *app.Share {
	t.Helper()
	sh, err := env.App.CreateShare(context.Background(), p, app.ShareRequest{ServiceID: "shop.example", InfoField: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// userWithPhone is a new user whose profile has a phone number.
func userWithPhone(t *testing.T, env *storetest.Env) *app.Principal {
	t.Helper()
	p := newUser(t, env, "grace@example.org")
	if _, err := env.App.UpdateInfo(context.Background(), p, json.RawMessage(`{"phone":"+15550100"}`)); err != nil {
		t.Fatal(err)
	}
	return p
}

// inOneBatch runs the writes while a write of p's holds the store's writer
// turn, each started once the one before has queued, so that they queue
// in order; then it lets them run (as one batch, behind the holder) and
// waits for them all.
func inOneBatch(t *testing.T, env *storetest.Env, p *app.Principal, writes ...func()) {
	t.Helper()
	hold, held := make(chan struct{}), make(chan struct{})
	go env.DB.Update(context.Background(), p.UserID, p.DEK, func(app.Tx) error {
		close(held)
		<-hold
		return nil
	})
	<-held
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w()
		}()
		for deadline := time.Now().Add(10 * time.Second); env.DB.Queued() < i+1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				close(hold)
				t.Fatalf("%d of %d writes queued", env.DB.Queued(), i+1)
			}
		}
	}
	close(hold)
	wg.Wait()
}

// TestConcurrentSharesWhileSomeFail: shares committed together (retryable
// writes, without savepoints of their own), some of which fail (an age
// claim without a date of birth): those leave nothing, and every other one
// is there once, verifiable, with the value it was made with.
func TestConcurrentSharesWhileSomeFail(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := userWithPhone(t, env)
	const n = 12
	shares := make([]*app.Share, n)
	errs := make([]error, n)
	var writes []func()
	for i := range n {
		field := "phone"
		if i%3 == 1 {
			field = "age_over_18" // no date of birth: refused in the transaction
		}
		writes = append(writes, func() {
			shares[i], errs[i] = env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "shop.example", InfoField: field})
		})
	}
	inOneBatch(t, env, p, writes...)
	made := map[string]bool{}
	for i := range n {
		if i%3 == 1 {
			if app.AsError(errs[i]).Code != "no_date_of_birth" {
				t.Errorf("share %d: %v, want no_date_of_birth", i, errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("share %d: %v", i, errs[i])
		}
		v, err := env.App.Verify(ctx, shares[i].VerificationToken)
		if err != nil || string(v.Claims["phone"]) != `"+15550100"` {
			t.Errorf("share %d verifies: %v %s", i, err, v.Claims["phone"])
		}
		// Its credential, signed beside the commit of a group that ran
		// again, is the share's: its value, its audience, its issuer.
		c, err := app.VerifyCode(shares[i].Credential, "shop.example", time.Now())
		if err != nil || string(c.Claims["phone"]) != `"+15550100"` || c.Issuer != v.Issuer {
			t.Errorf("share %d's credential: %+v %v", i, c, err)
		}
		made[shares[i].ShareID] = true
	}
	access, err := env.App.Access(ctx, p)
	if err != nil || len(access) != 1 {
		t.Fatalf("access: %v %+v", err, access)
	}
	if got := len(access[0].Shares); got != len(made) {
		t.Errorf("the service holds %d shares, want %d", got, len(made))
	}
	for _, sh := range access[0].Shares {
		if !made[sh.ShareID] {
			t.Errorf("share %s held, but none was made with that id", sh.ShareID)
		}
	}
}

// TestRetriedWritesQueueTheirEventsOnce: update-infos committed together
// with a share that fails run again after it (retryable writes); each
// still reports its one notification, and the service's webhook has one
// event per update in the outbox, not one per run.
func TestRetriedWritesQueueTheirEventsOnce(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := userWithPhone(t, env)
	if _, err := env.App.RegisterService(ctx, p, "shop.example", "Shop", "https://shop.example/hook"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "shop.example", InfoField: "phone"}); err != nil {
		t.Fatal(err)
	}
	webhooks := func() int {
		msgs, err := env.DB.Messages(ctx, p.UserID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range msgs {
			if m.Kind == app.KindWebhook {
				n++
			}
		}
		return n
	}
	before := webhooks()
	const n = 6
	results := make([]*app.UpdateResult, n)
	errs := make([]error, n)
	var shareErr error
	var writes []func()
	for i := range n {
		if i == n/2 { // after the first half: they run again
			writes = append(writes, func() {
				_, shareErr = env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "shop.example", InfoField: "age_over_18"})
			})
		}
		writes = append(writes, func() {
			results[i], errs[i] = env.App.UpdateInfo(ctx, p, json.RawMessage(fmt.Sprintf(`{"phone":"+1555010%d"}`, i)))
		})
	}
	inOneBatch(t, env, p, writes...)
	if app.AsError(shareErr).Code != "no_date_of_birth" {
		t.Fatalf("the failing share: %v", shareErr)
	}
	for i := range n {
		if errs[i] != nil || results[i].Notified != 1 {
			t.Fatalf("update %d: %v %+v", i, errs[i], results[i])
		}
	}
	if got := webhooks() - before; got != n {
		t.Errorf("%d webhook events queued by %d updates", got, n)
	}
}

// TestRevokeCommittedWithTheShareItEnds: a service's shares are found
// through their capability records, derived once for a whole group of
// writes; a revocation committed in the same group as a share made just
// before it still ends that share, and the service lists it as revoked.
func TestRevokeCommittedWithTheShareItEnds(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := userWithPhone(t, env)
	var sh *app.Share
	var shareErr, revokeErr error
	var revoked int
	inOneBatch(t, env, p, func() {
		sh, shareErr = env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "shop.example", InfoField: "phone"})
	}, func() {
		revoked, revokeErr = env.App.RevokeAccess(ctx, p, "shop.example")
	})
	if shareErr != nil || revokeErr != nil || revoked != 1 {
		t.Fatalf("share %v; revoke %d %v", shareErr, revoked, revokeErr)
	}
	if _, err := env.App.Verify(ctx, sh.VerificationToken); kind(err) != app.KindGone {
		t.Fatalf("the share after its service's revocation: %v, want gone", err)
	}
	access, err := env.App.Access(ctx, p)
	if err != nil || len(access) != 1 || len(access[0].Shares) != 1 || access[0].Shares[0].State != app.CapRevoked {
		t.Fatalf("access: %v %+v", err, access)
	}
}

// TestShareTokensAreTimed: a new share's verification token starts with
// its issue time, and its token_hash cell (the index a verification looks
// it up by) with the same time, then the token's SHA-256. A share made by
// a device of an earlier version (a 43-character token, found by its
// SHA-256 alone) arrives by sync and verifies, its share opens to its
// service and a revocation by its token reaches it.
func TestShareTokensAreTimed(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := userWithPhone(t, env)
	sh := phoneShare(t, env, p)
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sh.VerificationToken)
	if err != nil || len(raw) != 6+crypto.TokenBytes {
		t.Fatalf("verification token %q: %d bytes %v, want the time and %d random bytes", sh.VerificationToken, len(raw), err, crypto.TokenBytes)
	}
	var ms [8]byte
	copy(ms[2:], raw[:6])
	if got := int64(binary.BigEndian.Uint64(ms[:])); got != sh.IssuedAt.UnixMilli() {
		t.Errorf("the token's time %d, want the share's issue time %d", got, sh.IssuedAt.UnixMilli())
	}
	err = env.DB.View(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		c, ok, err := tx.Get(app.EntityShare, sh.ShareID, "token_hash")
		if err != nil || !ok || !bytes.Equal(c.Clear, append(raw[:6:6], crypto.HashToken(sh.VerificationToken)...)) {
			t.Errorf("the share's token_hash cell %x (%v %v), want its token's time then SHA-256", c.Clear, ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The share as a device of an earlier version made it.
	token, _ := crypto.NewToken()
	_, ops := shareBySync(t, env, p, "older-phone", "older.example", token, crypto.HashToken(token))
	if res, err := env.DB.ApplyOps(ctx, p.UserID, p.DEK, ops); err != nil || res.Applied != 3 {
		t.Fatalf("the older device's share by sync: %+v %v", res, err)
	}
	v, err := env.App.Verify(ctx, token)
	if err != nil || string(v.Claims["phone"]) != `"+15550100"` {
		t.Fatalf("verifying the older device's share: %+v %v", v, err)
	}
	if got, err := env.App.GetShare(ctx, p, "older.example", token); err != nil || string(got["phone"]) != `"+15550100"` {
		t.Fatalf("get-share of the older device's share: %v %v", got, err)
	}
	if n, err := env.App.RevokeServiceShare(ctx, p, "older.example", token); err != nil || n != 1 {
		t.Fatalf("revoking the older device's share by its token: %d %v", n, err)
	}
	if _, err := env.App.Verify(ctx, token); kind(err) != app.KindGone {
		t.Fatalf("the older device's share after its revocation: %v, want gone", err)
	}
	// The new share is untouched by all this.
	if _, err := env.App.Verify(ctx, sh.VerificationToken); err != nil {
		t.Fatalf("the timed share: %v", err)
	}
}

// TestShareIsOneCell: a share is written as one cell and one operation,
// its token's index in clear and its record sealed; it answers, shows in
// the user's export as a share made as two cells did (the record, without
// its token or the hash), and a revocation ends it.
func TestShareIsOneCell(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := userWithPhone(t, env)
	sh := phoneShare(t, env, p)
	ops, err := env.DB.OpsSince(ctx, p.UserID, map[string]int64{}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var mine []app.Op
	for _, op := range ops {
		if op.Entity == app.EntityShare && op.ID == sh.ShareID {
			mine = append(mine, op)
		}
	}
	if len(mine) != 1 || mine[0].Field != "token_hash" || !bytes.Equal(mine[0].Clear, crypto.TokenIndex(sh.VerificationToken)) || len(mine[0].Value) == 0 {
		t.Fatalf("the share's operations %+v, want one: token_hash with the token's index in clear and the record sealed", mine)
	}
	if bytes.Contains(mine[0].Value, []byte(sh.VerificationToken)) || bytes.Contains(mine[0].Value, []byte("shop.example")) {
		t.Error("the share's record is in clear")
	}
	err = env.DB.View(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		cells, err := tx.Entity(app.EntityShare, sh.ShareID)
		if err != nil {
			return err
		}
		var rec struct {
			Token string `json:"token"`
			Field string `json:"info_field"`
		}
		if len(cells) != 1 || json.Unmarshal(cells["token_hash"].Value, &rec) != nil || rec.Token != sh.VerificationToken || rec.Field != "phone" {
			t.Errorf("the share's cells %v, want token_hash alone, its record opened", cells)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := env.App.Verify(ctx, sh.VerificationToken); err != nil || string(v.Claims["phone"]) != `"+15550100"` {
		t.Fatalf("verify: %+v %v", v, err)
	}

	raw, exp := exportJSON(t, env, p)
	data, _ := exp.Entities["share"][sh.ShareID]["data"].(map[string]any)
	if len(exp.Entities["share"][sh.ShareID]) != 1 || data["service_id"] != "shop.example" || data["info_field"] != "phone" || data["token"] != nil {
		t.Errorf("the share in the export %v, want its record without the token", exp.Entities["share"][sh.ShareID])
	}
	for _, w := range []string{"share/" + sh.ShareID + "/token_hash", "share/" + sh.ShareID + "/data.token"} {
		if !slices.Contains(exp.Withheld, w) {
			t.Errorf("withheld %v lacks %s", exp.Withheld, w)
		}
	}
	if bytes.Contains(raw, []byte(sh.VerificationToken)) {
		t.Error("the export holds the verification token")
	}
	// A data cell beside it (no device of this app writes one) is not
	// what the export shows: the share is its token_hash record.
	if err := env.DB.Update(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: app.EntityShare, ID: sh.ShareID, Field: "data", Value: []byte(`{"service_id":"other.example","token":"t"}`)})
	}); err != nil {
		t.Fatal(err)
	}
	raw, exp = exportJSON(t, env, p)
	if data, _ := exp.Entities["share"][sh.ShareID]["data"].(map[string]any); data["service_id"] != "shop.example" || bytes.Contains(raw, []byte("other.example")) {
		t.Errorf("the share in the export beside a data cell: %v", exp.Entities["share"][sh.ShareID])
	}

	if n, err := env.App.RevokeServiceShare(ctx, p, "shop.example", sh.VerificationToken); err != nil || n != 1 {
		t.Fatalf("revoking: %d %v", n, err)
	}
	if _, err := env.App.Verify(ctx, sh.VerificationToken); kind(err) != app.KindGone {
		t.Fatalf("after its revocation: %v, want gone", err)
	}
}

// TestShareCredentialIsTheCommittedValue: a share whose write ran twice in
// its group, the first time beside an update that was then undone (its
// request gone before the group ran again), is committed with the value
// as it stands, and its credential, signed beside the commit after the
// first run, carries that value and not the undone one.
func TestShareCredentialIsTheCommittedValue(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := userWithPhone(t, env)
	gone, cancel := context.WithCancel(ctx)
	defer cancel()
	var sh *app.Share
	var shareErr, updateErr, failErr error
	inOneBatch(t, env, p,
		func() { _, updateErr = env.App.UpdateInfo(gone, p, json.RawMessage(`{"phone":"+15550199"}`)) },
		func() {
			sh, shareErr = env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "shop.example", InfoField: "phone"})
		},
		func() {
			// Runs third: the update's request goes, and this write fails,
			// so the group runs again without it.
			failErr = env.DB.UpdateRetryable(ctx, p.UserID, p.DEK, func(app.Tx) error {
				cancel()
				return errors.New("refused")
			})
		},
	)
	if updateErr == nil || failErr == nil {
		t.Fatalf("the update %v and the failing write %v, want both to fail", updateErr, failErr)
	}
	if shareErr != nil {
		t.Fatal(shareErr)
	}
	if v, err := env.App.Verify(ctx, sh.VerificationToken); err != nil || string(v.Claims["phone"]) != `"+15550100"` {
		t.Fatalf("verify: %+v %v, want the value as it stands", v, err)
	}
	c, err := app.VerifyCode(sh.Credential, "shop.example", time.Now())
	if err != nil || string(c.Claims["phone"]) != `"+15550100"` {
		t.Fatalf("the credential given out: %+v %v, want the committed value", c, err)
	}
}
