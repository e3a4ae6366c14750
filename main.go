// Command spp is Secure Personal Profile: a Fyne app that keeps a person's
// profile encrypted on their own devices, with an embedded HTTP listener
// answering the documented API. main.go is wiring only.
//
//	spp [flags]            the window (where there is a display) and the listener
//	spp serve [flags]      the listener alone
//	spp import [flags]     restore an exported profile container
//	spp responders …       the registry of verified emergency responders
package main

import (
	"context"
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

	fyneapp "fyne.io/fyne/v2/app"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/app/webhook"
	"github.com/secure-personal-profile/spp/assets"
	"github.com/secure-personal-profile/spp/store"
	"github.com/secure-personal-profile/spp/ui"
)

func main() {
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
  spp responders add|list|remove --data DIR …
                       the registry of verified emergency responders (spp responders --help)

Flags:
`

// options are the flags common to the app and serve.
type options struct {
	data      string
	addr      string
	publicURL string
	smtp      smtpOptions
	p2p       p2pOptions // device sync (p2p.go)
}

func parseFlags(name string, args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.data, "data", defaultDataDir(), "data `DIR`: the encrypted profile database and this device's key")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8000", "API listen address `HOST:PORT`; binding beyond loopback exposes the API to the network")
	fs.StringVar(&o.publicURL, "public-url", "", "base `URL` used in links and QR codes (default http://ADDR)")
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
	a, err := app.New(db, app.Config{PublicURL: o.publicURL, Log: log})
	if err != nil {
		return err
	}
	senders := []app.Sender{webhook.New(nil)}
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
	if svc, err := o.p2p.start(a, db, log); err != nil {
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
	served := make(chan error, 1)
	go func() { served <- api.ListenAndServe(ctx, ln) }()
	log.Info("API listening", "addr", ln.Addr().String(), "public_url", o.publicURL, "data", o.data)

	if window {
		fa := fyneapp.NewWithID("org.secureprofile.spp")
		fa.SetIcon(assets.Icon)
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
