package app

import "testing"

func TestSecretNames(t *testing.T) {
	for name, secret := range map[string]bool{
		"signing_key": true, "key": true, "token": true, "token_hash": true, "token_dek": true, "dek": true,
		"secret": true, "webhook_secret": true, "passcode": true, "biometrics": true, "key_wrapped_dek": true,
		"public_link_token": true, "salt": true, "login_keys": true,
		"signing_public": false, "public_private_key_pair": false, "public_key": false, "keyword": false,
		"monkey": false, "tokenizer": false, "value": false, "ring": false, "data": false, "doctor_email": false,
		"created_at": false, "image": false, "document_number": false,
	} {
		if got := secretName(name); got != secret {
			t.Errorf("secretName(%q) = %v, want %v", name, got, secret)
		}
	}
	for _, c := range []struct {
		cell Cell
		want bool
	}{
		{Cell{Field: "created_at", Clear: []byte("2026-01-01T00:00:00Z")}, false},
		{Cell{Field: "index", Clear: []byte{0x8f, 0x00, 0x12}}, true},
		{Cell{Field: "signing_public", Clear: []byte{0x8f, 0x00, 0x12}}, false},
		{Cell{Field: "image", Value: []byte{0x89, 'P', 'N', 'G', 0}}, false},
		{Cell{Field: "secret", Value: []byte("whsec_x")}, true},
	} {
		if got := withheld(c.cell); got != c.want {
			t.Errorf("withheld(%+v) = %v, want %v", c.cell, got, c.want)
		}
	}
}
