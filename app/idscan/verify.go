package idscan

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Verification statuses.
const (
	StatusVerified = "verified"
	StatusExpired  = "expired"
	StatusFailed   = "failed"
)

// Verification is the outcome of Verify.
type Verification struct {
	Status   string   // "verified", "expired" or "failed"
	Problems []string // why it failed (or when it expired); empty when verified
}

// Verify checks a parsed licence: header and subfile structure, a known
// issuer IIN, the required elements, sane dates and, when profileName is not
// empty, that the holder's first and last names match it (ignoring case,
// spacing, punctuation and accents). The status is "failed" if any of those
// checks fails, else "expired" if the expiry date is before now's date, else
// "verified".
func Verify(l *License, now time.Time, profileName string) Verification {
	if l == nil {
		return Verification{Status: StatusFailed, Problems: []string{"no AAMVA data"}}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// Header and structure.
	for _, d := range l.Defects {
		add("structure: %s", d)
	}
	if l.AAMVAVersion < 1 || l.AAMVAVersion > 10 {
		if !hasPrefixIn(l.Defects, "unsupported AAMVA version") {
			add("structure: unsupported AAMVA version %02d", l.AAMVAVersion)
		}
	}
	if l.DocumentType != "DL" && l.DocumentType != "ID" {
		if !hasPrefixIn(l.Defects, "no DL or ID subfile") {
			add("structure: no DL or ID subfile")
		}
	}
	if _, ok := LookupIIN(l.IIN); !ok {
		add("issuer IIN %q is not a known jurisdiction", l.IIN)
	}

	// Required elements.
	has := func(id string) bool { return clean(l.Elements[id]) != "" }
	if !has("DAQ") {
		add("missing element DAQ (document number)")
	}
	if l.AAMVAVersion == 1 {
		if !has("DCS") && !has("DAB") && !has("DAA") {
			add("missing element DAA/DAB/DCS (name)")
		}
		if !has("DAC") && !has("DCT") && !has("DAA") {
			add("missing element DAA/DAC (given name)")
		}
	} else {
		if !has("DCS") {
			add("missing element DCS (family name)")
		}
		if !has("DAC") && !has("DCT") {
			add("missing element DAC or DCT (first name)")
		}
	}
	if !has("DBB") {
		add("missing element DBB (date of birth)")
	}
	if !has("DBA") {
		add("missing element DBA (expiry date)")
	}
	if !has("DBD") {
		add("missing element DBD (issue date)")
	}

	// Dates.
	today := civil(now)
	if has("DBB") && l.DateOfBirth.IsZero() {
		add("date of birth %q is not a valid date", clean(l.Elements["DBB"]))
	}
	if has("DBD") && l.IssueDate.IsZero() {
		add("issue date %q is not a valid date", clean(l.Elements["DBD"]))
	}
	if has("DBA") && l.ExpiryDate.IsZero() && !l.NonExpiring {
		add("expiry date %q is not a valid date", clean(l.Elements["DBA"]))
	}
	if !l.DateOfBirth.IsZero() && !l.DateOfBirth.Before(today) {
		add("date of birth %s is not in the past", day(l.DateOfBirth))
	}
	if !l.IssueDate.IsZero() && !l.ExpiryDate.IsZero() && l.IssueDate.After(l.ExpiryDate) {
		add("issue date %s is after expiry date %s", day(l.IssueDate), day(l.ExpiryDate))
	}
	if !l.IssueDate.IsZero() && l.IssueDate.After(today.AddDate(0, 0, 1)) {
		add("issue date %s is in the future", day(l.IssueDate))
	}
	if !l.DateOfBirth.IsZero() && !l.IssueDate.IsZero() && l.DateOfBirth.After(l.IssueDate) {
		add("date of birth %s is after issue date %s", day(l.DateOfBirth), day(l.IssueDate))
	}

	// Name.
	if strings.TrimSpace(profileName) != "" && !NameMatches(l, profileName) {
		add("name on the document does not match the profile name")
	}

	if len(problems) > 0 {
		return Verification{Status: StatusFailed, Problems: problems}
	}
	if !l.NonExpiring && !l.ExpiryDate.IsZero() && l.ExpiryDate.Before(today) {
		return Verification{Status: StatusExpired, Problems: []string{"document expired on " + day(l.ExpiryDate)}}
	}
	return Verification{Status: StatusVerified}
}

func hasPrefixIn(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// civil returns now's calendar date as midnight UTC, comparable with the
// parsed licence dates.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func day(t time.Time) string { return t.Format("2006-01-02") }

// NameMatches reports whether profileName names the licence holder: first
// and last name in either order, optionally with the middle name(s), compared
// without regard to case, spacing, punctuation or accents.
func NameMatches(l *License, profileName string) bool {
	if l == nil {
		return false
	}
	first, middle, last := normName(l.FirstName), normName(l.MiddleName), normName(l.LastName)
	if first == "" || last == "" {
		return false
	}
	p := normName(profileName)
	if p == "" {
		return false
	}
	candidates := []string{first + last, last + first}
	if middle != "" {
		candidates = append(candidates, first+middle+last, last+first+middle)
		// Initial of the middle name.
		candidates = append(candidates, first+string([]rune(middle)[:1])+last)
	}
	for _, c := range candidates {
		if p == c {
			return true
		}
	}
	return false
}

// normName lower-cases a name, folds common Latin accents and drops every
// character that is not a letter or digit (spaces, hyphens, apostrophes,
// commas, periods).
func normName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if f, ok := accentFold[r]; ok {
			b.WriteString(f)
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var accentFold = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ð': "d", 'þ': "th", 'ł': "l"}
	groups := map[string]string{
		"a": "àáâãäåāăą", "c": "çćĉċč", "d": "ď", "e": "èéêëēĕėęě", "g": "ĝğġģ",
		"h": "ĥ", "i": "ìíîïĩīĭįı", "j": "ĵ", "k": "ķ", "l": "ĺļľ", "n": "ñńņňŉ",
		"o": "òóôõöōŏő", "r": "ŕŗř", "s": "śŝşšș", "t": "ţťț", "u": "ùúûüũūŭůűų",
		"w": "ŵ", "y": "ýÿŷ", "z": "źżž",
	}
	for base, accented := range groups {
		for _, r := range accented {
			m[r] = base
		}
	}
	return m
}()

// MaskedNumber returns the document number with everything but its last four
// characters replaced by "••••" (a fixed-width mask, so the length is not
// revealed). Numbers of four characters or fewer show only their last half.
func (l *License) MaskedNumber() string {
	if l == nil {
		return ""
	}
	r := []rune(strings.TrimSpace(l.DocumentNumber))
	if len(r) == 0 {
		return ""
	}
	visible := 4
	if len(r) <= 4 {
		visible = len(r) / 2
	}
	return "••••" + string(r[len(r)-visible:])
}
