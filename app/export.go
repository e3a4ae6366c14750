package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/secure-personal-profile/spp/crypto"
)

// Export formats (POST /profile/export).
const (
	ExportJSON      = "json"
	ExportContainer = "container"
)

// ExportFormatName and ExportFormatVersion identify a JSON export.
const (
	ExportFormatName    = "spp-profile-export"
	ExportFormatVersion = 1
)

var (
	errExportFormat      = E(KindInvalid, "invalid_format", "format must be json or container!")
	errPassphraseMissing = E(KindInvalid, "missing_parameter", "passphrase must exist!")
	errWeakPassphrase    = E(KindInvalid, "weak_passphrase", "passphrase is too weak!")
	errProfileExists     = E(KindConflict, "profile_exists", "this profile already exists here!")
	errImportNoEmail     = E(KindUnprocessable, "no_email", "the container holds no e-mail address to sign in with!")
)

// Export is the result of an export: Profile for the JSON format,
// Container (raw bytes; the API sends them in base64) for a container.
type Export struct {
	Format    string
	Profile   *ProfileExport
	Container []byte
}

// ProfileExport is the whole profile in human-readable form: every field
// with its value and ring (restricted ones too: the user made the export),
// and every other entity the profile holds, cell by cell. Key material and
// capability secrets (signing key seed, wrapped keys, token hashes, webhook
// secrets, biometrics) are not the user's readable data: they are withheld
// and listed in Withheld as "entity/id/field", or "entity/id/field.member"
// for a member of a JSON value (a share's token inside its data).
type ProfileExport struct {
	Format     string                               `json:"format"`
	Version    int                                  `json:"version"`
	ExportedAt time.Time                            `json:"exported_at"`
	UserID     string                               `json:"user_id"`
	ProfileID  string                               `json:"profile_id"`
	Fields     map[string]map[string]any            `json:"fields"`
	Entities   map[string]map[string]map[string]any `json:"entities"`
	// Emergency is the emergency configuration opened (its cells under
	// entities.emergency are sealed under the emergency key); absent when
	// none is set up.
	Emergency map[string]any `json:"emergency,omitempty"`
	Withheld  []string       `json:"withheld"`
}

// secretNameRE and keyNameRE match the names of cells (and of members of
// JSON values) that hold key material or the secret half of a capability,
// by the naming convention of docs/api.md: signing_key, token_hash,
// token_dek, secret, passcode, a share's token, … A key whose name says
// "public" (public_private_key_pair) is no secret.
var (
	secretNameRE = regexp.MustCompile(`(^|_)(seed|secrets?|hash(es)?|macs?|dek|kek|salt|nonce|wrapped|passcode|password|tokens?|biometrics)(_|$)`)
	keyNameRE    = regexp.MustCompile(`(^|_)keys?(_|$)`)
)

func secretName(name string) bool {
	return secretNameRE.MatchString(name) || (keyNameRE.MatchString(name) && !strings.Contains(name, "public"))
}

// withheld reports whether a cell stays out of a JSON export: a secret
// name, or a clear value that is not text (clear cells hold hashes,
// wrapped keys and signatures, which are no one's readable data) unless its
// name says "public" (signing_public).
func withheld(c Cell) bool {
	if secretName(c.Field) {
		return true
	}
	return c.Value == nil && c.Clear != nil && !readableText(c.Clear) && !strings.Contains(c.Field, "public")
}

// readableText reports whether b is UTF-8 text without control characters
// other than tab and line breaks.
func readableText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// render turns a cell's bytes into something a person can read in JSON:
// a JSON object, array or string as itself, other text as a string,
// anything else as {"base64": …}. Inside a JSON object or array, members
// with secret names (a share's "token", say) are dropped and their paths
// (path + ".member") added to withheld.
func render(b []byte, path string, withheld *[]string) any {
	if b == nil {
		return nil
	}
	if readableText(b) {
		if t := bytes.TrimSpace(b); len(t) > 0 && (t[0] == '{' || t[0] == '[' || t[0] == '"') && json.Valid(t) {
			d := json.NewDecoder(bytes.NewReader(t))
			d.UseNumber()
			var v any
			if d.Decode(&v) == nil {
				return scrub(v, path, withheld)
			}
		}
		return string(b)
	}
	return map[string]any{"base64": base64.StdEncoding.EncodeToString(b)}
}

