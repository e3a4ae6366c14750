package httpapi_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestEveryAnswerMatchesItsSchema holds every answer of the drive
// (driveEveryRoute: every route and method, to success and through its
// errors) to the OpenAPI document the server serves, whose response
// schemas are generated from the answer types: the answer's media type
// is one the document lists for its status; a JSON answer has every
// member the schema requires, no member it does not list, and values of
// the listed types, all the way down.
func TestEveryAnswerMatchesItsSchema(t *testing.T) {
	rec, routes, doc := driveEveryRoute(t)
	v := &validator{doc: doc}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	checked := map[[2]string]bool{}
	keys := make([]answer, 0, len(rec.bodies))
	for a := range rec.bodies {
		keys = append(keys, a)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, a := range keys {
		op, ok := v.at("paths", strings.TrimPrefix(a.pattern, "/api/v1"), strings.ToLower(a.method)).(map[string]any)
		if !ok {
			continue // a method the route does not answer (405, 421): TestEveryAnswerIsDocumented
		}
		res, _ := v.at2(op, "responses", strconv.Itoa(a.status)).(map[string]any)
		if res == nil {
			t.Errorf("%s %s answered %d, which the document does not list", a.method, a.pattern, a.status)
			continue
		}
		content, _ := res["content"].(map[string]any)
		for text, b := range rec.bodies[a] {
			where := fmt.Sprintf("%s %s %d (e.g. %s)", a.method, a.pattern, a.status, b.example)
			media, ok := mediaIn(content, b.mediaType)
			if !ok {
				t.Errorf("%s: answered %s; the document lists %v", where, b.mediaType, slices.Sorted(maps.Keys(content)))
				continue
			}
			if b.mediaType != "application/json" {
				continue
			}
			schema, _ := media["schema"].(map[string]any)
			if schema == nil {
				t.Errorf("%s: a JSON answer with no schema in the document", where)
				continue
			}
			_, body, _ := strings.Cut(text, " ")
			var got any
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			for _, p := range v.check(got, schema, "") {
				t.Errorf("%s: %s\n%.300s", where, p, body)
			}
			if a.status < 300 {
				checked[[2]string{a.pattern, a.method}] = true
			}
		}
	}
	// Every operation's success was held to its schema.
	for _, rt := range routes {
		for _, m := range rt.Methods {
			if rt.Doc.Content == "" && !checked[[2]string{rt.Path, m}] {
				t.Errorf("%s %s: no JSON success was checked against the document", m, rt.Path)
			}
		}
	}
}

// mediaIn finds media type mt in a response's content, also under a
// wildcard such as image/*.
func mediaIn(content map[string]any, mt string) (map[string]any, bool) {
	for k, v := range content {
		if ok, _ := path.Match(k, mt); ok || k == mt {
			m, _ := v.(map[string]any)
			return m, true
		}
	}
	return nil, false
}

// validator checks JSON values against the document's schemas: the
// subset of JSON Schema the generator writes ($ref, anyOf, const, type,
// properties, required, additionalProperties, items).
type validator struct{ doc map[string]any }

func (v *validator) at(keys ...string) any { return v.at2(v.doc, keys...) }

func (v *validator) at2(m any, keys ...string) any {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}

// check returns what is wrong with value x under schema s, at where.
func (v *validator) check(x any, s map[string]any, where string) []string {
	if ref, ok := s["$ref"].(string); ok {
		target, _ := v.at(strings.Split(strings.TrimPrefix(ref, "#/"), "/")...).(map[string]any)
		if target == nil {
			return []string{where + ": unresolved " + ref}
		}
		return v.check(x, target, where)
	}
	if branches, ok := s["anyOf"].([]any); ok {
		var all []string
		for _, b := range branches {
			bs, _ := b.(map[string]any)
			p := v.check(x, bs, where)
			if len(p) == 0 {
				return nil
			}
			all = append(all, p...)
		}
		return []string{fmt.Sprintf("%s: matches none of anyOf (%s)", orTop(where), strings.Join(all, "; "))}
	}
	if c, ok := s["const"]; ok && x != c {
		return []string{fmt.Sprintf("%s: %v, the document says %v", orTop(where), x, c)}
	}
	if want, ok := s["type"]; ok {
		types := []any{want}
		if list, ok := want.([]any); ok {
			types = list
		}
		got := jsonType(x)
		if !slices.ContainsFunc(types, func(t any) bool { return t == got || (t == "number" && got == "integer") }) {
			return []string{fmt.Sprintf("%s: a %s, the document says %v", orTop(where), got, want)}
		}
	}
	var out []string
	switch x := x.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := x[r]; !ok {
				out = append(out, fmt.Sprintf("%s: required member %q is missing", orTop(where), r))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if ps, ok := props[k].(map[string]any); ok {
				out = append(out, v.check(x[k], ps, where+"."+k)...)
				continue
			}
			switch extra := s["additionalProperties"].(type) {
			case bool:
				if !extra {
					out = append(out, fmt.Sprintf("%s: member %q is not in the document", orTop(where), k))
				}
			case map[string]any:
				out = append(out, v.check(x[k], extra, where+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				out = append(out, v.check(e, items, fmt.Sprintf("%s[%d]", where, i))...)
			}
		}
	}
	return out
}

func orTop(where string) string {
	if where == "" {
		return "the answer"
	}
	return strings.TrimPrefix(where, ".")
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func jsonType(x any) string {
	switch x := x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "?"
}
