// Package posixlocale keeps the GUI toolkit's package initialisation quiet
// for the command-line subcommands.
//
// Fyne's lang package reads the locale from the environment while the
// program initialises, before main runs, and logs "Fyne error: Error
// parsing user locale C" to standard error for values it cannot parse:
// the POSIX locale with a codeset (LANG=C.UTF-8, the default of many
// containers and minimal systems) or a modifier (de_DE@euro). Every
// subcommand of the one binary (responders, import) would print it.
//
// It lives under app/ as the other adapters do (the top level holds only
// the product's own packages) and sits in no dependency of the domain.
// This package, imported by main, runs first: it imports nothing but os,
// and by the language's initialisation order (packages in import-path
// order, each once its imports are done) it is initialised before any
// package that needs fmt, as golang.org/x/text/language (which Fyne's
// lang imports) does. Its init rewrites those variables to a form that
// means the same to a translation lookup (C.UTF-8 → C, de_DE@euro →
// de_DE) and [Restore], the first thing main does, puts the original
// values back, so the window's toolkit and anything started later see
// the user's locale unchanged.
package posixlocale

import "os"

type saved struct {
	name, value string
}

var changed []saved

func init() { quiet() }

// quiet rewrites the variables (see the package documentation).
func quiet() {
	// The variable the locale is read from: the first set of these.
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		set(name, v, plain(v))
		if plain(v) == "C" {
			return // LANGUAGE is not consulted under the POSIX locale
		}
		break
	}
	// LANGUAGE: a colon-separated list of preferences.
	v := os.Getenv("LANGUAGE")
	if v == "" {
		return
	}
	out := ""
	start := 0
	for i := 0; i <= len(v); i++ {
		if i < len(v) && v[i] != ':' {
			continue
		}
		if p := plain(v[start:i]); p != "" && p != "C" {
			if out != "" {
				out += ":"
			}
			out += p
		}
		start = i + 1
	}
	set("LANGUAGE", v, out)
}

// plain is a locale value as a translation lookup reads it: "C" for the
// POSIX locale whatever its codeset or modifier, else the value without
// a modifier.
func plain(v string) string {
	lang, rest := v, ""
	for i := 0; i < len(v); i++ {
		if v[i] == '_' || v[i] == '.' || v[i] == '@' {
			lang, rest = v[:i], v[i:]
			break
		}
	}
	if lang == "C" || lang == "POSIX" {
		return "C"
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] == '@' {
			return lang + rest[:i]
		}
	}
	return v
}

func set(name, old, v string) {
	if v == old {
		return
	}
	changed = append(changed, saved{name, old})
	if v == "" {
		os.Unsetenv(name)
	} else {
		os.Setenv(name, v)
	}
}

// Restore puts back the locale variables init rewrote. It is safe to call
// more than once.
func Restore() {
	for _, s := range changed {
		os.Setenv(s.name, s.value)
	}
	changed = nil
}
