package idscan

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxPayload bounds the AAMVA payloads ParseAAMVA accepts. A PDF417 symbol
// holds at most about 1.9 KB, so anything larger is not a licence.
const MaxPayload = 64 << 10

const (
	sepElement = '\n' // data element separator (LF)
	sepRecord  = 0x1e // record separator (RS)
	sepSegment = '\r' // segment terminator (CR)
)

// License holds the fields of an AAMVA DL/ID card barcode.
type License struct {
	IIN, Jurisdiction, Issuer string // issuer = jurisdiction name from the shipped IIN table

	AAMVAVersion, JurisdictionVersion int
	DocumentType                      string // "DL" or "ID"

	FirstName, MiddleName, LastName string

	DateOfBirth, IssueDate, ExpiryDate time.Time // zero if absent
	// NonExpiring is set when the expiry date element holds the
	// "does not expire" marker (all nines or all zeros).
	NonExpiring bool

	Street, City, State, PostalCode, Country string

	DocumentNumber string // full; callers seal it
	Sex            string // "M", "F", "X" or the raw value

	Elements map[string]string // every element id -> raw value, for all subfiles (DL, ID, Z*)
	Subfiles []Subfile

	// Defects lists structural problems found while parsing (a malformed
	// directory, a subfile that cannot be found, ...). The data around them
	// was still read where possible, but Verify fails a licence with defects.
	Defects []string
	// Warnings lists irregularities that were tolerated because the data was
	// unambiguous (offsets off by one, missing terminator, ...).
	Warnings []string

	canadian bool
}

// Subfile is one subfile of the payload: its type ("DL", "ID", "ZC", ...)
// and where it was actually found — offset of its type prefix (or of its
// first element when it has none) and length up to and including its
// segment terminator. These may differ from the directory's declared values
// on cards with the usual offset quirks.
type Subfile struct {
	Type           string
	Offset, Length int
}

type dirEntry struct {
	typ            string
	offset, length int
}

// ParseAAMVA parses an AAMVA DL/ID card payload (versions 1 to 10). A payload
// whose header is not AAMVA yields an error wrapping ErrNotAAMVA with the
// precise reason. Tolerated irregularities are reported in License.Warnings;
// structural problems that do not prevent reading are in License.Defects.
func ParseAAMVA(payload []byte) (*License, error) {
	p := &parser{data: payload, lic: &License{Elements: map[string]string{}}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.lic, nil
}

type parser struct {
	data []byte
	lic  *License
}

func notAAMVA(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotAAMVA, fmt.Sprintf(format, args...))
}

func (p *parser) warn(format string, args ...any) {
	if len(p.lic.Warnings) < 32 {
		p.lic.Warnings = append(p.lic.Warnings, fmt.Sprintf(format, args...))
	}
}

