package httpapi

import (
	"bytes"
	"encoding/json"
	"html"
	"html/template"
	"sort"
	"strings"
)

// valueHTML renders a JSON value for a person to read: a string as text,
// an object as a definition list, an array as a list, anything else as its
// JSON text. Every piece of text is escaped; nothing is taken as markup.
func valueHTML(raw json.RawMessage) template.HTML {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if len(raw) == 0 || d.Decode(&v) != nil {
		return template.HTML(html.EscapeString(string(raw)))
	}
	var b bytes.Buffer
	writeValueHTML(&b, v, 0)
	return template.HTML(b.String())
}

func writeValueHTML(b *bytes.Buffer, v any, depth int) {
	if depth > 16 {
		b.WriteString(`<span class="muted">…</span>`)
		return
	}
	switch t := v.(type) {
	case nil:
		b.WriteString(`<span class="muted">not set</span>`)
	case string:
		b.WriteString(html.EscapeString(t))
	case bool:
		if t {
			b.WriteString("yes")
		} else {
			b.WriteString("no")
		}
	case json.Number:
		b.WriteString(html.EscapeString(t.String()))
	case []any:
		if len(t) == 0 {
			b.WriteString(`<span class="muted">none</span>`)
			return
		}
		b.WriteString("<ul>")
		for _, e := range t {
			b.WriteString("<li>")
			writeValueHTML(b, e, depth+1)
			b.WriteString("</li>")
		}
		b.WriteString("</ul>")
	case map[string]any:
		if len(t) == 0 {
			b.WriteString(`<span class="muted">none</span>`)
			return
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<dl>")
		for _, k := range keys {
			b.WriteString("<dt>" + html.EscapeString(k) + "</dt><dd>")
			writeValueHTML(b, t[k], depth+1)
			b.WriteString("</dd>")
		}
		b.WriteString("</dl>")
	default: // json.Decoder gives no other type
		b.WriteString("?")
	}
}

type claimRow struct {
	Name  string
	Value template.HTML
}

// claimRows lists claims (or fields) by name for a page.
func claimRows(m map[string]json.RawMessage) []claimRow {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	rows := make([]claimRow, 0, len(names))
	for _, k := range names {
		rows = append(rows, claimRow{Name: strings.ReplaceAll(k, "_", " "), Value: valueHTML(m[k])})
	}
	return rows
}
