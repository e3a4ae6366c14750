package app

// caches are what the app keeps in memory between requests to spare a
// store round trip or a key unwrap. None holds anything that can change
// under it: a capability's state and view are read from the store on
// every request; what is cached is each profile's parsed signing key and,
// within one second, a credential for the same value (issuer.go).
type caches struct {
	issuers issuers
	creds   credentials
	urls    urlCache // each user's public URL setting (settings.go)
}
