//go:build !linux

package store_test

import "testing"

func openAsAnotherUser(t *testing.T, dir string) string {
	t.Skip("running as root: opening as another user needs Linux here")
	return ""
}

func openReadOnlyMount(t *testing.T, dir string) string {
	t.Skip("a read-only bind mount needs Linux mount namespaces")
	return ""
}
