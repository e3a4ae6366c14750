package httpapi_test

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// attackPage is a page of another origin that, as soon as it loads,
// posts a registration form to the listener: what any web page the user
// opens could do to 127.0.0.1:8000.
var attackPage = template.Must(template.New("attack").Parse(`<!doctype html>
<html><body>
<form id="f" method="post" action="{{.}}">
<input name="email" value="mallory@example.org">
<input name="password" value="correct horse battery">
<input name="name" value="Mallory">
</form>
<script>document.getElementById("f").submit()</script>
</body></html>`))

// bodyAt waits until the browser shows a page whose address starts with
// prefix and returns its text.
func bodyAt(ctx context.Context, t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
		if err == nil && strings.HasPrefix(href, prefix) {
			text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" && document.body ? document.body.innerText : ""`))
			if err == nil && text != "" {
				return text
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser never reached %s (at %q, %v)", prefix, href, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func short(s string) string { return s[:min(len(s), 300)] }

// TestBrowserAttacksOnTheListenerAreRefused runs the attacks of issue 10
// §4 in headless Chromium: a page served from another origin submits a
// form to the listener (refused with 403, no account made), and a name
// the attacker points at this machine (DNS rebinding, simulated with the
// browser's resolver rules) gets 421 for anything it asks.
func TestBrowserAttacksOnTheListenerAreRefused(t *testing.T) {
	// Every name under attacker.test resolves to this machine.
	ctx := browser(t, chromedp.Flag("host-resolver-rules", "MAP *.attacker.test 127.0.0.1"))
	e := newEnv(t)
	target := e.srv.URL + "/api/v1/users/register"
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		attackPage.Execute(w, target)
	}))
	t.Cleanup(attacker.Close)
	_, attackerPort, _ := net.SplitHostPort(attacker.Listener.Addr().String())
	_, listenerPort, _ := net.SplitHostPort(e.srv.Listener.Addr().String())

	for _, page := range []struct{ name, url string }{
		{"same host, another port", attacker.URL},                                   // another origin, same site
		{"another site", fmt.Sprintf("http://www.attacker.test:%s/", attackerPort)}, // another site altogether
	} {
		t.Run(page.name, func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(page.url)); err != nil {
				t.Fatal(err)
			}
			text := bodyAt(ctx, t, target)
			if !strings.Contains(text, `"code":"cross_site"`) || !strings.Contains(text, "cross-site request refused!") {
				t.Fatalf("the listener answered the attack page's form with %q", short(text))
			}
			noUser(t, e, "mallory@example.org")
		})
	}

	t.Run("DNS rebinding", func(t *testing.T) {
		rebound := fmt.Sprintf("http://rebind.attacker.test:%s/api/v1/openapi.json", listenerPort)
		if err := chromedp.Do(ctx, chromedp.Navigate(rebound)); err != nil {
			t.Fatal(err)
		}
		text := bodyAt(ctx, t, rebound)
		if !strings.Contains(text, `"code":"unknown_host"`) || strings.Contains(text, "openapi") {
			t.Fatalf("the listener answered a rebound name with %q", short(text))
		}
	})
}
