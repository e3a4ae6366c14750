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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	fyneapp "fyne.io/fyne/v2/app"
	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/app/idscan"
	"github.com/secure-personal-profile/spp/app/mail"
	"github.com/secure-personal-profile/spp/app/posixlocale"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/app/webhook"
	"github.com/secure-personal-profile/spp/store"
	p2psync "github.com/secure-personal-profile/spp/sync"
	"github.com/secure-personal-profile/spp/ui"
	"golang.org/x/term"
)

func main() {
	posixlocale.Restore() // the locale as the user set it (app/posixlocale)
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
	p2p            p2pOptions // device sync
	webhookPrivate bool       // webhooks may reach private addresses
	allowedHosts   listFlag   // Host names the listener answers besides loopback and the public URL's
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
		return runImport(ctx, args, os.Stdin, stdout, stderr)
	case "responders":
		return runResponders(ctx, args, stdout, stderr)
	case "verify":
		return runVerify(args, stdout, stderr)
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
	db, err := store.Open(o.data, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := app.New(db, app.Config{PublicURL: o.publicURL, PublicURLFromFlag: o.publicURLGiven, Log: log, Scanner: idscan.Scanner{}, QRReader: qr.Decode, Fetch: httpapi.Fetch})
	if err != nil {
		return err
	}
	senders := []app.Sender{webhook.New(nil, o.webhookPrivate)}
	if mailer, err := o.smtp.sender(); err != nil {
		return err
	} else if mailer != nil {
		senders = append(senders, mailer)
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
	served := make(chan error, 1)
	go func() { served <- api.ListenAndServe(ctx, ln) }()
	log.Info("API listening", "addr", ln.Addr().String(), "public_url", o.publicURL, "data", o.data)

	if window {
		fa := fyneapp.NewWithID("org.secureprofile.spp")
		fa.SetIcon(ui.Icon)
		w := fa.NewWindow("Secure Personal Profile")
		w.Resize(ui.DefaultSize)
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
	if err := <-served; err != nil {
		return err
	}
	log.Info("stopped")
	return nil
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

const respondersUsage = `Usage:
  spp responders add --data DIR [--name N] [--organization O] RESPONDER_ID
  spp responders reset-secret --data DIR RESPONDER_ID
  spp responders remove --data DIR RESPONDER_ID
  spp responders trust --data DIR --name ORG --public-key KEY
  spp responders untrust --data DIR KEYID
  spp responders list --data DIR
  spp responders issue --org-key PEMFILE --id RESPONDER_ID [--name N] [--days D] [--org ORG]

Emergency responders prove who they are; an id alone is not enough. While a
user's criteria ask for verified responders (the default), a responder gets
the user's emergency information with either
  - the secret this installation gave them: add prints it once, as
    "responder secret: SECRET" (only its Argon2id hash is kept);
    reset-secret prints a new one; or
  - a badge signed by an organization whose Ed25519 key this installation
    trusts (trust prints the key id; KEY is a PEM file or the raw 32-byte
    key in base64url). The organization signs badges with issue (PEMFILE:
    its PKCS#8 private key, as "openssl genpkey -algorithm ed25519" writes
    it; no data directory), which prints the badge: a compact JWS, small
    enough for a QR code.
Both registries are kept on this device only (ids as keyed hashes, details
sealed). Entries added before secrets existed have none and cannot pass:
give them one with reset-secret.

Flags:
`

// runResponders is the responders subcommand: flags and output only; the
// registry and badges are app/responders.go and app/responder_badges.go.
func runResponders(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, respondersUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return flag.ErrHelp
		}
		return errors.New("responders: add, reset-secret, remove, trust, untrust, list or issue?")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("responders "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var data, name, org, publicKey, orgKey, id *string
	var days *int
	want, what := 1, "RESPONDER_ID"
	switch sub {
	case "add":
		name = fs.String("name", "", "the responder's `NAME`")
		org = fs.String("organization", "", "the responder's `ORGANIZATION`")
	case "reset-secret", "remove":
	case "list":
		want = 0
	case "trust":
		want = 0
		name = fs.String("name", "", "the organization's `NAME` (required)")
		publicKey = fs.String("public-key", "", "the organization's Ed25519 public `KEY`: a PEM file, or the raw 32 bytes in base64url (required)")
	case "untrust":
		what = "KEYID"
	case "issue":
		want = 0
		orgKey = fs.String("org-key", "", "the organization's Ed25519 private key, a PKCS#8 PEM `FILE` (required)")
		id = fs.String("id", "", "the responder's `ID` (required)")
		name = fs.String("name", "", "the responder's `NAME`")
		org = fs.String("org", "", "the badge's org claim, the organization's `NAME` (default: the key id)")
		days = fs.Int("days", 365, "`DAYS` the badge is valid")
	default:
		fmt.Fprint(stderr, respondersUsage)
		return fmt.Errorf("responders: unknown subcommand %q", sub)
	}
	if sub != "issue" {
		data = fs.String("data", defaultDataDir(), "data `DIR` of the installation")
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, respondersUsage)
		fs.PrintDefaults()
	}
	// Flags may come before or after the responder id.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != want {
		fs.Usage()
		if want == 0 {
			return fmt.Errorf("responders %s: unexpected argument %q", sub, pos[0])
		}
		return fmt.Errorf("responders %s: want %d %s, got %d arguments", sub, want, what, len(pos))
	}
	fail := func(err error) error { return fmt.Errorf("responders %s: %s", sub, app.AsError(err).Message) }

	if sub == "issue" {
		if *orgKey == "" || strings.TrimSpace(*id) == "" {
			fs.Usage()
			return errors.New("responders issue: --org-key and --id are required")
		}
		if *days < 1 || *days > 3650 {
			return errors.New("responders issue: --days must be 1 to 3650")
		}
		pemBytes, err := os.ReadFile(*orgKey)
		if err != nil {
			return fmt.Errorf("responders issue: %w", err)
		}
		priv, err := app.ParseOrgPrivateKey(pemBytes)
		if err != nil {
			return fmt.Errorf("responders issue: %w", err)
		}
		now := time.Now()
		badge, err := app.IssueBadge(priv, app.Badge{ResponderID: *id, Name: *name, Organization: *org, IssuedAt: now, Expires: now.AddDate(0, 0, *days)})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, badge)
		return nil
	}
	if sub == "trust" && (strings.TrimSpace(*name) == "" || *publicKey == "") {
		fs.Usage()
		return errors.New("responders trust: --name and --public-key are required")
	}

	db, err := store.Open(*data, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := app.New(db, app.Config{Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	switch sub {
	case "add", "reset-secret":
		var r *app.Responder
		if sub == "add" {
			r, err = a.AddResponder(ctx, app.Responder{ID: pos[0], Name: *name, Organization: *org})
		} else {
			r, err = a.ResetResponderSecret(ctx, pos[0])
		}
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "responder secret: %s\n", r.Secret)
		fmt.Fprintf(stderr, "responder %s: give the secret to the responder; it is not shown again\n", r.ID)
	case "remove":
		if err := a.RemoveResponder(ctx, pos[0]); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "responder %s removed\n", strings.TrimSpace(pos[0]))
	case "trust":
		pub, err := app.ReadOrgPublicKey(*publicKey)
		if err != nil {
			return fail(err)
		}
		o, err := a.TrustResponderOrg(ctx, *name, pub)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "key id: %s\n", o.KeyID)
	case "untrust":
		if err := a.UntrustResponderOrg(ctx, pos[0]); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "key %s no longer trusted\n", strings.TrimSpace(pos[0]))
	case "list":
		rs, err := a.Responders(ctx)
		if err != nil {
			return fail(err)
		}
		orgs, err := a.ResponderOrgs(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RESPONDER_ID\tNAME\tORGANIZATION\tSECRET\tADDED")
		for _, r := range rs {
			secret := "yes"
			if !r.HasSecret {
				secret = "none (cannot pass: reset-secret)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Organization, secret, r.AddedAt.UTC().Format(time.RFC3339))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TRUSTED_ORGANIZATION\tKEY_ID\tADDED")
		for _, o := range orgs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Name, o.KeyID, o.AddedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return nil
}

const importUsage = `Restore a profile container (POST /profile/export with format=container)
as a working account in a data directory.

Usage:
  spp import --data DIR [--file FILE] [--passphrase-file FILE] [--password-file FILE]

The container is read from --file (raw, base64, or the export's JSON answer),
else from standard input. The container's passphrase comes from
--passphrase-file, else $SPP_PASSPHRASE, else a prompt on the terminal; the
new account's sign-in password from --password-file, else $SPP_PASSWORD,
else a prompt. A profile, e-mail or handle that already exists in DIR is
refused.

Flags:
`

// runVerify is the verify subcommand: a share code checked offline, with
// no network (app.VerifyCode); the claims printed as JSON.
func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	audience := fs.String("audience", "", "the service `ID` the code must be for")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: spp verify [--audience ID] CODE|PNG\n\nVerifies a share code with no network: the text its QR code carries, the\ncompact JWS, or a PNG file of the QR code. Prints the claims; exits 1 for a\nbad signature, a wrong audience or an expired code.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("verify: give one code or PNG file")
	}
	text := fs.Arg(0)
	if b, err := os.ReadFile(text); err == nil {
		if text, err = qr.Decode(b); err != nil {
			return fmt.Errorf("verify: %s: no readable QR code: %w", fs.Arg(0), err)
		}
	}
	c, err := app.VerifyCode(text, *audience, time.Now())
	if c != nil {
		out, _ := json.MarshalIndent(c, "", "  ")
		fmt.Fprintf(stdout, "%s\n", out)
	}
	if err != nil {
		return fmt.Errorf("verify: %s", app.AsError(err).Message)
	}
	fmt.Fprintln(stdout, "genuine: the signature verifies under the issuer's key and the code is valid now")
	return nil
}

// runImport is the import subcommand.
func runImport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", defaultDataDir(), "data `DIR` to restore the profile into")
	file := fs.String("file", "", "read the container from `FILE` (\"-\" or none: standard input)")
	passFile := fs.String("passphrase-file", "", "read the container's passphrase from `FILE` (else $SPP_PASSPHRASE, else a prompt)")
	pwFile := fs.String("password-file", "", "read the new account's password from `FILE` (else $SPP_PASSWORD, else a prompt)")
	fs.Usage = func() {
		fmt.Fprint(stderr, importUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	in := stdin
	if *file != "" && *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
	}
	container, err := io.ReadAll(io.LimitReader(in, 2*app.MaxContainer+1))
	if err != nil {
		return fmt.Errorf("import: reading the container: %w", err)
	}
	if len(container) == 0 {
		return errors.New("import: no container given (--file FILE or standard input)")
	}
	passphrase, err := secretInput(*passFile, "SPP_PASSPHRASE", "Container passphrase: ", false)
	if err != nil {
		return fmt.Errorf("import: passphrase: %w", err)
	}
	password, err := secretInput(*pwFile, "SPP_PASSWORD", "New password for this device: ", true)
	if err != nil {
		return fmt.Errorf("import: password: %w", err)
	}

	db, err := store.Open(*data, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(db, app.Config{Log: log})
	if err != nil {
		return err
	}
	im, err := a.Import(ctx, container, passphrase, password)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stdout, "imported profile %s (user %s) into %s; sign in as %s with the new password\n",
		im.ProfileID, im.UserID, *data, im.Email)
	return nil
}

// secretInput reads a secret from a file (its first line), else from an
// environment variable, else from a prompt on the terminal (asked twice
// when confirm is set). It never echoes or prints the secret.
func secretInput(file, env, prompt string, confirm bool) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			return "", fmt.Errorf("%s is empty", file)
		}
		return line, nil
	}
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	s, err := promptSecret(prompt)
	if err != nil {
		return "", err
	}
	if confirm {
		again, err := promptSecret("Again: ")
		if err != nil {
			return "", err
		}
		if again != s {
			return "", errors.New("the two entries differ")
		}
	}
	return s, nil
}

// errNoTerminal: a secret was not given and there is no terminal to ask on.
var errNoTerminal = errors.New("not given (use the flag or environment variable) and no terminal to ask on")

// promptSecret asks on the controlling terminal with echo off (standard
// input may be carrying the container).
func promptSecret(prompt string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errNoTerminal
	}
	defer tty.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return "", errNoTerminal
	}
	fmt.Fprint(tty, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("reading from the terminal: %w", err)
	}
	if len(b) == 0 {
		return "", errors.New("nothing entered")
	}
	return string(b), nil
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
