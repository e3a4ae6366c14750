package app

import (
	"encoding/json"
	"strconv"
	"time"
)

// JSON appended without reflection, for the few fixed shapes every share
// and verification writes (a credential's payload, a share's record and
// view, the share-create answer): encoding/json's reflection and its map
// of the subject were a tenth of a share's CPU. The output is
// encoding/json's, byte for byte (TestAppendJSONIsEncodingJSONs): what
// needs no escaping is copied, anything else goes to encoding/json.

// jsonPlain reports whether encoding/json writes s between quotes as it
// is: printable ASCII, none of `"` `\` and the HTML characters it
// escapes (<, >, &).
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// AppendJSONString appends s as encoding/json writes a string.
func AppendJSONString(b []byte, s string) []byte {
	if jsonPlain(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// AppendJSONRaw appends a JSON value as encoding/json writes a
// json.RawMessage (compacted, HTML characters escaped); an invalid one is
// encoding/json's error.
func AppendJSONRaw(b []byte, v json.RawMessage) ([]byte, error) {
	if len(v) > 0 && rawPlain(v) && json.Valid(v) {
		return append(b, v...), nil
	}
	q, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, q...), nil
}

// rawPlain reports whether a valid JSON value is already as encoding/json
// writes it: no white space between its tokens to compact, nothing to
// escape (HTML characters, anything beyond ASCII).
func rawPlain(v []byte) bool {
	inString, escaped := false, false
	for _, c := range v {
		switch {
		case c >= 0x80 || c == '<' || c == '>' || c == '&':
			return false
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c <= ' ':
			return false
		}
	}
	return true
}

// appendJSONKey appends a member's name (plain ASCII, a Go constant) and
// its colon, after a comma unless it is the object's first.
func appendJSONKey(b []byte, key string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendJSONInt appends an integer member.
func appendJSONInt(b []byte, key string, n int64) []byte {
	return strconv.AppendInt(appendJSONKey(b, key), n, 10)
}

// appendJSONField appends a string member.
func appendJSONField(b []byte, key, s string) []byte {
	return AppendJSONString(appendJSONKey(b, key), s)
}

// appendJSONTime appends a time member as encoding/json writes a
// time.Time (RFC 3339 with nanoseconds; an error for a year it cannot
// write).
func appendJSONTime(b []byte, key string, t time.Time) ([]byte, error) {
	b = append(appendJSONKey(b, key), '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}
