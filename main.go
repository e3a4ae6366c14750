// Command spp is Secure Personal Profile: a Fyne app that keeps a person's
// profile encrypted on their own devices, with an embedded HTTP listener
// answering the documented API. main.go is wiring only.
//
//	spp [flags]            the window (where there is a display) and the listener
//	spp serve [flags]      the listener alone
//	spp import [flags]     restore an exported profile container
//	spp responders …       emergency responders: secrets, trusted organizations, badges
//	spp relay [flags]      a circuit relay for devices on different networks (relaycmd.go)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/cli"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/app/idscan"
	"github.com/secure-personal-profile/spp/app/mail"
	"github.com/secure-personal-profile/spp/app/posixlocale"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/app/webhook"
	"github.com/secure-personal-profile/spp/store"
	p2psync "github.com/secure-personal-profile/spp/sync"
	"github.com/secure-personal-profile/spp/ui"
)

func main() {
	posixlocale.Restore()  // the locale as the user set it (app/posixlocale)
	tuneRuntime(os.Getenv) // here, not in run: tests call run in process
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "spp:", err)
		os.Exit(1)
	}
}

const usage = `Secure Personal Profile

Usage:
  spp [flags]          open the window (where a display exists) and start the API listener
  spp serve [flags]    start the API listener alone, no window
  spp import [flags]   restore an exported profile container into --data (spp import --help)
  spp responders add|reset-secret|remove|trust|untrust|list|issue …
                       emergency responders: secrets and trusted organizations' badges (spp responders --help)
  spp verify [--audience ID] CODE|PNG
                       verify a share code offline (its QR text, the JWS, or a PNG of the QR); exit 1 if it fails
  spp relay [--listen MULTIADDR] [--data DIR]
                       run a circuit relay for devices on different networks; holds no profile data (spp relay --help)

Flags:
`

// options are the flags common to the app and serve.
type options struct {
	data           string
	addr           string
	publicURL      string
	publicURLGiven bool // --public-url was given (else it is http://ADDR)
	smtp           smtpOptions
	p2p            p2pOptions      // device sync
	webhookPrivate bool            // webhooks may reach private addresses
	allowedHosts   listFlag        // Host names the listener answers besides loopback and the public URL's
	given          map[string]bool // the flags given on the command line (they win over saved device settings)
}

func parseFlags(name string, args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.data, "data", defaultDataDir(), "data `DIR`: the encrypted profile database and this device's key")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8000", "API listen address `HOST:PORT`; binding beyond loopback exposes the API to the network")
	fs.StringVar(&o.publicURL, "public-url", "", "base `URL` used in links and QR codes (default http://ADDR)")
	fs.Var(&o.allowedHosts, "allowed-host", "also answer requests naming `HOST` (repeatable): a name this machine is reached by; others get 421 (loopback names, the --addr host and the --public-url host always work)")
	fs.BoolVar(&o.webhookPrivate, "webhook-allow-private", false, "let webhooks reach loopback and private-network addresses (a service on this machine or network); off: public addresses only")
	o.smtp.register(fs)
	o.p2p.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.given = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.given[f.Name] = true })
	if err := o.smtp.check(); err != nil {
		return nil, err
	}
	o.publicURLGiven = o.publicURL != ""
	if o.publicURL == "" {
		o.publicURL = "http://" + o.addr
	}
	o.publicURL = strings.TrimRight(o.publicURL, "/")
	return o, nil
}

