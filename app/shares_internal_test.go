package app

import (
	"regexp"
	"strconv"
	"testing"
)

// TestAgeOverParsesWhatItsPatternDid: ageOver accepts exactly the names
// ^age_over_([0-9]{1,3})$ matched, with that number.
func TestAgeOverParsesWhatItsPatternDid(t *testing.T) {
	re := regexp.MustCompile(`^age_over_([0-9]{1,3})$`)
	for _, name := range []string{"age_over_18", "age_over_0", "age_over_007", "age_over_999", "age_over_1000", "age_over_", "age_over",
		"age_over_1a", "age_over_-1", "age_over_+1", "xage_over_18", "age_over_18\n", "age_over_١٨", "age", "age_over_18 ", "AGE_OVER_18"} {
		n, ok := ageOver(name)
		m := re.FindStringSubmatch(name)
		if ok != (m != nil) {
			t.Errorf("ageOver(%q) ok %v, the pattern %v", name, ok, m != nil)
			continue
		}
		if ok {
			if want, _ := strconv.Atoi(m[1]); n != want {
				t.Errorf("ageOver(%q) = %d, want %d", name, n, want)
			}
		}
	}
}
