package ui

// Profile field names as people read them: a field is typed and shown by
// its label ("Home address") and stored by its key (home_address); the
// common fields are suggested.

import (
	"strings"
	"unicode"
)

// commonField is a field the profile screen suggests.
type commonField struct{ key, label string }

// commonFields are suggested when adding a field, in this order.
var commonFields = []commonField{
	{"home_address", "Home address"},
	{"phone", "Phone"},
	{"date_of_birth", "Date of birth"},
	{"blood_type", "Blood type"},
	{"allergies", "Allergies"},
	{"medications", "Medications"},
	{"conditions", "Medical conditions"},
	{"emergency_contact", "Emergency contact"},
	{"organ_donor", "Organ donor"},
	{"nationality", "Nationality"},
	{"website", "Website"},
}

// knownLabels are the labels of fields the app itself makes.
var knownLabels = map[string]string{
	"name":    "Name",
	"email":   "E-mail",
	"handle":  "Handle",
	"address": "Address",
	"dob":     "Date of birth",
}

// fieldKey is the key a typed label is stored under: a common field's
// key for its label (in any case), else lower case with each run of
// spaces, hyphens or underscores one "_" ("Shoe size" → shoe_size). What
// is no valid key (a digit first, other punctuation) is returned as it
// is, for the app to refuse with its message.
func fieldKey(label string) string {
	label = strings.TrimSpace(label)
	for _, f := range commonFields {
		if strings.EqualFold(label, f.label) {
			return f.key
		}
	}
	for k, l := range knownLabels {
		if strings.EqualFold(label, l) && k != "dob" {
			return k
		}
	}
	parts := strings.FieldsFunc(strings.ToLower(label), func(r rune) bool { return unicode.IsSpace(r) || r == '-' || r == '_' })
	return strings.Join(parts, "_")
}

// keyLabel is how a field's key is shown: a common field's label, else
// the key with spaces for "_" and its first letter capital (responder.go's
// fieldLabel does the latter only).
func keyLabel(key string) string {
	if f, ok := find(commonFields, func(f commonField) bool { return f.key == key }); ok {
		return f.label
	}
	if l, ok := knownLabels[key]; ok {
		return l
	}
	s := strings.ReplaceAll(key, "_", " ")
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// claimLabel is a field's (or a claim's) label inside a sentence, with a
// small first letter: "your e-mail", "your age over 18".
func claimLabel(key string) string {
	r := []rune(keyLabel(key))
	if len(r) > 0 {
		r[0] = unicode.ToLower(r[0])
	}
	return string(r)
}

// keyLabels are the labels of keys, in order.
func keyLabels(keys []string) []string { return labelsOf(keys, keyLabel) }
