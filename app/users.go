package app

import (
	"context"
	"crypto/ed25519"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/secure-personal-profile/spp/crypto"
)

//go:embed common-passwords.txt
var commonPasswordsText string

var commonPasswords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, l := range strings.Split(commonPasswordsText, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = struct{}{}
		}
	}
	return m
}()

// Login rate limits, over one window; each refuses further attempts
// until the oldest it counts leaves the window (429 with Retry-After).
// Each attempt is counted under all three before any work is done.
//
//   - The lock-out, per e-mail and client address: LoginFailureLimit
//     failures. A success from that address clears it, so a stranger's
//     failures lock out the stranger's address, not the owner's.
//   - The ceiling, per e-mail across addresses: LoginEmailLimit failures
//     (distributed guessing).
//   - Per client address across e-mails: LoginAddressLimit failures
//     (fresh e-mails that spend this machine on Argon2id).
//
// A success gives its own count back to the ceiling and the per-address
// limit; an attempt refused by the queue bound of the derivations
// (kdf.go) gives back all three. The app's own window (Unlock) is under
// none of them: it holds the device.
const (
	LoginFailureLimit  = 5
	LoginEmailLimit    = 50
	LoginAddressLimit  = 20
	LoginFailureWindow = 15 * time.Minute
	ChallengeTTL       = 5 * time.Minute
)

// Registration rate limit: this many registrations that get as far as the
// e-mail check from one client address within the window.
const (
	RegisterLimit  = 20
	RegisterWindow = time.Hour
)

// Registration is what a new user gives.
type Registration struct {
	Name, Email, Handle, Password string
	Biometrics                    string // opaque; kept sealed, never returned
	PublicKey                     string // public_private_key_pair / public_key
	// Client is the caller's address (the API's), for the per-address
	// limit and the queue bound of the derivations; the app's own window
	// leaves it empty (no limit; it waits for a derivation slot).
	Client string
}

// Auth is the result of a successful register or login.
type Auth struct {
	UserID    string
	ProfileID string
	Token     string
	ExpiresAt time.Time
}

// Principal is an authenticated user acting through a valid token: the
// user's data key is unwrapped for the request and forgotten after.
type Principal struct {
	UserID    string
	ProfileID string
	DEK       []byte
	TokenHash []byte
	ExpiresAt time.Time
}

var (
	errCredentialsMissing = E(KindInvalid, "missing_parameter", "email and password must exist!")
	errEmailFormat        = E(KindInvalid, "invalid_email", "email format error!")
	errWeakPassword       = E(KindInvalid, "weak_password", "password is too weak!")
	errEmailExists        = E(KindConflict, "email_exists", "the email exists!")
	errPrivateKey         = E(KindInvalid, "private_key", "never send a private key!")
	errWrongLogin         = E(KindUnauthorized, "invalid_credentials", "email or password is wrong!")
	errHandleFormat       = E(KindInvalid, "invalid_handle", "handle format error!")
)

// ValidEmail reports whether s is a plain e-mail address (no display name).
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\"\r\n") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	_, domain, ok := strings.Cut(s, "@")
	return ok && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func normHandle(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "@"))
}

// weakPassword applies API.md's rule.
func weakPassword(pw, email, handle string) bool {
	n := utf8.RuneCountInString(pw)
	if n < 8 || n > 1024 {
		return true
	}
	low := strings.ToLower(pw)
	if low == normEmail(email) || (handle != "" && low == normHandle(handle)) {
		return true
	}
	_, common := commonPasswords[low]
	return common
}

func (a *core) emailMAC(email string) []byte {
	return crypto.KeyedHash(a.store.InstallationKey(), "email:"+normEmail(email))
}

func (a *core) handleMAC(handle string) []byte {
	return crypto.KeyedHash(a.store.InstallationKey(), "handle:"+normHandle(handle))
}