// defaultDataDir is the user's data directory for the app.
func defaultDataDir() string {
	const name = "secure-personal-profile"
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		if d := os.Getenv("XDG_DATA_HOME"); d != "" {
			return filepath.Join(d, name)
		}
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, ".local", "share", name)
		}
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, name)
	}
	return name
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "app"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "app", "serve":
		o, err := parseFlags(cmd, args, stderr)
		if err != nil {
			return err
		}
		return start(ctx, o, cmd == "app" && hasDisplay(), stderr)
	case "import":
		return cli.Import(ctx, cliEnv(stderr), args, os.Stdin, stdout, stderr)
	case "responders":
		return cli.Responders(ctx, cliEnv(stderr), args, stdout, stderr)
	case "verify":
		return cli.Verify(args, stdout, stderr)
	case "relay":
		return runRelay(ctx, args, stdout, stderr)
	case "help":
		_, err := parseFlags(cmd, []string{"-h"}, stderr)
		return err
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// cliEnv is what the subcommands of app/cli are given: the default data
// directory and how to open the domain over a data directory's store.
func cliEnv(stderr io.Writer) cli.Env {
	return cli.Env{
		DataDir: defaultDataDir(),
		Open: func(dir string) (*app.App, func() error, error) {
			db, err := store.Open(dir, store.Options{})
			if err != nil {
				return nil, nil, err
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			a, err := app.New(db, app.Config{Log: log})
			if err != nil {
				db.Close()
				return nil, nil, err
			}
			return a, db.Close, nil
		},
	}
}

// startProfiler serves Go's profiles (net/http/pprof) on addr, which must
// be a loopback address: SPP_PPROF=127.0.0.1:6060 spp serve, then
// go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=10.
func startProfiler(addr string, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("SPP_PPROF=%s: give a loopback address and port, like 127.0.0.1:6060", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace) // where goroutines wait: go tool trace
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("SPP_PPROF: %w", err)
	}
	log.Info("profiles served", "addr", ln.Addr().String())
	go http.Serve(ln, mux)
	return nil
}

// The runtime's defaults for the app and serve, each unless its variable
// (GOGC, GOMEMLIMIT, GOMAXPROCS) says otherwise; measured under make
// bench-load (README "Performance").
//
// The collector: the live heap is a few MiB, so with Go's default
// (GOGC=100: a cycle each time the heap doubles, at least every 4 MiB) a
// listener under load collects some 70 times a second; its mark work and
// assists were ~15 % of a share-create's CPU. 400 makes that a fifth. A
// login's Argon2id (64 MiB) gives its memory back when it is done
// (app/kdf.go); the soft memory limit, room for as many of them as may run
// at once beside the rest, bounds what the heap grows to meanwhile (past
// it the collector runs more often, at most half the CPU).
//
// The schedulers: the listener shares the cores with other processes (the
// window, whatever else the user runs; under bench-load, the load
// generator). When the kernel gives a core to one of them, the requests
// queued on the runtime's processor (P) that thread held wait a time slice
// or more for it: the p99 of reads was 10-17 ms with one P per core (the
// bare server's own 7-10 ms), 6-9 ms with two, at the same throughput.
// Not under a container's CPU limit (the default is then below the cores):
// more Ps than the quota would exhaust it sooner and be throttled.
const (
	gcPercent = 400
	psPerCore = 2
)

// memoryLimit is the soft memory limit: 64 MiB beside the key derivations.
var memoryLimit = 64<<20 + app.KDFPeakMemory()

func tuneRuntime(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	// Set, GOMAXPROCS no longer follows a CPU limit that changes later
	// (Go 1.25's updates); it is set only where there is none.
	if n := runtime.GOMAXPROCS(0); getenv("GOMAXPROCS") == "" && n == runtime.NumCPU() {
		runtime.GOMAXPROCS(psPerCore * n)
	}
}

func hasDisplay() bool {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
	}
	return true
}