// scrub drops the secret-named members of the objects in a decoded JSON
// value, at any depth.
func scrub(v any, path string, withheld *[]string) any {
	switch t := v.(type) {
	case map[string]any:
		for k, m := range t {
			if secretName(k) {
				delete(t, k)
				*withheld = append(*withheld, path+"."+k)
				continue
			}
			t[k] = scrub(m, path+"."+k, withheld)
		}
	case []any:
		for i, m := range t {
			t[i] = scrub(m, fmt.Sprintf("%s[%d]", path, i), withheld)
		}
	}
	return v
}

func cellBytes(c Cell) []byte {
	if c.Value != nil {
		return c.Value
	}
	return c.Clear
}

// Export exports the principal's whole profile: format "json" (the
// default) or "container", the portable encrypted form that Import
// restores, sealed under a key derived from passphrase.
func (a *ExportService) Export(ctx context.Context, p *Principal, format, passphrase string) (*Export, error) {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", ExportJSON:
		pe, err := a.exportJSON(ctx, p)
		if err != nil {
			return nil, err
		}
		return &Export{Format: ExportJSON, Profile: pe}, nil
	case ExportContainer:
		if passphrase == "" {
			return nil, errPassphraseMissing
		}
		if weakPassphrase(passphrase) {
			return nil, errWeakPassphrase
		}
		s, err := a.snapshot(ctx, p)
		if err != nil {
			return nil, err
		}
		c, err := sealContainer(s, passphrase, a.cfg.KDF, a.now())
		if err != nil {
			return nil, Internal(err)
		}
		a.cfg.Log.Info("profile exported", "user_id", p.UserID, "format", ExportContainer)
		return &Export{Format: ExportContainer, Container: c}, nil
	default:
		return nil, errExportFormat
	}
}

// weakPassphrase: shorter than 8 or longer than 1024 characters, or in the
// list of common passwords.
func weakPassphrase(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 8 || n > 1024 {
		return true
	}
	_, common := commonPasswords[strings.ToLower(s)]
	return common
}