// Register creates a user and their profile, and signs them in.
func (a *AccountService) Register(ctx context.Context, r Registration) (*Auth, error) {
	if r.Email == "" || r.Password == "" {
		return nil, errCredentialsMissing
	}
	if !ValidEmail(r.Email) {
		return nil, errEmailFormat
	}
	if r.Handle != "" && !ValidFieldName(strings.ReplaceAll(normHandle(r.Handle), ".", "_")) {
		return nil, errHandleFormat
	}
	if weakPassword(r.Password, r.Email, r.Handle) {
		return nil, errWeakPassword
	}
	derive := deriveKey // the app's own window: the device's owner waits
	var res *reservation
	if r.Client != "" {
		var err error
		if res, err = a.reserve(ctx, a.LimitKey("register", addressSubject(r.Client)), RegisterLimit, RegisterWindow); err != nil {
			return nil, err
		}
		derive = deriveKeyBounded
	}
	// Refused by the queue bound of the derivations, the attempt did not
	// run: it does not count.
	busy := func(err error) (*Auth, error) {
		a.release(ctx, res)
		return nil, err
	}
	if _, err := a.store.AccountByEmail(ctx, a.emailMAC(r.Email)); err == nil {
		// The same derivation a new account's password costs, so that
		// the answer's time does not tell a known e-mail from a new one
		// (and the same refusal when the derivations are busy).
		if _, err := derive(ctx, []byte(r.Password), a.dummyKDF); isBusy(err) {
			return busy(err)
		}
		return nil, errEmailExists
	} else if !errors.Is(err, ErrNotFound) {
		return nil, Internal(err)
	}
	var handleMAC []byte
	if r.Handle != "" {
		// Not a key: handles repeat, as in the original service. A third
		// party that names a handle held by several profiles is told to
		// use the profile id (NewRequest).
		handleMAC = a.handleMAC(r.Handle)
	}
	var loginKey ed25519.PublicKey
	if r.PublicKey != "" {
		k, err := crypto.ParsePublicKey(r.PublicKey)
		switch {
		case errors.Is(err, crypto.ErrPrivateKey):
			return nil, errPrivateKey
		case err == nil:
			loginKey = k
		}
	}

	dek, err := crypto.NewKey()
	if err != nil {
		return nil, Internal(err)
	}
	kdf, err := crypto.NewKDFParams(a.cfg.KDF)
	if err != nil {
		return nil, Internal(err)
	}
	pwKey, err := derive(ctx, []byte(r.Password), kdf)
	if isBusy(err) {
		return busy(err)
	}
	if err != nil {
		return nil, Internal(err)
	}
	acct := &Account{
		UserID:    NewID(),
		ProfileID: NewID(),
		EmailMAC:  a.emailMAC(r.Email),
		HandleMAC: handleMAC,
		KDF:       kdf.String(),
		CreatedAt: a.now(),
	}
	if err := a.accountKeys(acct, dek, pwKey, loginKey); err != nil {
		return nil, Internal(err)
	}
	signPub, signPriv, err := crypto.NewSigningKey()
	if err != nil {
		return nil, Internal(err)
	}
	err = a.store.CreateAccount(ctx, acct, dek, func(tx Tx) error {
		p := func(field string, value []byte) error {
			return tx.Put(Cell{Entity: EntityProfile, ID: acct.ProfileID, Field: field, Value: value})
		}
		if err := p("signing_key", signPriv.Seed()); err != nil {
			return err
		}
		if err := tx.Put(Cell{Entity: EntityProfile, ID: acct.ProfileID, Field: "signing_public", Clear: signPub}); err != nil {
			return err
		}
		if err := p("user_id", []byte(acct.UserID)); err != nil {
			return err
		}
		if r.Biometrics != "" {
			if err := p("biometrics", []byte(r.Biometrics)); err != nil {
				return err
			}
		}
		if r.PublicKey != "" {
			if err := p("public_private_key_pair", []byte(r.PublicKey)); err != nil {
				return err
			}
		}
		for _, f := range []struct{ name, value string }{{"name", r.Name}, {"email", r.Email}, {"handle", r.Handle}} {
			if f.value == "" {
				continue
			}
			if err := putField(tx, f.name, f.value, DefaultRing(f.name)); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrExists) {
		return nil, errEmailExists
	}
	if err != nil {
		return nil, Internal(err)
	}
	a.cfg.Log.Info("user registered", "user_id", acct.UserID)
	return a.newSession(ctx, acct, dek)
}

func (a *core) newSession(ctx context.Context, acct *Account, dek []byte) (*Auth, error) {
	token, err := crypto.NewToken()
	if err != nil {
		return nil, Internal(err)
	}
	now := a.now()
	s := &Session{TokenHash: crypto.HashToken(token), UserID: acct.UserID, CreatedAt: now, ExpiresAt: now.Add(a.cfg.TokenTTL)}
	if s.WrappedDEK, err = crypto.Wrap(crypto.TokenKey(token), dek, purposeSession); err != nil {
		return nil, Internal(err)
	}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return nil, Internal(err)
	}
	if err := a.ensureViews(ctx, acct.UserID, dek); err != nil {
		return nil, Internal(err)
	}
	return &Auth{UserID: acct.UserID, ProfileID: acct.ProfileID, Token: token, ExpiresAt: s.ExpiresAt}, nil
}

// loginAttempt is a login attempt's counts under the login limits (see
// LoginFailureLimit), reserved before any work is done: counting first,
// each in one statement, means parallel guesses cannot all pass a limit.
type loginAttempt struct {
	client, pair, email *reservation // per address (nil: none), lock-out, ceiling
}

// reserveLogin counts an attempt for email from client under the
// per-address limit (not for an empty client), then the lock-out, then
// the ceiling: a refused address or pair goes no further, so a stranger
// locked out cannot go on counting against the e-mail's ceiling.
func (a *AccountService) reserveLogin(ctx context.Context, client, email string) (*loginAttempt, error) {
	email, subject := normEmail(email), addressSubject(client)
	var at loginAttempt
	var err error
	if client != "" {
		if at.client, err = a.reserve(ctx, a.LimitKey("login-address", subject), LoginAddressLimit, LoginFailureWindow); err != nil {
			return nil, err
		}
	}
	if at.pair, err = a.reserve(ctx, a.LimitKey("login-from", email+"\x00"+subject), LoginFailureLimit, LoginFailureWindow); err != nil {
		a.release(ctx, at.client)
		return nil, err
	}
	if at.email, err = a.reserve(ctx, a.LimitKey("login", email), LoginEmailLimit, LoginFailureWindow); err != nil {
		a.release(ctx, at.client, at.pair)
		return nil, err
	}
	return &at, nil
}

// finish settles the counts by the attempt's outcome and passes it on: a
// success clears the lock-out and gives its own count back to the others;
// the queue bound's refusal gives back all three (nothing ran); a failure
// keeps them.
func (at *loginAttempt) finish(ctx context.Context, a *core, auth *Auth, err error) (*Auth, error) {
	switch {
	case err == nil:
		if err := a.store.ClearFailures(ctx, at.pair.key); err != nil {
			return nil, Internal(err)
		}
		a.release(ctx, at.email, at.client)
		return auth, nil
	case isBusy(err):
		a.release(ctx, at.client, at.pair, at.email)
	}
	return nil, err
}

// Login signs a user in with e-mail and password, as LoginFrom with no
// client address.
func (a *AccountService) Login(ctx context.Context, email, password string) (*Auth, error) {
	return a.LoginFrom(ctx, "", email, password)
}

// LoginFrom signs a user in with e-mail and password for a caller at
// client (the API's; "" for none: then no per-address limit, but the
// lock-out and ceiling of e-mail and ""), under the login limits (see
// LoginFailureLimit) and the queue bound of the derivations. A wrong
// e-mail and a wrong password give the same error in the same time.
func (a *AccountService) LoginFrom(ctx context.Context, client, email, password string) (*Auth, error) {
	if email == "" || password == "" {
		return nil, errCredentialsMissing
	}
	at, err := a.reserveLogin(ctx, client, email)
	if err != nil {
		return nil, err
	}
	auth, err := a.passwordLogin(ctx, email, password, deriveKeyBounded)
	return at.finish(ctx, a.core, auth, err)
}

// Unlock signs the device's owner in from the app's own window: under no
// login limit (whoever holds the device holds the database, which a
// limit here would not protect) and never refused by the queue bound of
// the derivations (it waits for a slot). A stranger's failures over the
// API cannot keep the owner out of their own device.
func (a *AccountService) Unlock(ctx context.Context, email, password string) (*Auth, error) {
	if email == "" || password == "" {
		return nil, errCredentialsMissing
	}
	return a.passwordLogin(ctx, email, password, deriveKey)
}

func (a *AccountService) passwordLogin(ctx context.Context, email, password string, derive func(context.Context, []byte, crypto.KDFParams) ([]byte, error)) (*Auth, error) {
	acct, err := a.store.AccountByEmail(ctx, a.emailMAC(email))
	if errors.Is(err, ErrNotFound) {
		// Same cost as a real check, and the same refusal when busy.
		if _, err := derive(ctx, []byte(password), a.dummyKDF); isBusy(err) {
			return nil, err
		}
		return nil, errWrongLogin
	}
	if err != nil {
		return nil, Internal(err)
	}
	kdf, err := crypto.ParseKDFParams(acct.KDF)
	if err != nil {
		return nil, Internal(err)
	}
	pwKey, err := derive(ctx, []byte(password), kdf)
	if err != nil {
		return nil, kdfFailure(err)
	}
	dek, err := crypto.Unwrap(pwKey, acct.WrappedDEK, purposePassword+acct.UserID)
	if err != nil {
		return nil, errWrongLogin
	}
	return a.newSession(ctx, acct, dek)
}

// Challenge issues a single-use key-login challenge, valid ChallengeTTL. An
// unknown e-mail gets a challenge too, which can never succeed, so the
// answer does not tell who is registered.
func (a *AccountService) Challenge(ctx context.Context, email string) (string, time.Time, error) {
	if email == "" {
		return "", time.Time{}, E(KindInvalid, "missing_parameter", "email must exist!")
	}
	c, err := crypto.NewToken()
	if err != nil {
		return "", time.Time{}, Internal(err)
	}
	challenge := "spp-login:" + c
	expires := a.now().Add(ChallengeTTL)
	userID := ""
	if acct, err := a.store.AccountByEmail(ctx, a.emailMAC(email)); err == nil {
		userID = acct.UserID
	} else if !errors.Is(err, ErrNotFound) {
		return "", time.Time{}, Internal(err)
	}
	if err := a.store.PutChallenge(ctx, crypto.HashToken(challenge), userID, expires); err != nil {
		return "", time.Time{}, Internal(err)
	}
	return challenge, expires, nil
}

// KeyLogin signs a user in with the Ed25519 signature (standard base64) of
// a challenge from Challenge, as KeyLoginFrom with no client address.
func (a *AccountService) KeyLogin(ctx context.Context, email, challenge, signature string) (*Auth, error) {
	return a.KeyLoginFrom(ctx, "", email, challenge, signature)
}

// KeyLoginFrom is KeyLogin for a caller at client, under the login limits
// a password login from there counts under (see LoginFailureLimit).
func (a *AccountService) KeyLoginFrom(ctx context.Context, client, email, challenge, signature string) (*Auth, error) {
	if email == "" || challenge == "" || signature == "" {
		return nil, E(KindInvalid, "missing_parameter", "email,challenge,signature must exist!")
	}
	at, err := a.reserveLogin(ctx, client, email)
	if err != nil {
		return nil, err
	}
	auth, err := a.keyLogin(ctx, email, challenge, signature)
	return at.finish(ctx, a.core, auth, err)
}

func (a *AccountService) keyLogin(ctx context.Context, email, challenge, signature string) (*Auth, error) {
	userID, expires, err := a.store.TakeChallenge(ctx, crypto.HashToken(challenge))
	if errors.Is(err, ErrNotFound) {
		return nil, errWrongLogin
	}
	if err != nil {
		return nil, Internal(err)
	}
	acct, err := a.store.AccountByEmail(ctx, a.emailMAC(email))
	if err != nil || acct.UserID != userID || !a.now().Before(expires) || acct.LoginKey == nil {
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, Internal(err)
		}
		return nil, errWrongLogin
	}
	pub, err := crypto.Open(a.store.InstallationKey(), acct.LoginKey, []byte(purposeLoginKey+acct.UserID))
	if err != nil {
		return nil, Internal(fmt.Errorf("opening login key: %w", err))
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || !crypto.Verify(pub, []byte(challenge), sig) {
		return nil, errWrongLogin
	}
	dek, err := crypto.Unwrap(a.store.InstallationKey(), acct.KeyWrappedDEK, purposeKeyLogin+acct.UserID)
	if err != nil {
		return nil, Internal(fmt.Errorf("unwrapping key-login data key: %w", err))
	}
	return a.newSession(ctx, acct, dek)
}

// Authenticate checks a token: unknown or revoked and expired tokens give
// the legacy errors; a valid one unwraps the user's data key.
func (a *AccountService) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, ErrTokenMissing
	}
	hash := crypto.HashToken(token)
	if p, ok := a.caches.sessions.get(hash); ok {
		if !a.now().Before(p.ExpiresAt) {
			a.caches.sessions.drop(hash)
			return nil, ErrTokenExpired
		}
		return &p, nil
	}
	s, err := a.store.SessionByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrTokenMissing
	}
	if err != nil {
		return nil, Internal(err)
	}
	// The lookup is by hash; compare again in constant time all the same.
	if !crypto.Equal(s.TokenHash, hash) {
		return nil, ErrTokenMissing
	}
	if !a.now().Before(s.ExpiresAt) {
		return nil, ErrTokenExpired
	}
	dek, err := crypto.Unwrap(crypto.TokenKey(token), s.WrappedDEK, purposeSession)
	if err != nil {
		return nil, ErrTokenMissing
	}
	p := &Principal{UserID: s.UserID, ProfileID: s.ProfileID, DEK: dek, TokenHash: hash, ExpiresAt: s.ExpiresAt}
	a.caches.sessions.put(p)
	return p, nil
}

// Logout revokes the principal's token.
func (a *AccountService) Logout(ctx context.Context, p *Principal) error {
	a.caches.sessions.drop(p.TokenHash)
	if err := a.store.DeleteSession(ctx, p.TokenHash); err != nil {
		return Internal(err)
	}
	return nil
}
