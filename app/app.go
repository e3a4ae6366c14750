// Package app is the domain of Secure Personal Profile: its types, the
// services that carry out each use case, and the errors they return.
// What it does not own sits behind interfaces it defines and main.go
// fills: storage (Store), device sync, and the licence scanner (Scanner,
// which app/idscan implements with cgo and zxing-cpp). Of this module it
// imports only crypto, and it links no cgo.
package app

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/secure-personal-profile/spp/crypto"
)

// Config tunes the use cases; zero values take the defaults.
type Config struct {
	KDF       crypto.KDFParams // Argon2id cost for new passwords (DefaultKDF)
	TokenTTL  time.Duration    // 24 h
	PublicURL string           // this device's base of links and QR codes, where the profile sets none
	// PublicURLFromFlag says PublicURL was given (--public-url) rather
	// than made from the listen address (public_url_source).
	PublicURLFromFlag bool
	Now               func() time.Time // time.Now
	Log               *slog.Logger     // slog.Default(); never given a secret
	// Scanner reads credential photos (app/idscan's); nil keeps every
	// credential as an unverified document (see AddCredential).
	Scanner Scanner
	// QRReader reads the text of a QR code in a picture (app/qr's
	// Decode): how a responder's uploaded badge is read. Nil: pictures
	// of badges are refused (pasting the badge's text still works).
	QRReader func(img []byte) (string, error)
	// Fetch gets a URL (reach.go: checking that the public URL answers);
	// nil: the check says it cannot be made.
	Fetch Fetcher
	// Device applies device settings at once (device_settings.go).
	Device DeviceHooks
}

// App carries out the use cases over a Store. Each group of use cases is
// a service of its own, in the files named for it (README "Layout"):
//
//   - [AccountService]: accounts and sessions (users.go, kdf.go)
//   - [ProfileService]: profile fields and rings (profile.go,
//     updateinfo.go, rings.go, public.go, birthdate.go)
//   - [ShareService]: shares, services and third parties' requests
//     (shares.go, services.go, requests.go)
//   - [EmergencyService]: emergency access (emergency*.go, responders.go,
//     responder_badges.go)
//   - [HealthService]: health records and doctors' links (health.go,
//     health_links.go)
//   - [CredentialService]: credentials (credentials.go, scanner.go)
//   - [DeviceService]: devices and sync (devices.go, devicelist.go,
//     replica.go)
//   - [ExportService]: export and import (export.go, container.go)
//
// What they share is the core: the store, the configuration, the write
// path (update, with the capabilities' views: capabilities.go), links
// (URL), rate limits (ratelimit.go), the outbox and events. The services
// reach one another only through the App.
type App struct {
	*core
	*AccountService
	*ProfileService
	*ShareService
	*EmergencyService
	*HealthService
	*CredentialService
	*DeviceService
	*ExportService
}

// The services: each carries out one group of use cases over the core.
type (
	AccountService    struct{ *core }
	ProfileService    struct{ *core }
	ShareService      struct{ *core }
	EmergencyService  struct{ *core }
	HealthService     struct{ *core }
	CredentialService struct{ *core }
	DeviceService     struct{ *core }
	ExportService     struct{ *core }
)

// core is what every service shares.
type core struct {
	app   *App // the services, for the use cases that take part in another's
	store Store
	cfg   Config
	// dummyKDF is spent on logins for unknown e-mails, so that a wrong
	// e-mail and a wrong password take the same time.
	dummyKDF crypto.KDFParams
	outbox   atomic.Pointer[Outbox]
	syncer   atomic.Pointer[syncerBox] // the sync service, once started (sync.go)
	caches   caches                    // keys kept between requests (caches.go)
	// syncHooks tell the sync service that the devices syncing a user
	// changed here (replica.go).
	syncHooks Listeners
}

// New returns an App over store.
func New(store Store, cfg Config) (*App, error) {
	if cfg.KDF.Time == 0 {
		cfg.KDF = crypto.DefaultKDF
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://127.0.0.1:8000"
	}
	dummy, err := crypto.NewKDFParams(cfg.KDF)
	if err != nil {
		return nil, err
	}
	c := &core{store: store, cfg: cfg, dummyKDF: dummy}
	a := &App{
		core:              c,
		AccountService:    &AccountService{c},
		ProfileService:    &ProfileService{c},
		ShareService:      &ShareService{c},
		EmergencyService:  &EmergencyService{c},
		HealthService:     &HealthService{c},
		CredentialService: &CredentialService{c},
		DeviceService:     &DeviceService{c},
		ExportService:     &ExportService{c},
	}
	c.app = a
	// Every write transaction keeps the capabilities' views current.
	store.SetDeriver(c.deriveViews)
	// Capability records are read again after any change, a user's
	// public URL after a change of it (deriveViews).
	store.OnCommit(c.caches.caps.committed)
	store.OnCommit(c.caches.urls.committed)
	return a, nil
}

// Config returns the configuration in force.
func (a *App) Config() Config { return a.cfg }

func (a *core) now() time.Time { return a.cfg.Now().UTC() }

// NewID returns a new id, unique across all of a user's devices (UUIDv7).
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}
