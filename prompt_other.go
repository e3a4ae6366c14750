//go:build !(linux || darwin || freebsd || openbsd || netbsd)

package main

import "errors"

// promptSecret has no terminal to ask on here: secrets come from a file or
// the environment.
func promptSecret(string) (string, error) {
	return "", errors.New("not given: use the flag or environment variable")
}
