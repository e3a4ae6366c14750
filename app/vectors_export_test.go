package app

import (
	"context"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// Internals the frozen vectors (vectors_test.go) check against: the
// current code's own functions, so that a change to one of them fails the
// test.
var (
	LogHashForTest    = logHash
	LogADForTest      = logAD
	LogGenesisForTest = logGenesis
)

// ContainerHeaderForTest reads a container's clear header as Import does.
func ContainerHeaderForTest(b []byte) (cipher, content, kdf string, createdAt time.Time, headerEnd int, err error) {
	h, _, n, err := parseContainer(b)
	if err != nil {
		return "", "", "", time.Time{}, 0, err
	}
	return h.Cipher, h.Content, h.KDF, h.CreatedAt, n, nil
}

// ContainerKeyForTest derives a container's key from the passphrase and
// the header's KDF string, as Import does.
func ContainerKeyForTest(passphrase, kdf string) ([]byte, error) {
	p, err := crypto.ParseKDFParams(kdf)
	if err != nil {
		return nil, err
	}
	return deriveKey(context.Background(), []byte(passphrase), p)
}

// ContainerSnapshotForTest opens a container as Import does and tells
// what its snapshot holds.
func ContainerSnapshotForTest(b []byte, passphrase string) (userID, profileID, email, handle string, dek []byte, cells int, err error) {
	s, err := openContainer(b, passphrase, maxContainerKDFMemory)
	if err != nil {
		return "", "", "", "", nil, 0, err
	}
	return s.UserID, s.ProfileID, s.Email, s.Handle, s.DEK, len(s.Cells), nil
}
