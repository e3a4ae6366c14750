// Package nodetest runs Node.js scripts in tests against packages from the
// npm registry that we did not write (jose, @sd-jwt/sd-jwt-vc): the proof
// that what we produce is read by independent implementations. Packages
// are installed once, at pinned versions, into a cache directory outside
// the module tree (SPP_NODE_CACHE, else the user's cache directory).
package nodetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Packages pinned for the tests.
var Packages = []string{"jose@6.2.17", "@sd-jwt/sd-jwt-vc@0.19.0", "@sd-jwt/crypto-nodejs@0.19.0"}

var installOnce sync.Once
var installErr error
var dir string

// Dir installs the packages (once per test binary) and returns the
// directory whose node_modules holds them; the test is skipped only when
// node or npm is missing from the machine.
func Dir(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	installOnce.Do(func() {
		base := os.Getenv("SPP_NODE_CACHE")
		if base == "" {
			c, err := os.UserCacheDir()
			if err != nil {
				installErr = err
				return
			}
			base = filepath.Join(c, "spp-node")
		}
		dir = filepath.Join(base, strings.ReplaceAll(strings.Join(Packages, "+"), "/", "_"))
		if _, err := os.Stat(filepath.Join(dir, "node_modules", ".installed")); err == nil {
			return
		}
		if installErr = os.MkdirAll(dir, 0o755); installErr != nil {
			return
		}
		os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"spp-node-tests","private":true,"type":"module"}`), 0o644)
		args := append([]string{"install", "--no-audit", "--no-fund", "--save-exact", "--prefix", dir}, Packages...)
		cmd := exec.Command("npm", args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			installErr = &installError{err: err, out: out.String()}
			return
		}
		installErr = os.WriteFile(filepath.Join(dir, "node_modules", ".installed"), nil, 0o644)
	})
	if installErr != nil {
		t.Fatalf("installing %v: %v", Packages, installErr)
	}
	return dir
}

type installError struct {
	err error
	out string
}

func (e *installError) Error() string { return e.err.Error() + "\n" + e.out }

// Run runs an ES module script (its text) with the packages at hand and
// the given arguments; it returns standard output, and the error (with
// standard error) when node exits non-zero.
func Run(t testing.TB, script string, args ...string) (string, error) {
	t.Helper()
	d := Dir(t)
	f, err := os.CreateTemp(d, "script-*.mjs")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	f.WriteString(script)
	f.Close()
	cmd := exec.Command("node", append([]string{f.Name()}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &installError{err: err, out: stderr.String()}
	}
	return stdout.String(), nil
}
