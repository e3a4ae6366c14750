package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSHLViewerShowsLocalTimes: the doctor's viewer shows a record's time
// in the viewer's own time zone, with the zone named, never the bare UTC
// string (issue 15 §10).
func TestSHLViewerShowsLocalTimes(t *testing.T) {
	ctx := browser(t, chromedp.Env("TZ=America/Vancouver"), chromedp.Flag("lang", "en-US"))
	e := newEnv(t)
	tok, link, _ := shlSetup(t, e, "passcode", "river-stone")
	want(t, e.json(t, "POST", recordsPath, map[string]any{"token": tok, "record_type": "vitals",
		"record_data": map[string]any{"name": "Pulse", "value": "72 /min", "date": "2024-03-01T18:30:00Z"}}), 201, "success", "")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link.str("access_link")),
		chromedp.WaitVisible(chromedp.ID("recipient")),
		chromedp.SendKeys(chromedp.ID("recipient"), "Dr. Okafor"),
		chromedp.SendKeys(chromedp.ID("passcode"), "river-stone"),
		chromedp.Click(chromedp.ID("open")),
	); err != nil {
		t.Fatal(err)
	}
	var text string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !strings.Contains(text, "Pulse"); time.Sleep(100 * time.Millisecond) {
		text, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("records")||{}).innerText||""`))
	}
	if !strings.Contains(text, "10:30") || !strings.Contains(text, "PST") || strings.Contains(text, "Date: 2024-03-01T18:30") || !strings.Contains(text, "Date: 2024-03-01") {
		t.Fatalf("records show:\n%s", text)
	}
}
