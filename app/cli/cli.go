// Package cli is the command line of the subcommands that work on a data
// directory or a code without starting the app: responders, import and
// verify. It adapts flags, prompts and output to the domain; main.go
// gives it the default data directory and how to open the domain over a
// data directory (Env), so it sees no store.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
	"golang.org/x/term"
)

// Env is what main.go gives the subcommands.
type Env struct {
	DataDir string                                           // the default --data
	Open    func(dir string) (*app.App, func() error, error) // the domain over dir's store, and how to close it
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

Flags may come before or after the id. An id or key id may start with "-";
one that is also a flag's name, or holds "=", goes after "--".

Flags:
`

// Responders is the responders subcommand: flags and output only; the
// registry and badges are app/responders.go and app/responder_badges.go.
func Responders(ctx context.Context, env Env, args []string, stdout, stderr io.Writer) error {
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
		data = fs.String("data", env.DataDir, "data `DIR` of the installation")
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, respondersUsage)
		fs.PrintDefaults()
	}
	flags, pos := splitArgs(fs, respondersFlags, args)
	if err := fs.Parse(flags); err != nil {
		return err
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

	a, closeStore, err := env.Open(*data)
	if err != nil {
		return err
	}
	defer closeStore()
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

// splitArgs parts args into fs's flags (each with its value) and the
// positional arguments, which may come before, between or after the
// flags. An argument that starts with "-" is positional when it names no
// flag, neither of fs nor among others (the flags of the command's other
// forms), and has no "=": a key id is base64url and may start with "-"
// (one in 64 does), as may a responder id, while a mistyped or misplaced
// flag ("--id=PM-1" on add) stays a flag, for fs.Parse to refuse.
// Everything after "--" is positional.
func splitArgs(fs *flag.FlagSet, others map[string]bool, args []string) (flags, pos []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(pos, args[i+1:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		f := fs.Lookup(name)
		switch {
		case len(a) < 2 || a[0] != '-':
			pos = append(pos, a)
		case f == nil && !hasValue && !others[name] && name != "h" && name != "help":
			pos = append(pos, a)
		case f == nil || hasValue || isBoolFlag(f) || i+1 == len(args):
			flags = append(flags, a) // an unknown flag or a missing value is fs.Parse's error to give
		default:
			flags, i = append(flags, a, args[i+1]), i+1
		}
	}
	return flags, pos
}

// respondersFlags are the flags of all the responders subcommands.
var respondersFlags = map[string]bool{"data": true, "name": true, "organization": true, "public-key": true, "org-key": true, "id": true, "org": true, "days": true}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Verify is the verify subcommand: a share code checked offline, with
// no network (app.VerifyCode); the claims printed as JSON.
func Verify(args []string, stdout, stderr io.Writer) error {
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

// Import is the import subcommand.
func Import(ctx context.Context, env Env, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", env.DataDir, "data `DIR` to restore the profile into")
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

	a, closeStore, err := env.Open(*data)
	if err != nil {
		return err
	}
	defer closeStore()
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