// walk calls fn for every live entity of the user, kind by kind and id by
// id, in order.
func walk(tx Tx, fn func(kind, id string, cells map[string]Cell) error) error {
	kinds, err := tx.Kinds()
	if err != nil {
		return err
	}
	for _, k := range kinds {
		ids, err := tx.IDs(k)
		if err != nil {
			return err
		}
		for _, id := range ids {
			cells, err := tx.Entity(k, id)
			if err != nil {
				return err
			}
			if err := fn(k, id, cells); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *ExportService) exportJSON(ctx context.Context, p *Principal) (*ProfileExport, error) {
	pe := &ProfileExport{
		Format: ExportFormatName, Version: ExportFormatVersion, ExportedAt: a.now(),
		UserID: p.UserID, ProfileID: p.ProfileID,
		Fields:   map[string]map[string]any{},
		Entities: map[string]map[string]map[string]any{},
		Withheld: []string{},
	}
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		return walk(tx, func(kind, id string, cells map[string]Cell) error {
			out := map[string]any{}
			for name, c := range cells {
				switch {
				case kind == EntityField && name == "value":
					// A field's value is JSON (putField); shown as itself.
					// It is the user's own data, never scrubbed.
					if json.Valid(c.Value) {
						out[name] = json.RawMessage(c.Value)
					} else {
						out[name] = string(c.Value)
					}
				case name == "sealed" && c.Clear != nil:
					// A record a capability sealed to the user's inbox (a
					// link's opening, a grant): the user's own, opened.
					if rec, err := openInbox(p.DEK, c.Clear); err == nil {
						out["record"] = render(rec, kind+"/"+id+"/record", &pe.Withheld)
					} else {
						pe.Withheld = append(pe.Withheld, kind+"/"+id+"/"+name)
					}
				case kind == EntityShare && name == "data" && len(cells["token_hash"].Value) > 0:
					// A record beside a one-cell share's own (made by a
					// device of the user's, not by this app): the share is
					// what readShare reads, the record in token_hash.
					pe.Withheld = append(pe.Withheld, kind+"/"+id+"/"+name)
				case kind == EntityShare && name == "token_hash" && len(c.Value) > 0:
					// A share's one cell: the token's hash is withheld, its
					// record shown as a share made before 4.0.0 shows it
					// (its own "data" cell, the token in it withheld).
					pe.Withheld = append(pe.Withheld, kind+"/"+id+"/"+name)
					out["data"] = render(c.Value, kind+"/"+id+"/data", &pe.Withheld)
				case withheld(c):
					pe.Withheld = append(pe.Withheld, kind+"/"+id+"/"+name)
				default:
					out[name] = render(cellBytes(c), kind+"/"+id+"/"+name, &pe.Withheld)
				}
			}
			if kind == EntityField {
				// Keyed by the field's name (its id is a keyed hash).
				name := string(cells["name"].Value)
				delete(out, "name")
				if name == "" {
					return nil
				}
				if _, ok := out["value"]; !ok {
					out["value"] = nil
				}
				if _, ok := out["ring"]; !ok {
					out["ring"] = DefaultRing(name)
				}
				pe.Fields[name] = out
				return nil
			}
			if pe.Entities[kind] == nil {
				pe.Entities[kind] = map[string]map[string]any{}
			}
			pe.Entities[kind][id] = out
			return nil
		})
	})
	if err != nil {
		return nil, Internal(err)
	}
	if _, ok := pe.Entities[EntityEmergency]; ok {
		ec, err := a.app.EmergencyConfig(ctx, p)
		switch {
		case err != nil && AsError(err).Kind == KindNotFound: // deleted meanwhile
		case err != nil:
			return nil, err
		default:
			pe.Emergency = map[string]any{
				"access_id":        ec.AccessID,
				"emergency_info":   ec.EmergencyInfo,
				"info_field":       ec.InfoField,
				"trusted_contacts": ec.TrustedContacts,
				"criteria":         map[string]any{"responders": ec.Responders, "conditions": ec.Conditions},
			}
		}
	}
	sort.Strings(pe.Withheld)
	a.cfg.Log.Info("profile exported", "user_id", p.UserID, "format", ExportJSON)
	return pe, nil
}

// snapshot gathers everything a container holds: every cell of the user,
// the data key, and the account's identity and key-login public key.
func (a *ExportService) snapshot(ctx context.Context, p *Principal) (*snapshot, error) {
	acct, err := a.store.Account(ctx, p.UserID)
	if err != nil {
		return nil, Internal(err)
	}
	s := &snapshot{UserID: p.UserID, ProfileID: acct.ProfileID, DEK: p.DEK, CreatedAt: acct.CreatedAt}
	if acct.LoginKey != nil {
		if s.LoginKey, err = crypto.Open(a.store.InstallationKey(), acct.LoginKey, []byte(purposeLoginKey+acct.UserID)); err != nil {
			return nil, Internal(fmt.Errorf("opening login key: %w", err))
		}
	}
	err = a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		for _, f := range []struct {
			name string
			to   *string
		}{{"email", &s.Email}, {"handle", &s.Handle}} {
			v, ok, err := fieldValue(tx, f.name)
			if err != nil {
				return err
			}
			if ok {
				*f.to = v.Text()
			}
		}
		return walk(tx, func(kind, id string, cells map[string]Cell) error {
			names := make([]string, 0, len(cells))
			for n := range cells {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				c := cells[n]
				sc := snapshotCell{Entity: kind, ID: id, Field: n, Sealed: c.Value != nil, Data: c.Clear}
				if sc.Sealed {
					sc.Data, sc.Clear = c.Value, c.Clear
				}
				s.Cells = append(s.Cells, sc)
			}
			return nil
		})
	})
	if err != nil {
		return nil, Internal(err)
	}
	return s, nil
}

