package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	p2psync "github.com/secure-personal-profile/spp/sync"
)

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
