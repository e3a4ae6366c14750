package app

import "strconv"

// MaxJSONDepth caps how deeply a JSON value may nest arrays and objects,
// in a parameter and in anything stored: every reader (encoding/json
// gives up at 10,000 levels, most clients' parsers near 1,000) can read
// what is kept.
const MaxJSONDepth = 64

// JSONDepth returns how deeply b nests arrays and objects: 0 for a
// scalar, 1 for [] or {"a":1}, 2 for [[]]. It scans once with a counter,
// never recursing, so any input is safe (brackets inside strings do not
// count); b need not be valid JSON. It stops counting past limit (a
// limit of 0 or less means none) and returns limit+1.
func JSONDepth(b []byte, limit int) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > deepest {
				deepest = depth
				if limit > 0 && deepest > limit {
					return limit + 1
				}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return deepest
}

// TooDeep is the error for a JSON value named name (a parameter, or what
// it sets) nested deeper than MaxJSONDepth.
func TooDeep(name string) *Error {
	return E(KindInvalid, "too_deep", name+" is nested too deeply (at most "+strconv.Itoa(MaxJSONDepth)+" levels)!")
}

// checkDepth refuses a JSON value nested deeper than MaxJSONDepth: every
// write of a JSON value the user gives (profile fields, emergency
// information, health records, the public profile, …) passes here, from
// the HTTP API and the GUI alike.
func checkDepth(name string, v []byte) error {
	if JSONDepth(v, MaxJSONDepth) > MaxJSONDepth {
		return TooDeep(name)
	}
	return nil
}
