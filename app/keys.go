package app

import "github.com/secure-personal-profile/spp/crypto"

// Key purposes: every label the domain derives a key under, wraps a key
// under, or binds a sealed value to, in one table (as filippo.io/age names
// its labels). A label never changes meaning: data sealed under it would
// no longer open. Those that end in "/" take the user id (and, for the
// emergency key, the access id) after them. The crypto package's own
// labels (crypto.TokenKey, the token box) and the store's associated data
// (cells, outbox, the log) are theirs.
const (
	purposePassword     = "dek/password/"  // the data key under the password's Argon2id key
	purposeSession      = "dek/session"    // the data key under a session token's key
	purposeKeyLogin     = "dek/key-login/" // the data key under the installation key, for key login
	purposeSync         = "dek/sync/"      // the data key under the installation key, for background sync
	purposeLoginKey     = "login-key/"     // associated data of the sealed key-login public key
	purposeEmergencyKey = "emergency-key/" // the emergency key under the installation key (+ user/access)
	purposeSigningKey   = "signing-key/"   // the profile's signing key under the installation key
	purposeNameID       = "name-id"        // the key of entity ids named by the user (nameID)
	purposeInbox        = "inbox"          // the inbox key pair's secret, from the data key
	purposeView         = "capability-view"
	purposeViewPasscode = "capability-view-passcode"
)

// accountKeys fills an account's wrapped keys: the data key under the
// password's key and, when the user logs in with a key (loginKey, an
// Ed25519 public key), the key sealed and a data key copy wrapped under
// this device's installation key. Register, Import and Join make
// accounts with it.
func (a *core) accountKeys(acct *Account, dek, pwKey, loginKey []byte) error {
	if pwKey != nil {
		w, err := crypto.Wrap(pwKey, dek, purposePassword+acct.UserID)
		if err != nil {
			return err
		}
		acct.WrappedDEK = w
	}
	if loginKey == nil {
		return nil
	}
	var err error
	if acct.LoginKey, err = crypto.Seal(a.store.InstallationKey(), loginKey, []byte(purposeLoginKey+acct.UserID)); err != nil {
		return err
	}
	acct.KeyWrappedDEK, err = crypto.Wrap(a.store.InstallationKey(), dek, purposeKeyLogin+acct.UserID)
	return err
}