func (p *parser) defect(format string, args ...any) {
	if len(p.lic.Defects) < 32 {
		p.lic.Defects = append(p.lic.Defects, fmt.Sprintf(format, args...))
	}
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func atoiDigits(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func isUpperDigit(c byte) bool { return isUpper(c) || (c >= '0' && c <= '9') }

// isElementID reports whether b starts with something shaped like an AAMVA
// element id: three upper-case characters, the last possibly a digit.
func isElementID(b []byte) bool {
	return len(b) >= 3 && isUpper(b[0]) && isUpper(b[1]) && isUpperDigit(b[2])
}

// isSubfileType reports whether b starts with a subfile type: "DL", "ID" or a
// jurisdiction-specific "Z?".
func isSubfileType(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	s := string(b[:2])
	return s == "DL" || s == "ID" || (b[0] == 'Z' && isUpper(b[1]))
}

// elementFits reports whether an element id can open a subfile of type
// typ: "D.." elements in DL and ID subfiles, "Z.." in jurisdiction ones.
func elementFits(typ string, id []byte) bool {
	if !isElementID(id) || len(typ) == 0 {
		return false
	}
	if typ[0] == 'Z' {
		return id[0] == 'Z'
	}
	return id[0] == 'D'
}

// isSubfileHead reports whether b starts with a subfile type followed by a
// fitting element id, e.g. "DLDAQ" or "ZCZCA".
func isSubfileHead(b []byte) bool {
	return len(b) >= 5 && isSubfileType(b) && elementFits(string(b[:2]), b[2:])
}

// startsBareSubfile reports whether b starts with a DL or ID subfile head.
func startsBareSubfile(b []byte) bool {
	return isSubfileHead(b) && (string(b[:2]) == "DL" || string(b[:2]) == "ID")
}

// findTerminator returns the index of the segment terminator (CR) in
// d[from:limit], or -1. A CR directly followed by LF and another element is
// an element separator written as CR LF, not a terminator.
func findTerminator(d []byte, from, limit int) int {
	for i := from; i < limit; i++ {
		if d[i] != sepSegment {
			continue
		}
		if i+1 < limit && d[i+1] == sepElement && isElementID(d[i+2:limit]) {
			continue
		}
		return i
	}
	return -1
}

// isDirEntry reports whether b starts with a directory entry: a subfile type
// followed by a 4-digit offset and a 4-digit length.
func isDirEntry(b []byte) bool {
	return len(b) >= 10 && isSubfileType(b) && isDigits(b[2:10])
}

func (p *parser) parse() error {
	d := p.data
	if len(d) == 0 {
		return notAAMVA("empty payload")
	}
	if len(d) > MaxPayload {
		return notAAMVA("payload of %d bytes is too large", len(d))
	}
	// Some readers prepend whitespace; nothing else may come before '@'.
	start := 0
	for start < len(d) && (d[start] == ' ' || d[start] == '\t') {
		start++
	}
	if start > 0 {
		p.warn("leading whitespace before the compliance indicator")
	}
	d = d[start:]
	if len(d) == 0 || d[0] != '@' {
		return notAAMVA("missing compliance indicator '@'")
	}
	// Separators: LF, RS, CR. Tolerate a missing or repeated one as long as
	// only control characters stand between '@' and the file type.
	i := 1
	for i < len(d) && i < 6 && d[i] < 0x20 {
		i++
	}
	seps := d[1:i]
	if len(seps) == 0 {
		return notAAMVA("missing data element separators after '@'")
	}
	if !bytes.Equal(seps, []byte{sepElement, sepRecord, sepSegment}) {
		p.warn("header separators are %q instead of LF RS CR", seps)
	}
	rest := d[i:]
	switch {
	case len(rest) >= 5 && (string(rest[:5]) == "ANSI " || string(rest[:5]) == "AAMVA"):
		rest = rest[5:]
	case len(rest) >= 5 && string(rest[:4]) == "ANSI" && isDigits(rest[4:5]):
		p.warn("file type \"ANSI\" without trailing space")
		rest = rest[4:]
	default:
		return notAAMVA("file type is neither \"ANSI \" nor \"AAMVA\"")
	}
	if len(rest) < 6 || !isDigits(rest[:6]) {
		return notAAMVA("issuer identification number is not 6 digits")
	}
	lic := p.lic
	lic.IIN = string(rest[:6])
	rest = rest[6:]
	if len(rest) < 2 || !isDigits(rest[:2]) {
		return notAAMVA("AAMVA version number is not 2 digits")
	}
	lic.AAMVAVersion = atoiDigits(rest[:2])
	rest = rest[2:]
	if lic.AAMVAVersion < 1 || lic.AAMVAVersion > 10 {
		p.defect("unsupported AAMVA version %02d", lic.AAMVAVersion)
	}
	if j, ok := LookupIIN(lic.IIN); ok {
		lic.Jurisdiction, lic.Issuer = j.Code, j.Name
		lic.canadian = j.Country == "CAN"
	}
	base := len(p.data) - len(rest) // offset of the field after the version

	// Version 1 has no jurisdiction version; later ones have two digits.
	// Some issuers get this wrong, so take whichever layout leads to a
	// well-formed directory, preferring the standard one.
	withJV := lic.AAMVAVersion >= 2
	type layout struct {
		std           bool // the layout the version prescribes
		jv, n, pos    int
		hasDirectory  bool
		bareFollowing bool
	}
	var found []layout
	for li, hasJV := range []bool{withJV, !withJV} {
		pos, jv := base, 0
		if hasJV {
			if pos+2 > len(p.data) || !isDigits(p.data[pos:pos+2]) {
				continue
			}
			jv = atoiDigits(p.data[pos : pos+2])
			pos += 2
		}
		if pos+2 > len(p.data) || !isDigits(p.data[pos:pos+2]) {
			continue
		}
		n := atoiDigits(p.data[pos : pos+2])
		pos += 2
		found = append(found, layout{
			std: li == 0, jv: jv, n: n, pos: pos,
			hasDirectory:  n > 0 && isDirEntry(p.data[pos:]),
			bareFollowing: n == 0 && startsBareSubfile(p.data[pos:]),
		})
	}
	var chosen *layout
	for i := range found { // a real directory first
		if found[i].hasDirectory {
			chosen = &found[i]
			break
		}
	}
	if chosen == nil {
		for i := range found { // then "no entries" followed by the data
			if found[i].bareFollowing {
				chosen = &found[i]
				break
			}
		}
	}
	if chosen == nil {
		// No recognisable directory: some issuers write the subfile right
		// after the header. Accept it when a "DL"/"ID" subfile with an
		// element follows the header's digits.
		pos := base
		for pos < len(p.data) && pos < base+6 && isDigits(p.data[pos:pos+1]) {
			pos++
		}
		if !p.findBareSubfiles(pos) {
			return notAAMVA("no subfile directory and no DL or ID subfile after the header")
		}
		p.finish()
		return nil
	}
	lic.JurisdictionVersion = chosen.jv
	if !chosen.std {
		if withJV {
			p.warn("version %d header lacks the jurisdiction version", lic.AAMVAVersion)
		} else {
			p.warn("version %d header carries a jurisdiction version", lic.AAMVAVersion)
		}
	}
	if !chosen.hasDirectory {
		p.warn("header declares no subfile directory")
		p.findBareSubfiles(chosen.pos)
		p.finish()
		return nil
	}
	pos := chosen.pos
	var entries []dirEntry
	for k := 0; k < chosen.n; k++ {
		if !isDirEntry(p.data[pos:]) {
			if pos >= len(p.data) {
				p.defect("subfile directory truncated: %d of %d entries present", k, chosen.n)
			} else {
				p.defect("subfile directory entry %d of %d is malformed", k+1, chosen.n)
			}
			break
		}
		e := p.data[pos : pos+10]
		entries = append(entries, dirEntry{typ: string(e[:2]), offset: atoiDigits(e[2:6]), length: atoiDigits(e[6:10])})
		pos += 10
	}
	dirEnd := pos
	p.readSubfiles(entries, dirEnd)
	p.finish()
	return nil
}

// findBareSubfiles reads subfiles that follow position pos without a
// directory: a type, elements, a terminator, and so on.
func (p *parser) findBareSubfiles(pos int) bool {
	d := p.data
	found := false
	for pos < len(d) {
		for pos < len(d) && (d[pos] == sepSegment || d[pos] == sepElement || d[pos] == ' ') {
			pos++
		}
		if !isSubfileHead(d[pos:]) || (!found && !startsBareSubfile(d[pos:])) {
			break
		}
		typ := string(d[pos : pos+2])
		end := findTerminator(d, pos, len(d))
		if end < 0 {
			end = len(d)
			p.warn("subfile %s has no segment terminator", typ)
		}
		p.addSubfile(typ, pos, end, pos+2)
		found = true
		pos = end + 1
	}
	if found {
		p.warn("no subfile directory; subfiles read in order after the header")
	}
	return found
}

// readSubfiles locates each directory entry's subfile, tolerating the usual
// offset quirks, and parses its elements.
func (p *parser) readSubfiles(entries []dirEntry, dirEnd int) {
	d := p.data
	starts := make([]int, len(entries)) // index of the first element
	heads := make([]int, len(entries))  // index of the subfile (type or first element)
	for k, e := range entries {
		starts[k], heads[k] = -1, -1
		// 1. The type at the declared offset, or a few bytes off it.
		for _, delta := range []int{0, -1, 1, -2, 2, -3, 3} {
			o := e.offset + delta
			if o < dirEnd || o+5 > len(d) {
				continue
			}
			if string(d[o:o+2]) == e.typ && elementFits(e.typ, d[o+2:]) {
				heads[k], starts[k] = o, o+2
				if delta != 0 {
					p.warn("subfile %s offset %d is off by %d", e.typ, e.offset, delta)
				}
				break
			}
		}
		if starts[k] >= 0 {
			continue
		}
		// 2. The offset points straight at the first element (no type
		// prefix, or an offset that skips it).
		for _, delta := range []int{0, 1, -1} {
			o := e.offset + delta
			if o < dirEnd || o+3 > len(d) {
				continue
			}
			if !elementFits(e.typ, d[o:]) || (isSubfileHead(d[o:]) && string(d[o:o+2]) != e.typ) {
				continue
			}
			if o == dirEnd || d[o-1] == sepSegment || d[o-1] == sepElement || string(d[o-2:o]) == e.typ {
				heads[k], starts[k] = o, o
				if o >= 2 && string(d[o-2:o]) == e.typ {
					heads[k] = o - 2
				}
				p.warn("subfile %s offset points at its first element", e.typ)
				break
			}
		}
		if starts[k] >= 0 {
			continue
		}
		// 3. Search the payload for the type followed by an element.
		from := dirEnd
		if k > 0 && starts[k-1] > from {
			from = starts[k-1]
		}
		for o := from; o+5 <= len(d); o++ {
			if string(d[o:o+2]) == e.typ && elementFits(e.typ, d[o+2:]) && (o == dirEnd || d[o-1] == sepSegment || d[o-1] == sepElement) {
				heads[k], starts[k] = o, o+2
				p.warn("subfile %s found at %d, not at its declared offset %d", e.typ, o, e.offset)
				break
			}
		}
		if starts[k] < 0 {
			p.defect("subfile %s not found (declared offset %d, length %d)", e.typ, e.offset, e.length)
		}
	}
	for k, e := range entries {
		if starts[k] < 0 {
			continue
		}
		// The subfile ends at the first terminator; failing that, where
		// the next subfile begins, its declared end, or the payload's end.
		limit := len(d)
		for j := range entries {
			if heads[j] > heads[k] && heads[j] < limit {
				limit = heads[j]
			}
		}
		end := -1
		if i := findTerminator(d, starts[k], limit); i >= 0 {
			end = i
		} else {
			declared := e.offset + e.length
			end = limit
			if declared > starts[k] && declared < limit {
				end = declared
			}
			p.warn("subfile %s has no segment terminator", e.typ)
		}
		if got := end + 1 - heads[k]; e.length != got && e.length != got-1 && e.length != got+1 {
			p.warn("subfile %s declared length %d, found %d", e.typ, e.length, got)
		}
		p.addSubfile(e.typ, heads[k], end, starts[k])
	}
}

// addSubfile records a subfile spanning [head, end) whose elements start at
// first, and parses its elements.
func (p *parser) addSubfile(typ string, head, end, first int) {
	if end < first {
		end = first
	}
	length := end - head
	if end < len(p.data) && p.data[end] == sepSegment {
		length++ // count the terminator, as the directory does
	}
	p.lic.Subfiles = append(p.lic.Subfiles, Subfile{Type: typ, Offset: head, Length: length})
	body := p.data[first:end]
	for len(body) > 0 {
		var tok []byte
		if i := bytes.IndexByte(body, sepElement); i >= 0 {
			tok, body = body[:i], body[i+1:]
		} else {
			tok, body = body, nil
		}
		tok = bytes.Trim(tok, "\r\x1e")
		if len(tok) == 0 {
			continue
		}
		if !isElementID(tok) {
			p.warn("subfile %s: skipped malformed element %q", typ, truncate(tok, 12))
			continue
		}
		id := string(tok[:3])
		if _, dup := p.lic.Elements[id]; dup {
			continue
		}
		p.lic.Elements[id] = textOf(tok[3:])
	}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// textOf converts element bytes to a string: UTF-8 if valid, else Latin-1.
func textOf(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// finish derives the typed fields from the elements.
func (p *parser) finish() {
	lic := p.lic
	for _, s := range lic.Subfiles {
		if s.Type == "DL" || s.Type == "ID" {
			lic.DocumentType = s.Type
			break
		}
	}
	if lic.DocumentType == "" {
		p.defect("no DL or ID subfile")
	}
	el := func(id string) string { return clean(lic.Elements[id]) }

	lic.DocumentNumber = el("DAQ")
	lic.LastName = el("DCS")
	lic.FirstName = el("DAC")
	lic.MiddleName = el("DAD")
	if lic.LastName == "" {
		lic.LastName = el("DAB")
	}
	if lic.FirstName == "" {
		if dct := el("DCT"); dct != "" {
			// Versions 2 and 3: given names, first and middle together.
			first, middle := splitGiven(dct)
			lic.FirstName = first
			if lic.MiddleName == "" {
				lic.MiddleName = middle
			}
		}
	}
	if daa := el("DAA"); daa != "" && (lic.LastName == "" || lic.FirstName == "") {
		last, first, middle := splitFullName(daa)
		if lic.LastName == "" {
			lic.LastName = last
		}
		if lic.FirstName == "" {
			lic.FirstName = first
		}
		if lic.MiddleName == "" {
			lic.MiddleName = middle
		}
	}

	lic.Street = el("DAG")
	if s2 := el("DAH"); s2 != "" {
		if lic.Street != "" {
			lic.Street += ", " + s2
		} else {
			lic.Street = s2
		}
	}
	lic.City = el("DAI")
	lic.State = el("DAJ")
	lic.Country = strings.ToUpper(el("DCG"))
	if lic.Country == "" {
		if j, ok := LookupIIN(lic.IIN); ok {
			lic.Country = j.Country
		}
	}
	switch lic.Country {
	case "CAN":
		lic.canadian = true
	case "USA":
		lic.canadian = false
	}
	lic.PostalCode = postalCode(el("DAK"), lic.canadian)
	lic.Sex = sexOf(el("DBC"))

	lic.DateOfBirth = p.date("DBB", "date of birth")
	lic.IssueDate = p.date("DBD", "issue date")
	if v := el("DBA"); v == "99999999" || v == "00000000" {
		lic.NonExpiring = true
	} else {
		lic.ExpiryDate = p.date("DBA", "expiry date")
	}
}

// date parses a date element. US cards use MMDDCCYY and Canadian cards
// CCYYMMDD (version 1 cards mostly CCYYMMDD too); the other order is accepted
// when the expected one does not give a valid date, since the two can't be
// confused for plausible years.
func (p *parser) date(id, what string) time.Time {
	raw, ok := p.lic.Elements[id]
	if !ok {
		return time.Time{}
	}
	v := clean(raw)
	if v == "" {
		return time.Time{}
	}
	digits := strings.Map(func(r rune) rune {
		if r == '-' || r == '/' || r == '.' || r == ' ' {
			return -1
		}
		return r
	}, v)
	ymdFirst := p.lic.canadian || p.lic.AAMVAVersion == 1
	t, ok := parseDate8(digits, ymdFirst)
	if !ok {
		if t, ok = parseDate8(digits, !ymdFirst); ok {
			p.warn("%s %q is not in the expected date order", what, v)
		}
	}
	if !ok {
		p.warn("%s %q is not a valid date", what, v)
		return time.Time{}
	}
	return t
}

func parseDate8(s string, ymd bool) (time.Time, bool) {
	if len(s) != 8 || !isDigits([]byte(s)) {
		return time.Time{}, false
	}
	var y, m, d int
	if ymd {
		y, _ = strconv.Atoi(s[:4])
		m, _ = strconv.Atoi(s[4:6])
		d, _ = strconv.Atoi(s[6:])
	} else {
		m, _ = strconv.Atoi(s[:2])
		d, _ = strconv.Atoi(s[2:4])
		y, _ = strconv.Atoi(s[4:])
	}
	if y < 1850 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // e.g. 31 April
		return time.Time{}, false
	}
	return t, true
}

// clean trims a value and maps the standard's "no data" markers to "".
func clean(v string) string {
	v = strings.Join(strings.Fields(v), " ")
	switch strings.ToUpper(v) {
	case "NONE", "UNAVL", "UNAVAIL", "UNAVAILABLE", "N/A":
		return ""
	}
	return v
}

// splitGiven splits a version 2/3 DCT value ("FIRST MIDDLE", "FIRST,MIDDLE").
func splitGiven(v string) (first, middle string) {
	v = strings.ReplaceAll(v, ",", " ")
	f := strings.Fields(v)
	if len(f) == 0 {
		return "", ""
	}
	return f[0], strings.Join(f[1:], " ")
}

// splitFullName splits a version 1 DAA value: "LAST,FIRST,MIDDLE",
// "LAST, FIRST MIDDLE" or, without commas, "LAST FIRST MIDDLE".
func splitFullName(v string) (last, first, middle string) {
	if strings.Contains(v, ",") {
		parts := strings.Split(v, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		last = parts[0]
		rest := strings.Fields(strings.Join(parts[1:], " "))
		if len(rest) > 0 {
			first = rest[0]
			middle = strings.Join(rest[1:], " ")
		}
		return last, first, middle
	}
	f := strings.Fields(v)
	switch len(f) {
	case 0:
		return "", "", ""
	case 1:
		return f[0], "", ""
	}
	return f[0], f[1], strings.Join(f[2:], " ")
}

func postalCode(v string, canadian bool) string {
	v = strings.ToUpper(strings.ReplaceAll(v, " ", ""))
	if canadian {
		if len(v) == 6 {
			return v[:3] + " " + v[3:]
		}
		return v
	}
	v = strings.ReplaceAll(v, "-", "")
	if len(v) == 9 && isDigits([]byte(v)) {
		if v[5:] == "0000" {
			return v[:5]
		}
		return v[:5] + "-" + v[5:]
	}
	return v
}

func sexOf(v string) string {
	switch strings.ToUpper(v) {
	case "1", "M":
		return "M"
	case "2", "F":
		return "F"
	case "9", "X":
		return "X"
	}
	return v
}