// Imported names the account an import created.
type Imported struct {
	UserID    string
	ProfileID string
	Email     string // the e-mail the new account signs in with
}

// Import restores a container (raw, base64, or the export's JSON answer:
// see DecodeContainer) on this device as a working account: the same user
// and profile ids, data key and cells (each written through Tx, so the op
// log holds them), a new sign-in record whose password is password, and the
// e-mail and handle found under this device's installation key. It refuses
// a profile, e-mail or handle that already exists here.
func (a *ExportService) Import(ctx context.Context, container []byte, passphrase, password string) (*Imported, error) {
	if len(container) == 0 {
		return nil, E(KindInvalid, "missing_parameter", "container must exist!")
	}
	if passphrase == "" {
		return nil, errPassphraseMissing
	}
	if password == "" {
		return nil, E(KindInvalid, "missing_parameter", "password must exist!")
	}
	raw, err := DecodeContainer(container)
	if err != nil {
		return nil, err
	}
	s, err := openContainer(raw, passphrase, maxContainerKDFMemory)
	if err != nil {
		return nil, err
	}
	if !ValidEmail(s.Email) {
		return nil, errImportNoEmail
	}
	if weakPassword(password, s.Email, s.Handle) {
		return nil, errWeakPassword
	}
	if _, err := a.store.Account(ctx, s.UserID); err == nil {
		return nil, errProfileExists
	} else if !errors.Is(err, ErrNotFound) {
		return nil, Internal(err)
	}
	acct := &Account{UserID: s.UserID, ProfileID: s.ProfileID, EmailMAC: a.emailMAC(s.Email), CreatedAt: a.now()}
	if _, err := a.store.AccountByEmail(ctx, acct.EmailMAC); err == nil {
		return nil, errEmailExists
	} else if !errors.Is(err, ErrNotFound) {
		return nil, Internal(err)
	}
	if s.Handle != "" {
		acct.HandleMAC = a.handleMAC(s.Handle) // handles repeat: never refused
	}
	kdf, err := crypto.NewKDFParams(a.cfg.KDF)
	if err != nil {
		return nil, Internal(err)
	}
	pwKey, err := deriveKey(ctx, []byte(password), kdf)
	if err != nil {
		return nil, Internal(err)
	}
	acct.KDF = kdf.String()
	if err := a.accountKeys(acct, s.DEK, pwKey, s.LoginKey); err != nil {
		return nil, Internal(err)
	}
	err = a.store.CreateAccount(ctx, acct, s.DEK, func(tx Tx) error {
		for _, c := range s.Cells {
			cell := Cell{Entity: c.Entity, ID: c.ID, Field: c.Field}
			if c.Sealed {
				cell.Value = c.Data
				if cell.Value == nil {
					cell.Value = []byte{}
				}
				cell.Clear = c.Clear
			} else {
				cell.Clear = c.Data
			}
			if err := tx.Put(cell); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrExists) {
		return nil, errProfileExists
	}
	if errors.Is(err, ErrTaken) {
		a.cfg.Log.Warn("import refused: the container holds a token another account owns", "user_id", s.UserID)
		return nil, errTaken
	}
	if err != nil {
		return nil, Internal(err)
	}
	// Emergency access needs its key wrapped under this device's
	// installation key: done now, so that it works before the user first
	// signs in here. The account is made already; a failure here is
	// repaired by the next unlock and does not undo the import.
	if err := a.app.UnlockEmergency(ctx, &Principal{UserID: acct.UserID, ProfileID: acct.ProfileID, DEK: s.DEK}); err != nil {
		a.cfg.Log.Warn("emergency access not yet usable after import", "user_id", acct.UserID, "err", AsError(err).Err)
	}
	a.cfg.Log.Info("profile imported", "user_id", acct.UserID, "cells", len(s.Cells))
	return &Imported{UserID: acct.UserID, ProfileID: acct.ProfileID, Email: s.Email}, nil
}
