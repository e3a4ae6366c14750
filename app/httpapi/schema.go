package httpapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// The OpenAPI document's response schemas are generated from the answer
// types (types.go and the app's types they hold) by reflection, following
// encoding/json's rules: a member per exported field named by its json
// tag, embedded structs flattened; a member is required unless its tag
// says omitempty or omitzero or it comes from an embedded pointer; a
// pointer, slice or map may be null. Each named struct is one component
// schema, referenced by name. A type with a MarshalJSON of its own must
// be known here (its JSON is not its fields): any other is refused.

// schemas collects the component schemas of the types met.
type schemas struct {
	defs  map[string]any
	named map[string]reflect.Type // component name → its type, to catch two types of one name
}

func newSchemas() *schemas {
	return &schemas{defs: map[string]any{}, named: map[string]reflect.Type{}}
}

var (
	typeSuccess      = reflect.TypeFor[Success]()
	typeTime         = reflect.TypeFor[time.Time]()
	typeRawMessage   = reflect.TypeFor[json.RawMessage]()
	typeExportedData = reflect.TypeFor[ExportedData]()
	typeMarshaler    = reflect.TypeFor[json.Marshaler]()
)

// of returns the schema of values of type t.
func (g *schemas) of(t reflect.Type) map[string]any {
	switch t {
	case typeSuccess:
		return map[string]any{"const": "success"}
	case typeTime:
		return map[string]any{"type": "string", "format": "date-time"}
	case typeRawMessage:
		return map[string]any{} // any JSON value, as given
	case typeExportedData:
		return map[string]any{"anyOf": []any{
			g.of(reflect.TypeFor[app.ProfileExport]()), // the profile (format json)
			map[string]any{"type": "string", "contentEncoding": "base64", "description": "the encrypted container (format container)"},
			map[string]any{"type": "null"},
		}}
	}
	if t.Kind() == reflect.Pointer {
		return nullable(g.of(t.Elem()))
	}
	if t.Implements(typeMarshaler) || reflect.PointerTo(t).Implements(typeMarshaler) {
		panic(fmt.Sprintf("httpapi: %v marshals itself; schema.go must say what its JSON is", t))
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": []any{"string", "null"}, "contentEncoding": "base64"}
		}
		return map[string]any{"type": []any{"array", "null"}, "items": g.of(t.Elem())}
	case reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": g.of(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name := t.Name()
		if prev, ok := g.named[name]; ok {
			if prev != t {
				panic(fmt.Sprintf("httpapi: two answer types are named %s (%v, %v)", name, prev, t))
			}
		} else {
			g.named[name] = t
			g.defs[name] = nil // taken, for recursive types
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	panic(fmt.Sprintf("httpapi: no schema for %v", t))
}

// object is the schema of a struct's JSON object.
func (g *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required, true)
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// fields adds t's members to props; req is false inside an embedded
// pointer, whose members are absent while it is nil.
func (g *schemas) fields(t reflect.Type, props map[string]any, required *[]string, req bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				g.fields(et.Elem(), props, required, false)
				continue
			}
			if et.Kind() == reflect.Struct {
				g.fields(et, props, required, req)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.of(f.Type)
		if d := f.Tag.Get("doc"); d != "" {
			s["description"] = d
		}
		props[name] = s
		if req && !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}

// nullable is s, or null.
func nullable(s map[string]any) map[string]any {
	if len(s) == 0 {
		return s // any value, null included
	}
	if t, ok := s["type"].(string); ok {
		out := map[string]any{}
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []any{t, "null"}
		return out
	}
	if ts, ok := s["type"].([]any); ok {
		for _, t := range ts {
			if t == "null" {
				return s
			}
		}
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}
