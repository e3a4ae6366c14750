// Command benchload is `make bench-load`: throughput and latency as a
// client meets the listener. In one run it starts the bare server
// (testdata/bareserver) and `spp serve` on a fresh data directory, both on
// loopback, prepares a user with shares, a public page, a health link and
// emergency access, drives each endpoint with wrk for a fixed time, and
// prints a table of requests per second, p50/p99 latency, answers that
// were not 2xx, and the ratio to the bare server (reads against its GET,
// writes against its form POST), run just before and just after each
// endpoint. Beside them, the CPU time each server spent per request (from
// /proc, on Linux): unlike req/s, which follows how much of the two cores
// the host gives the run, it moves little between runs, so it shows what
// a change costs or saves.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	sppBin   = flag.String("spp", "", "the spp `BINARY` to serve (required)")
	bareBin  = flag.String("bare", "", "the bareserver `BINARY` (required)")
	duration = flag.Duration("duration", 10*time.Second, "how long wrk drives each endpoint")
	conns    = flag.Int("connections", 32, "wrk connections")
	threads  = flag.Int("threads", 2, "wrk threads")
	only     = flag.String("only", "", "run only the endpoints whose name contains one of these (comma-separated)")
)

type endpoint struct {
	name   string
	write  bool
	method string
	path   string
	body   url.Values
	json   string // a JSON body instead of the form
	accept string
	gzip   bool // asks Accept-Encoding: gzip, as a browser does
	note   string
}

type result struct {
	rps         float64
	p50, p99    time.Duration
	non2xx, req int
	cpu         time.Duration // the server's CPU time per request; 0: unknown
}