// start opens the store, starts the listener and, with a window, the GUI;
// it stops them in reverse order when ctx ends or the window closes.
func start(ctx context.Context, o *options, window bool, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if addr := os.Getenv("SPP_PPROF"); addr != "" {
		if err := startProfiler(addr, log); err != nil {
			return err
		}
	}
	db, err := store.Open(o.data, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	lis := &listeners{}
	a, err := app.New(db, app.Config{PublicURL: o.publicURL, PublicURLFromFlag: o.publicURLGiven, Log: log,
		Scanner: idscan.Scanner{}, QRReader: qr.Decode, Fetch: httpapi.Fetch,
		Device: app.DeviceHooks{Listen: lis.move, Mailer: mailer}})
	if err != nil {
		return err
	}
	// This device's saved settings (the GUI's Settings), where no flag
	// says otherwise.
	saved, err := a.DeviceSettings(context.Background())
	if err != nil {
		return err
	}
	if saved.ListenAddr != "" && !o.given["addr"] {
		o.addr = saved.ListenAddr
	}
	if saved.SyncOff && !o.given["no-sync"] {
		o.p2p.noSync = true
	}
	o.p2p.relays = append(o.p2p.relays, saved.Relays...)
	senders := []app.Sender{webhook.New(nil, o.webhookPrivate)}
	if m, err := o.smtp.sender(); err != nil {
		return err
	} else if m != nil {
		senders = append(senders, m)
	} else if saved.SMTP.Addr != "" {
		if m, err := mailer(saved.SMTP); err != nil {
			log.Warn("the saved e-mail settings are not usable", "err", err)
		} else {
			senders = append(senders, m)
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.addr, err)
	}
	// Device sync: the libp2p host, pairing and replication; stopped
	// (deferred) before the store closes.
	if svc, err := o.p2p.start(a, log); err != nil {
		ln.Close()
		return err
	} else if svc != nil {
		defer svc.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The outbox delivers what use cases queued (webhook events, e-mail),
	// retrying with backoff; what was queued before a restart goes too.
	a.StartOutbox(ctx, senders...)
	api := httpapi.New(a, log)
	if err := api.AllowHosts(append([]string{o.addr}, o.allowedHosts...)...); err != nil {
		ln.Close()
		return fmt.Errorf("--allowed-host: %w", err)
	}
	// The profiles' public URLs (a home node's, set on any device).
	if urls, err := a.PublicURLs(ctx); err != nil {
		ln.Close()
		return err
	} else {
		for _, u := range urls {
			if err := api.AllowPublicURL(u); err != nil {
				log.Warn("a profile's public URL is not usable here", "err", err)
			}
		}
	}
	lis.start(ctx, api, ln)
	log.Info("API listening", "addr", ln.Addr().String(), "public_url", o.publicURL, "data", o.data)

	if window {
		fa := fyneapp.NewWithID("org.secureprofile.spp")
		fa.SetIcon(ui.Icon)
		w := fa.NewWindow("Secure Personal Profile")
		w.Resize(windowSize())
		ui.New(a, w)
		go func() {
			<-ctx.Done()
			fa.Quit()
		}()
		w.ShowAndRun()
		cancel()
	} else {
		<-ctx.Done()
	}
	if err := lis.wait(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// windowSize is the window's first size: SPP_WINDOW_SIZE as WIDTHxHEIGHT
// (400x800 for the phone layout, as make screenshots takes it), else a
// desktop's ui.DefaultSize.
func windowSize() fyne.Size {
	ws, hs, _ := strings.Cut(os.Getenv("SPP_WINDOW_SIZE"), "x")
	w, werr := strconv.Atoi(ws)
	h, herr := strconv.Atoi(hs)
	if werr != nil || herr != nil || w <= 0 || h <= 0 {
		return ui.DefaultSize
	}
	return fyne.NewSize(float32(w), float32(h))
}

// mailer is the e-mail sender for SMTP settings saved on this device.
func mailer(s app.SMTPSettings) (app.Sender, error) {
	return mail.New(mail.Config{Addr: s.Addr, From: s.From, User: s.User, Password: s.Password, AllowPlaintext: s.Plaintext})
}

// listeners runs the API on one listener at a time; move puts it on
// another address (the device setting) without a restart: the new
// address is listened on first, so a refusal leaves the old one serving.
type listeners struct {
	mu     sync.Mutex
	ctx    context.Context
	api    *httpapi.Server
	cancel context.CancelFunc
	done   chan error
}

func (l *listeners) start(ctx context.Context, api *httpapi.Server, ln net.Listener) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ctx, l.api = ctx, api
	l.serve(ln)
}

func (l *listeners) serve(ln net.Listener) {
	sctx, cancel := context.WithCancel(l.ctx)
	done := make(chan error, 1)
	go func() { done <- l.api.ListenAndServe(sctx, ln) }()
	l.cancel, l.done = cancel, done
}

func (l *listeners) move(addr string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.api == nil {
		return errors.New("the listener has not started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if err := l.api.AllowHosts(addr); err != nil {
		ln.Close()
		return err
	}
	l.cancel()
	<-l.done
	l.serve(ln)
	return nil
}

// wait returns when the listener in use has stopped (ctx ended).
func (l *listeners) wait() error {
	l.mu.Lock()
	done := l.done
	l.mu.Unlock()
	return <-done
}

// smtpOptions are the flags of outgoing e-mail (trusted contacts told of
// an emergency grant, doctors sent their links).
type smtpOptions struct {
	addr, from, user, passwordFile string
	plaintext                      bool
}

func (o *smtpOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "smtp-addr", "", "SMTP relay `HOST:PORT` for outgoing e-mail (STARTTLS when offered); without it e-mail waits in the outbox")
	fs.StringVar(&o.from, "smtp-from", "", "sender `ADDRESS` of outgoing e-mail (required with --smtp-addr)")
	fs.StringVar(&o.user, "smtp-user", "", "SMTP `USER` for AUTH PLAIN (sent only over TLS or to a relay on this host)")
	fs.StringVar(&o.passwordFile, "smtp-password-file", "", "`FILE` holding the SMTP password (or set SPP_SMTP_PASSWORD)")
	fs.BoolVar(&o.plaintext, "smtp-plaintext", false, "allow e-mail in plain text to a relay beyond this host that offers no STARTTLS")
}

// check validates the flags without reading any file.
func (o *smtpOptions) check() error {
	if o.addr == "" {
		if o.from != "" || o.user != "" || o.passwordFile != "" {
			return errors.New("--smtp-from, --smtp-user and --smtp-password-file need --smtp-addr")
		}
		return nil
	}
	if o.from == "" {
		return errors.New("--smtp-addr needs --smtp-from")
	}
	return nil
}

// sender returns the e-mail sender the flags describe, or nil without
// --smtp-addr. The password comes from --smtp-password-file or the
// SPP_SMTP_PASSWORD environment variable, never from the command line.
func (o *smtpOptions) sender() (app.Sender, error) {
	if o.addr == "" {
		return nil, nil
	}
	password := os.Getenv("SPP_SMTP_PASSWORD")
	if o.passwordFile != "" {
		b, err := os.ReadFile(o.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("reading --smtp-password-file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	s, err := mail.New(mail.Config{Addr: o.addr, From: o.from, User: o.user, Password: password, AllowPlaintext: o.plaintext})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// p2pDefaults apply when no flag says otherwise. This package's tests set
// them to loopback without mDNS (p2p_test.go): no test listens beyond
// 127.0.0.1 or multicasts on the real network.
var p2pDefaults = struct {
	listen []string
	mdns   bool
}{p2psync.DefaultListen, true}

// p2pOptions are the flags of device sync (libp2p).
type p2pOptions struct {
	listen  listFlag
	relays  listFlag
	noMDNS  bool
	noSync  bool
	noPunch bool
}

// listFlag is a flag that may be given several times (or comma-separated).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func (o *p2pOptions) register(fs *flag.FlagSet) {
	fs.Var(&o.listen, "p2p-listen", "device sync listen `MULTIADDR` (repeatable; default "+strings.Join(p2psync.DefaultListen, " and ")+")")
	fs.Var(&o.relays, "relay", "static circuit relay `MULTIADDR` with /p2p/ID, as spp relay prints it (repeatable): devices on different networks meet there")
	fs.BoolVar(&o.noMDNS, "no-mdns", false, "do not announce or discover devices on the local network (mDNS)")
	fs.BoolVar(&o.noPunch, "no-hole-punching", false, "do not try direct connections through NAT (hole punching)")
	fs.BoolVar(&o.noSync, "no-sync", false, "do not start device sync (no libp2p host)")
}

// start starts device sync for the app, unless turned off.
func (o *p2pOptions) start(a *app.App, log *slog.Logger) (*p2psync.Service, error) {
	if o.noSync {
		return nil, nil
	}
	listen := []string(o.listen)
	if len(listen) == 0 {
		listen = p2pDefaults.listen
	}
	svc, err := p2psync.New(a.Replica(), p2psync.Config{
		Listen:       listen,
		MDNS:         !o.noMDNS && p2pDefaults.mdns,
		Relays:       o.relays,
		HolePunching: !o.noPunch,
		NATPortMap:   true,
		Log:          log,
	})
	if err != nil {
		return nil, fmt.Errorf("starting device sync: %w", err)
	}
	a.SetSyncer(svc)
	return svc, nil
}

const relayUsage = `Run a circuit relay (libp2p circuit relay v2) for devices on different
networks: a phone and a home node that cannot reach each other directly
both keep a reservation here and meet through it, then try hole punching
for a direct connection.

Usage:
  spp relay [--listen MULTIADDR]… [--data DIR] [limits]

It prints its full addresses (with /p2p/PEERID), one a line: give one to
every device with --relay. The relay holds no profile data and opens no
store: what passes through are the devices' end-to-end encrypted streams,
carrying operations sealed under the profile's key. With --data its
identity key is kept in DIR/` + p2psync.RelayKeyFile + ` (0600), so its peer id and
address survive restarts; without, it has a new identity each start.

Flags:
`

// runRelay is the relay subcommand: flags and output only; the relay is
// sync/relay.go.
func runRelay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := p2psync.DefaultRelayLimits()
	var listen listFlag
	fs.Var(&listen, "listen", "listen `MULTIADDR` (repeatable; default "+strings.Join(p2psync.DefaultRelayListen, " and ")+")")
	data := fs.String("data", "", "`DIR` keeping the relay's identity key (default: none, a new identity each start)")
	maxRes := fs.Int("max-reservations", def.MaxReservations, "devices holding a reservation at once")
	maxCircuits := fs.Int("max-circuits", def.MaxCircuits, "relayed connections open at once per device")
	perIP := fs.Int("max-reservations-per-ip", def.MaxReservationsPerIP, "reservations from one IP address")
	circuitMiB := fs.Int64("circuit-mib", def.CircuitBytes>>20, "`MiB` one relayed connection carries each way before it is reset (the devices re-dial and sync resumes)")
	circuitDur := fs.Duration("circuit-duration", def.CircuitDuration, "how long one relayed connection lasts before it is reset")
	fs.Usage = func() {
		fmt.Fprint(stderr, relayUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("relay: unexpected argument %q", fs.Arg(0))
	}
	if *maxRes < 1 || *maxCircuits < 1 || *perIP < 1 || *circuitMiB < 1 || *circuitDur < time.Second {
		return fmt.Errorf("relay: limits must be positive (circuit duration at least 1s)")
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r, err := p2psync.StartRelay(p2psync.RelayConfig{
		Listen:  listen,
		DataDir: *data,
		Limits: p2psync.RelayLimits{
			MaxReservations:      *maxRes,
			MaxCircuits:          *maxCircuits,
			MaxReservationsPerIP: *perIP,
			CircuitBytes:         *circuitMiB << 20,
			CircuitDuration:      *circuitDur,
		},
		Log: log,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	for _, a := range r.Addrs() {
		fmt.Fprintln(stdout, a)
	}
	fmt.Fprintln(stderr, "give a device one of these addresses: spp serve --relay ADDRESS (and the same on every other device of the profile)")
	<-ctx.Done()
	log.Info("relay stopped")
	return nil
}
