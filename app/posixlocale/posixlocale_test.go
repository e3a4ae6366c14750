package posixlocale

import (
	"os"
	"testing"
)

func TestPlain(t *testing.T) {
	for in, want := range map[string]string{
		"C": "C", "C.UTF-8": "C", "C.utf8": "C", "POSIX": "C", "POSIX.UTF-8": "C", "C@euro": "C",
		"en_US.UTF-8": "en_US.UTF-8", "de_DE@euro": "de_DE", "de_DE.ISO-8859-15@euro": "de_DE.ISO-8859-15",
		"fr": "fr", "": "",
	} {
		if got := plain(in); got != want {
			t.Errorf("plain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuietAndRestore(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("LANGUAGE", "C.UTF-8:en")
	quiet()
	if os.Getenv("LANG") != "C" || os.Getenv("LANGUAGE") != "C.UTF-8:en" {
		t.Fatalf("LANG=%q LANGUAGE=%q", os.Getenv("LANG"), os.Getenv("LANGUAGE"))
	}
	Restore()
	if os.Getenv("LANG") != "C.UTF-8" {
		t.Fatalf("not restored: LANG=%q", os.Getenv("LANG"))
	}

	t.Setenv("LANG", "en_US.UTF-8")
	t.Setenv("LANGUAGE", "de_DE@euro::C:en")
	quiet()
	if os.Getenv("LANG") != "en_US.UTF-8" || os.Getenv("LANGUAGE") != "de_DE:en" {
		t.Fatalf("LANG=%q LANGUAGE=%q", os.Getenv("LANG"), os.Getenv("LANGUAGE"))
	}
	Restore()
	if os.Getenv("LANGUAGE") != "de_DE@euro::C:en" {
		t.Fatalf("not restored: LANGUAGE=%q", os.Getenv("LANGUAGE"))
	}
}
