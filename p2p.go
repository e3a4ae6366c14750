package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store"
	p2psync "github.com/secure-personal-profile/spp/sync"
)

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
	fs.Var(&o.relays, "relay", "static circuit relay `MULTIADDR` with /p2p/ID (repeatable) for devices on different networks")
	fs.BoolVar(&o.noMDNS, "no-mdns", false, "do not announce or discover devices on the local network (mDNS)")
	fs.BoolVar(&o.noPunch, "no-hole-punching", false, "do not try direct connections through NAT (hole punching)")
	fs.BoolVar(&o.noSync, "no-sync", false, "do not start device sync (no libp2p host)")
}

// start starts device sync for the app, unless turned off.
func (o *p2pOptions) start(a *app.App, db *store.DB, log *slog.Logger) (*p2psync.Service, error) {
	if o.noSync {
		return nil, nil
	}
	listen := []string(o.listen)
	if len(listen) == 0 {
		listen = p2pDefaults.listen
	}
	svc, err := p2psync.New(a, db, p2psync.Config{
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
