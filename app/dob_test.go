package app_test

import (
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

func TestAgeOn(t *testing.T) {
	d := func(s string) time.Time { v, _ := time.Parse(app.DateLayout, s); return v }
	for _, c := range []struct {
		dob, day string
		want     int
	}{
		{"2000-06-15", "2018-06-14", 17},
		{"2000-06-15", "2018-06-15", 18},
		{"2000-02-29", "2018-02-28", 17},
		{"2000-02-29", "2018-03-01", 18},
		{"1990-12-31", "2026-01-01", 35},
	} {
		if got := app.AgeOn(d(c.dob), d(c.day)); got != c.want {
			t.Errorf("AgeOn(%s, %s) = %d, want %d", c.dob, c.day, got, c.want)
		}
	}
}