func main() {
	flag.Parse()
	if *sppBin == "" || *bareBin == "" {
		fmt.Fprintln(os.Stderr, "usage: benchload -spp BINARY -bare BINARY [-duration 10s]")
		os.Exit(2)
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		fail(errors.New("wrk is not installed (apt-get install wrk)"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	barePort, sppPort := freePort(), freePort()
	bare := exec.CommandContext(ctx, *bareBin, "-addr", "127.0.0.1:"+barePort)
	bare.Stderr = io.Discard
	if err := bare.Start(); err != nil {
		fail(err)
	}
	defer bare.Process.Kill()
	dir, err := os.MkdirTemp("", "spp-bench-load-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	srv := exec.CommandContext(ctx, *sppBin, "serve", "--data", filepath.Join(dir, "data"), "--addr", "127.0.0.1:"+sppPort)
	srv.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		fail(err)
	}
	defer srv.Process.Kill()
	base := "http://127.0.0.1:" + sppPort
	bareURL := "http://127.0.0.1:" + barePort
	waitUp(base+"/api/v1/healthz", &logs)
	waitUp(bareURL+"/?probe=1", nil)

	eps, err := prepare(base)
	if err != nil {
		fail(fmt.Errorf("preparing: %w\n%s", err, logs.String()))
	}
	bareGet := endpoint{name: "bare net/http GET (form in query)", path: "/?service_id=acme&verification_token=x"}
	barePost := endpoint{name: "bare net/http POST (form body)", write: true, method: "POST", path: "/", body: url.Values{"token": {"x"}, "service_id": {"acme"}, "info_field": {"phone"}}}
	fmt.Printf("wrk -t%d -c%d -d%s on loopback, %s\n\n", *threads, *conns, *duration, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Println("| endpoint | req/s | p50 | p99 | not 2xx | server CPU / request | bare beside it | ours / bare |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	// The machine's speed drifts within minutes, so each endpoint is
	// measured between two runs of the bare server (its GET for reads,
	// its form POST for writes) and set against their mean; one bare run
	// stands between two endpoints of the same kind.
	bares := map[bool]*bareRuns{false: {e: bareGet}, true: {e: barePost}}
	var last *bareRuns
	for _, e := range eps {
		if !picked(e.name) {
			continue
		}
		b := bares[e.write]
		if b != last || len(b.runs) == 0 {
			b.add(run(bareURL, b.e, bare.Process.Pid))
		}
		before := b.runs[len(b.runs)-1].rps
		r := run(base, e, srv.Process.Pid)
		b.add(run(bareURL, b.e, bare.Process.Pid))
		last = b
		row(e, r, (before+b.runs[len(b.runs)-1].rps)/2)
	}
	for _, w := range []bool{false, true} {
		if b := bares[w]; len(b.runs) > 0 {
			b.row()
		}
	}
	if strings.Contains(logs.String(), "panic") {
		fail(errors.New("the server panicked:\n" + logs.String()))
	}
}

func row(e endpoint, r result, bare float64) {
	name := e.name
	if e.note != "" {
		name += " (" + e.note + ")"
	}
	fmt.Printf("| %s | %.0f | %s | %s | %d | %s | %.0f | %.1f %% |\n", name, r.rps, ms(r.p50), ms(r.p99), r.non2xx, us(r.cpu), bare, 100*r.rps/bare)
}

// bareRuns are the bare server's runs of one kind (GET or POST).
type bareRuns struct {
	e    endpoint
	runs []result
}

func (b *bareRuns) add(r result) { b.runs = append(b.runs, r) }

// row sums the runs up: their lowest and highest req/s and p99.
func (b *bareRuns) row() {
	lo, hi := b.runs[0], b.runs[0]
	p99lo, p99hi := b.runs[0].p99, b.runs[0].p99
	non2xx := 0
	var cpulo, cpuhi time.Duration // over the runs measured (0: unknown)
	for _, r := range b.runs {
		if r.cpu > 0 {
			if cpulo == 0 || r.cpu < cpulo {
				cpulo = r.cpu
			}
			cpuhi = max(cpuhi, r.cpu)
		}
		if r.rps < lo.rps {
			lo = r
		}
		if r.rps > hi.rps {
			hi = r
		}
		p99lo, p99hi = min(p99lo, r.p99), max(p99hi, r.p99)
		non2xx += r.non2xx
	}
	fmt.Printf("| %s, %d runs | %.0f–%.0f | | %s–%s | %d | %s–%s | | — |\n", b.e.name, len(b.runs), lo.rps, hi.rps, ms(p99lo), ms(p99hi), non2xx, us(cpulo), us(cpuhi))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

// cpuTime is the CPU time (user and system) the process has used so far,
// from /proc/PID/stat in clock ticks (USER_HZ, which Linux fixes at 100
// for what it shows user space); false where
// there is no /proc.
func cpuTime(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count from after its closing one (utime and stime are fields 14, 15).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, true
}

// prepare makes the user, the shares and the links the endpoints use.
func prepare(base string) ([]endpoint, error) {
	reg, err := post(base, "/api/v1/users/register", url.Values{"email": {"bench@example.org"}, "password": {"Correct-Horse-Battery-7!"}, "name": {"Bench User"}, "handle": {"bench"}})
	if err != nil {
		return nil, err
	}
	tok := str(reg, "token")
	steps := []struct {
		path string
		v    url.Values
	}{
		{"/api/v1/profile/update-info", url.Values{"updated_fields": {`{"phone":"+15550001234","date_of_birth":"1990-04-01","motto":"carpe diem"}`}}},
		{"/api/v1/profile/privilege-rings", url.Values{"ring_name": {"public"}, "assigned_data": {`["motto"]`}}},
		{"/api/v1/profile/health-records", url.Values{"record_type": {"allergies"}, "record_data": {`{"substance":"penicillin"}`}}},
		{"/api/v1/profile/emergency-access", url.Values{"trusted_contacts": {`["kin@example.org"]`}, "emergency_info": {`"type 1 diabetic"`}, "criteria": {`{"responders":"any"}`}, "info_field": {`["phone"]`}}},
	}
	for _, s := range steps {
		s.v.Set("token", tok)
		if _, err := post(base, s.path, s.v); err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
	}
	sh, err := post(base, "/api/v1/profile/share-create", url.Values{"token": {tok}, "service_id": {"acme.example"}, "info_field": {"phone"}})
	if err != nil {
		return nil, err
	}
	vt := str(sh, "verification_token")
	pub, err := post(base, "/api/v1/profile/public", url.Values{"token": {tok}, "public_info": {`"hello"`}, "visibility": {"true"}})
	if err != nil {
		return nil, err
	}
	link, err := post(base, "/api/v1/profile/share-create-link", url.Values{"token": {tok}, "health_records_info": {"allergies"}, "doctor_email": {"dr@example.org"}})
	if err != nil {
		return nil, err
	}
	pathOf := func(u string) string {
		p, _ := url.Parse(u)
		return p.Path
	}
	// The link's manifest URL, from the SMART Health Link in the access
	// link's fragment (shlink:/ and the base64url of its JSON payload).
	_, shlink, _ := strings.Cut(str(link, "access_link"), "#shlink:/")
	payload, err := base64.RawURLEncoding.DecodeString(shlink)
	if err != nil {
		return nil, fmt.Errorf("the health link's shlink: %v", err)
	}
	var shl struct{ URL string }
	if err := json.Unmarshal(payload, &shl); err != nil || shl.URL == "" {
		return nil, fmt.Errorf("the health link's payload %s: %v", payload, err)
	}
	q := url.Values{"token": {tok}, "service_id": {"acme.example"}, "verification_token": {vt}}
	return []endpoint{
		{name: "verify", path: "/api/v1/verify/" + vt, accept: "application/json"},
		{name: "get-share", path: "/api/v1/profile/get-share?" + q.Encode()},
		{name: "public page", path: pathOf(str(pub, "public_profile_link")), accept: "application/json"},
		{name: "health link page", path: pathOf(str(link, "access_link")), accept: "text/html", gzip: true,
			note: "the viewer a doctor's browser loads, as a browser asks for it"},
		{name: "health link manifest", write: true, method: "POST", path: pathOf(shl.URL), json: `{"recipient":"Dr. Bench"}`,
			note: "a doctor's request for the records: each one logged for the user"},
		{name: "share-create", write: true, method: "POST", path: "/api/v1/profile/share-create", body: url.Values{"token": {tok}, "service_id": {"shop.example"}, "info_field": {"age_over_18"}}},
		{name: "update-info", write: true, method: "POST", path: "/api/v1/profile/update-info", body: url.Values{"token": {tok}, "updated_fields": {`{"motto":"seize the day"}`}}},
		{name: "grant", write: true, method: "POST", path: "/api/v1/profile/emergency-access/grant", body: url.Values{"responder_id": {"EMT-1"}, "reason": {"unconscious"}, "email": {"bench@example.org"}},
			note: "limited per client address: mostly the 429 path"},
	}, nil
}

var (
	rpsRE     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	latRE     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	non2xxRE  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+([0-9]+)`)
	requestRE = regexp.MustCompile(`([0-9]+) requests in`)
)

// run drives one endpoint with wrk, and measures the CPU time the server
// (process pid) spends meanwhile.
func run(base string, e endpoint, pid int) result {
	args := []string{"-t", strconv.Itoa(*threads), "-c", strconv.Itoa(*conns), "-d", duration.String(), "--latency"}
	if e.accept != "" {
		args = append(args, "-H", "Accept: "+e.accept)
	}
	if e.gzip {
		args = append(args, "-H", "Accept-Encoding: gzip")
	}
	if e.method == "POST" {
		script, err := os.CreateTemp("", "wrk-*.lua")
		if err != nil {
			fail(err)
		}
		defer os.Remove(script.Name())
		body, ctype := e.body.Encode(), "application/x-www-form-urlencoded"
		if e.json != "" {
			body, ctype = e.json, "application/json"
		}
		fmt.Fprintf(script, "wrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = %q\n", body, ctype)
		script.Close()
		args = append(args, "-s", script.Name())
	}
	args = append(args, base+e.path)
	cpu0, ok0 := cpuTime(pid)
	out, err := exec.Command("wrk", args...).CombinedOutput()
	cpu1, ok1 := cpuTime(pid)
	if err != nil {
		fail(fmt.Errorf("wrk %s: %v\n%s", e.name, err, out))
	}
	var r result
	if m := rpsRE.FindSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	for _, m := range latRE.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[3])]
		d := time.Duration(v * float64(unit))
		if string(m[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := non2xxRE.FindSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(string(m[1]))
	}
	if m := requestRE.FindSubmatch(out); m != nil {
		r.req, _ = strconv.Atoi(string(m[1]))
	}
	if ok0 && ok1 && r.req > 0 {
		r.cpu = (cpu1 - cpu0) / time.Duration(r.req)
	}
	return r
}

func post(base, path string, v url.Values) (map[string]any, error) {
	res, err := http.PostForm(base+path, v)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, err
	}
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("%s: %d %v", path, res.StatusCode, out["status"])
	}
	return out, nil
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	defer ln.Close()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

func waitUp(u string, logs *bytes.Buffer) {
	for i := 0; i < 300; i++ {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	msg := ""
	if logs != nil {
		sc := bufio.NewScanner(bytes.NewReader(logs.Bytes()))
		for sc.Scan() {
			msg += sc.Text() + "\n"
		}
	}
	fail(fmt.Errorf("%s did not answer\n%s", u, msg))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-load:", err)
	os.Exit(1)
}

// picked reports whether -only names the endpoint (empty: every one).
func picked(name string) bool {
	if *only == "" {
		return true
	}
	for _, w := range strings.Split(*only, ",") {
		if w != "" && strings.Contains(name, w) {
			return true
		}
	}
	return false
}
