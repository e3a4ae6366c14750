package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store"
)

const respondersUsage = `Usage:
  spp responders add --data DIR [--name N] [--organization O] RESPONDER_ID
  spp responders list --data DIR
  spp responders remove --data DIR RESPONDER_ID

The registry of verified emergency responders of this installation: while a
user's criteria ask for verified responders (the default), only a responder
listed here gets the user's emergency information. The registry is kept on
this device only (ids as keyed hashes, details sealed).

Flags:
`

// runResponders is the responders subcommand.
func runResponders(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, respondersUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return flag.ErrHelp
		}
		return errors.New("responders: add, list or remove?")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("responders "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", defaultDataDir(), "data `DIR` of the installation")
	var name, org *string
	if sub == "add" {
		name = fs.String("name", "", "the responder's `NAME`")
		org = fs.String("organization", "", "the responder's `ORGANIZATION`")
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
	want := 1
	switch sub {
	case "add", "remove":
	case "list":
		want = 0
	default:
		fs.Usage()
		return fmt.Errorf("responders: unknown subcommand %q", sub)
	}
	if len(pos) != want {
		fs.Usage()
		return fmt.Errorf("responders %s: want %d RESPONDER_ID, got %d arguments", sub, want, len(pos))
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
	case "add":
		r, err := a.AddResponder(ctx, app.Responder{ID: pos[0], Name: *name, Organization: *org})
		if err != nil {
			return fmt.Errorf("responders add: %s", app.AsError(err).Message)
		}
		fmt.Fprintf(stdout, "verified responder %s added\n", r.ID)
	case "remove":
		if err := a.RemoveResponder(ctx, pos[0]); err != nil {
			return fmt.Errorf("responders remove: %s", app.AsError(err).Message)
		}
		fmt.Fprintf(stdout, "verified responder %s removed\n", strings.TrimSpace(pos[0]))
	case "list":
		rs, err := a.Responders(ctx)
		if err != nil {
			return fmt.Errorf("responders list: %s", app.AsError(err).Message)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RESPONDER_ID\tNAME\tORGANIZATION\tADDED")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Organization, r.AddedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return nil
}
