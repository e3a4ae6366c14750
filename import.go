package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store"
)

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
