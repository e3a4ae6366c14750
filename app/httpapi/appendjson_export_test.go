package httpapi

// AppendedJSON is the JSON an answer appends itself (false: it has no
// appender, encoding/json writes it).
func AppendedJSON(body any) ([]byte, bool) { return appendAnswer(nil, body) }
