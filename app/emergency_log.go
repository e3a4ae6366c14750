package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// The emergency access log: a hash chain per user, kept on the device that
// answered (docs/security.md "Emergency access").

// EmergencyLogRecord is one entry of a user's emergency access log as a
// store keeps it (device-local, never synced): the entry sealed under the
// installation key, with the chain's hashes in clear.
type EmergencyLogRecord struct {
	UserID   string
	Seq      int64
	At       time.Time
	Sealed   []byte
	PrevHash []byte
	Hash     []byte
}

// EmergencyLogEntry is one attempt as the log holds it.
type EmergencyLogEntry struct {
	LogID                 string    `json:"log_id"`
	Seq                   int64     `json:"seq"`
	At                    time.Time `json:"at"`
	ResponderID           string    `json:"responder_id"`
	ResponderName         string    `json:"responder_name,omitempty"`
	ResponderOrganization string    `json:"responder_organization,omitempty"`
	Verified              bool      `json:"responder_verified"`
	Reason                string    `json:"reason"`
	Condition             string    `json:"condition,omitempty"` // the person's condition the responder confirmed
	Client                string    `json:"client"`
	Via                   string    `json:"via"` // api | page | device (the lock screen)
	Outcome               string    `json:"outcome"`
	Salt                  string    `json:"salt"` // random: the hash confirms no guess of the content
	// Filled when listing, not part of the hashed body.
	PrevHash   string `json:"-"`
	Hash       string `json:"-"`
	Unreadable bool   `json:"-"`
}

// logGenesis is the prev_hash of a log's first entry.
var logGenesis = make([]byte, sha256.Size)

// logHash is the chain's link: SHA-256 over a domain tag, the previous
// entry's hash and the entry's exact JSON body.
func logHash(prev, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte("spp/emergency-log/v1\x00"))
	h.Write(prev)
	h.Write(body)
	return h.Sum(nil)
}

func logAD(userID string, seq int64) []byte {
	return fmt.Appendf(nil, "emergency-log\x00%s\x00%d", userID, seq)
}

// logAttempt appends an attempt to the user's log. A rate-limited attempt
// right after another rate-limited one is not appended again, so that a
// flood cannot grow the log without bound (the rate limit counts it).
func (a *EmergencyService) logAttempt(ctx context.Context, at attempt, outcome string) (*EmergencyLogEntry, error) {
	var out *EmergencyLogEntry
	key := a.store.InstallationKey()
	err := a.store.AppendEmergencyLog(ctx, at.userID, func(last *EmergencyLogRecord) (*EmergencyLogRecord, error) {
		prev, seq := logGenesis, int64(1)
		if last != nil {
			prev, seq = last.Hash, last.Seq+1
			if outcome == OutcomeRateLimited {
				if b, err := crypto.Open(key, last.Sealed, logAD(at.userID, last.Seq)); err == nil {
					var e EmergencyLogEntry
					if json.Unmarshal(b, &e) == nil && e.Outcome == OutcomeRateLimited {
						return nil, nil
					}
				}
			}
		}
		salt, err := crypto.NewToken()
		if err != nil {
			return nil, err
		}
		e := &EmergencyLogEntry{
			LogID: NewID(), Seq: seq, At: a.now().Truncate(time.Millisecond),
			ResponderID: at.responderID, Reason: at.reason, Condition: at.condition, Client: at.client, Via: at.via,
			Outcome: outcome, Salt: salt[:22],
		}
		if r := at.responder; r != nil {
			e.Verified, e.ResponderName, e.ResponderOrganization = true, r.Name, r.Organization
		}
		body, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		sealed, err := crypto.Seal(key, body, logAD(at.userID, seq))
		if err != nil {
			return nil, err
		}
		out = e
		return &EmergencyLogRecord{UserID: at.userID, Seq: seq, At: e.At, Sealed: sealed, PrevHash: prev, Hash: logHash(prev, body)}, nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	return out, nil
}

// EmergencyLog is a user's log as listed: the entries, oldest first, and
// whether the hash chain verifies.
type EmergencyLog struct {
	Entries  []*EmergencyLogEntry
	Verified bool
	BrokenAt int64 // the first entry where the chain fails; 0 when it verifies
	// Grants are the grants of every device of the user (synced), newest
	// first: this device's log holds only the attempts it answered.
	Grants []map[string]string
}

// EmergencyLog lists the principal's emergency access log and checks its
// chain: each entry must open, hash to its stored hash, carry the previous
// entry's hash and follow it in sequence.
func (a *EmergencyService) EmergencyLog(ctx context.Context, p *Principal) (*EmergencyLog, error) {
	if err := a.UnlockEmergency(ctx, p); err != nil {
		return nil, err
	}
	recs, err := a.store.EmergencyLog(ctx, p.UserID)
	if err != nil {
		return nil, Internal(err)
	}
	out := &EmergencyLog{Verified: true, Entries: []*EmergencyLogEntry{}}
	fail := func(seq int64) {
		if out.Verified {
			out.Verified, out.BrokenAt = false, seq
		}
	}
	prev := logGenesis
	for i, r := range recs {
		e := &EmergencyLogEntry{Seq: r.Seq, At: r.At, PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash)}
		if r.Seq != int64(i+1) || !crypto.Equal(r.PrevHash, prev) {
			fail(r.Seq)
		}
		body, err := crypto.Open(a.store.InstallationKey(), r.Sealed, logAD(p.UserID, r.Seq))
		if err != nil || json.Unmarshal(body, e) != nil {
			e.Unreadable = true
			fail(r.Seq)
		} else if !crypto.Equal(logHash(r.PrevHash, body), r.Hash) || e.Seq != r.Seq || !e.At.Equal(r.At) {
			fail(r.Seq)
		}
		e.Seq, e.At = r.Seq, r.At // the stored columns, as listed
		out.Entries = append(out.Entries, e)
		prev = r.Hash
	}
	err = a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		ids, err := tx.IDs(EntityEmergencyGrant)
		if err != nil {
			return err
		}
		for _, id := range ids {
			cells, err := tx.Entity(EntityEmergencyGrant, id)
			if err != nil {
				return err
			}
			raw := cells["record"].Value // older grants: sealed under the data key
			if c, ok := cells["sealed"]; ok {
				if raw, err = openInbox(p.DEK, c.Clear); err != nil {
					continue // not sealed to this profile's inbox: never shown
				}
			}
			g := map[string]string{}
			if raw != nil {
				if err := json.Unmarshal(raw, &g); err != nil {
					return fmt.Errorf("emergency grant %s: %w", id, err)
				}
			}
			g["log_id"] = id
			out.Grants = append(out.Grants, g)
		}
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	sort.SliceStable(out.Grants, func(i, j int) bool {
		ti, _ := time.Parse(time.RFC3339Nano, out.Grants[i]["at"])
		tj, _ := time.Parse(time.RFC3339Nano, out.Grants[j]["at"])
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return out.Grants[i]["log_id"] > out.Grants[j]["log_id"]
	})
	return out, nil
}
