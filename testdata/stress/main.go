// Command stress is `make stress`: the reliability runs of issue 12 as a
// repeatable tool, each bounded in time and count, against `spp serve` on
// fresh data directories on loopback only.
//
//   - crash: a write storm (writers storing distinct values), SIGKILL in
//     the middle of it, PRAGMA integrity_check on what the kill left, a
//     restart on the same directory, and every acknowledged write checked;
//     -cycles times, the storms landing on the same profile.
//   - soak: a steady mix of reads and writes at -rate requests a second
//     for -soak, with the server's RSS and the WAL's size sampled every
//     second; any error, a growing RSS or a WAL past 64 MiB fails it.
//   - fuzz: -per-route malformed requests for every operation of
//     openapi.json (junk path parameters, wrong types, deep and broken
//     JSON, odd media types, invalid UTF-8, huge values, with and without
//     a valid token); any 5xx, a hang, a non-JSON answer from the API or a
//     panic in the log fails it.
//
// It prints one summary line per run and exits 1 when any run failed.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // integrity_check on what a kill left
)

var (
	sppBin   = flag.String("spp", "", "the spp `BINARY` to serve (required)")
	only     = flag.String("only", "crash,soak,fuzz", "the runs to make, comma-separated")
	cycles   = flag.Int("cycles", 5, "crash: kill cycles")
	storm    = flag.Duration("storm", 3*time.Second, "crash: how long each storm runs before the kill (varied ±50%)")
	writers  = flag.Int("writers", 4, "crash: concurrent writers")
	soakFor  = flag.Duration("soak", 60*time.Second, "soak: how long")
	rate     = flag.Int("rate", 150, "soak: requests a second")
	perRoute = flag.Int("per-route", 1000, "fuzz: malformed requests per operation")
	keep     = flag.Bool("keep", false, "keep the data directories (printed) instead of removing them")
)

const password = "a long enough password for stress"

func main() {
	flag.Parse()
	if *sppBin == "" {
		fmt.Fprintln(os.Stderr, "usage: stress -spp BINARY [-only crash,soak,fuzz] [-cycles 5] [-soak 60s] [-rate 150] [-per-route 200]")
		os.Exit(2)
	}
	runs := map[string]func(dir string) error{"crash": crash, "soak": soak, "fuzz": fuzz}
	failed := false
	for _, name := range strings.Split(*only, ",") {
		run := runs[strings.TrimSpace(name)]
		if run == nil {
			fmt.Fprintf(os.Stderr, "stress: unknown run %q\n", name)
			os.Exit(2)
		}
		dir, err := os.MkdirTemp("", "spp-stress-"+name+"-")
		if err != nil {
			fatal(err)
		}
		start := time.Now()
		err = run(dir)
		if *keep {
			fmt.Printf("%s: data in %s\n", name, dir)
		} else {
			os.RemoveAll(dir)
		}
		if err != nil {
			failed = true
			fmt.Printf("%s: FAIL after %v: %v\n", name, time.Since(start).Round(time.Second), err)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "stress:", err)
	os.Exit(1)
}

// server is one `spp serve` process.
type server struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT/api/v1
	dir  string
	logs *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// startServer starts serve on dir (loopback, no device sync) and waits
// until it answers.
func startServer(dir string) (*server, error) {
	port := freePort()
	s := &server{base: "http://127.0.0.1:" + port + "/api/v1", dir: dir, logs: &lockedBuffer{}}
	s.cmd = exec.Command(*sppBin, "serve", "--data", dir, "--addr", "127.0.0.1:"+port, "--no-sync")
	s.cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.base + "/healthz")
		if err == nil {
			res.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("serve never answered: %v\n%s", err, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// stop stops the server as an operator would (SIGINT) and reports how it
// ended.
func (s *server) stop() error {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		s.kill()
		return errors.New("serve did not stop within 30 s of SIGINT")
	}
}

var client = &http.Client{Timeout: 15 * time.Second}

// call sends body (JSON) and decodes a JSON answer.
func call(method, u string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	json.Unmarshal(b, &out)
	return res.StatusCode, out, nil
}

func register(s *server, email string) (string, error) {
	code, r, err := call("POST", s.base+"/users/register", map[string]any{"email": email, "password": password, "name": "Stress"})
	if err != nil {
		return "", err
	}
	if code != 201 {
		return "", fmt.Errorf("register: %d %v", code, r)
	}
	return r["token"].(string), nil
}

// integrity runs PRAGMA integrity_check on dir's database, read-only: what
// a kill left in the WAL is read, and left for the restart to recover.
func integrity(dir string) error {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "profile.db")+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		return fmt.Errorf("integrity_check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity_check: %s", res)
	}
	return nil
}

// ---- crash ----

// crash: storms, kills and restarts on one data directory. Each writer
// cycles over its own 256 fields, each call a new value; at a kill each
// writer has at most one call in flight, so every field must hold its last
// acknowledged value, or the in-flight one.
func crash(dir string) error {
	dir = filepath.Join(dir, "data")
	s, err := startServer(dir)
	if err != nil {
		return err
	}
	defer func() { s.kill() }()
	token, err := register(s, "crash@example.org")
	if err != nil {
		return err
	}
	type write struct{ field, value string }
	var (
		mu    sync.Mutex
		last  = map[string]string{} // field → last acknowledged value
		acked int
	)
	for cycle := 1; cycle <= *cycles; cycle++ {
		inflight := make([]write, *writers)
		var wg sync.WaitGroup
		var unexpected atomic.Value
		for w := range *writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := 0; ; seq++ {
					wr := write{fmt.Sprintf("w%d_%d", w, seq%256), fmt.Sprintf("c%d-w%d-s%d-%s", cycle, w, seq, rand.Text()[:8])}
					mu.Lock()
					inflight[w] = wr
					mu.Unlock()
					code, r, err := call("POST", s.base+"/profile/update-info", map[string]any{"token": token, "updated_fields": map[string]string{wr.field: wr.value}})
					if err != nil {
						return // the kill
					}
					mu.Lock()
					if code == 200 {
						last[wr.field] = wr.value
						acked++
						inflight[w] = write{}
					} else {
						unexpected.Store(fmt.Sprintf("%d %v", code, r))
					}
					mu.Unlock()
				}
			}()
		}
		d := time.Duration(float64(*storm) * (0.5 + mrand.Float64()))
		time.Sleep(d)
		s.kill()
		wg.Wait()
		if u := unexpected.Load(); u != nil {
			return fmt.Errorf("cycle %d: an answer other than 200 during the storm: %v", cycle, u)
		}
		walAtKill := fileSize(filepath.Join(dir, "profile.db-wal"))
		if err := integrity(dir); err != nil {
			return fmt.Errorf("cycle %d, after the kill: %w", cycle, err)
		}
		if s, err = startServer(dir); err != nil {
			return fmt.Errorf("cycle %d: restart: %w", cycle, err)
		}
		code, prof, err := call("GET", s.base+"/profile?token="+url.QueryEscape(token), nil)
		if err != nil || code != 200 {
			return fmt.Errorf("cycle %d: profile after the restart: %d %v %v", cycle, code, prof, err)
		}
		fields, _ := prof["fields"].(map[string]any)
		lost := 0
		for f, v := range last {
			got, _ := fields[f].(map[string]any)
			var gv any
			if got != nil {
				gv = got["value"]
			}
			if gv == v {
				continue
			}
			w, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(f, "w"), "_", 2)[0])
			if in := inflight[w]; in.field == f && gv == in.value {
				last[f] = in.value // the call in flight at the kill had committed
				continue
			}
			lost++
		}
		fmt.Printf("crash: cycle %d: storm %v, killed with a %.1f MiB WAL; %d writes acknowledged so far (each a new value, over %d fields), %d lost, integrity ok\n",
			cycle, d.Round(time.Millisecond), float64(walAtKill)/(1<<20), acked, len(last), lost)
		if lost > 0 {
			return fmt.Errorf("cycle %d: %d acknowledged writes lost", cycle, lost)
		}
	}
	if err := s.stop(); err != nil {
		return fmt.Errorf("the last serve: %w\n%s", err, s.logs.String())
	}
	if err := integrity(dir); err != nil {
		return err
	}
	fmt.Printf("crash: ok: %d kill cycles, %d acknowledged writes, none lost, integrity_check ok after every kill\n", *cycles, acked)
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// ---- soak ----

// rss is the process's resident set size in bytes (0 when unknown).
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// soak: a steady mix at -rate for -soak: the profile read, update-info,
// a third party's /verify, get-share, the health check.
func soak(dir string) error {
	dir = filepath.Join(dir, "data")
	s, err := startServer(dir)
	if err != nil {
		return err
	}
	defer func() { s.kill() }()
	token, err := register(s, "soak@example.org")
	if err != nil {
		return err
	}
	if code, r, err := call("POST", s.base+"/profile/update-info", map[string]any{"token": token, "updated_fields": map[string]any{"city": "Lisbon"}}); err != nil || code != 200 {
		return fmt.Errorf("update-info: %d %v %v", code, r, err)
	}
	code, share, err := call("POST", s.base+"/profile/share-create", map[string]any{"token": token, "service_id": "soak", "info_field": "city"})
	if err != nil || code != 201 {
		return fmt.Errorf("share-create: %d %v %v", code, share, err)
	}
	vt, _ := share["verification_token"].(string)
	q := "?token=" + url.QueryEscape(token)
	type req struct {
		name, method, path string
		body               func(i int64) any
	}
	mix := []req{
		{"profile", "GET", "/profile" + q, nil},
		{"profile", "GET", "/profile" + q, nil},
		{"update-info", "POST", "/profile/update-info", func(i int64) any {
			return map[string]any{"token": token, "updated_fields": map[string]any{"city": fmt.Sprintf("city %d", i), fmt.Sprintf("note_%d", i%64): rand.Text()}}
		}},
		{"verify", "GET", "/verify/" + vt, nil},
		{"verify", "GET", "/verify/" + vt, nil},
		{"get-share", "GET", "/profile/get-share" + q + "&service_id=soak&verification_token=" + url.QueryEscape(vt), nil},
		{"healthz", "GET", "/healthz", nil},
	}
	var (
		n, errs atomic.Int64
		mu      sync.Mutex
		lat     []time.Duration
		firstEr atomic.Value
	)
	stop := make(chan struct{})
	jobs := make(chan int64, 64)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				rq := mix[i%int64(len(mix))]
				var body any
				if rq.body != nil {
					body = rq.body(i)
				}
				t0 := time.Now()
				code, r, err := call(rq.method, s.base+rq.path, body)
				d := time.Since(t0)
				n.Add(1)
				if err != nil || code >= 300 {
					errs.Add(1)
					firstEr.CompareAndSwap(nil, fmt.Sprintf("%s: %d %v %v", rq.name, code, r, err))
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	// RSS and WAL, every second; the first 10 s are warm-up.
	var rssWarm, rssMax, rssEnd, walMax int64
	var samples []int64
	sampler := make(chan struct{})
	go func() {
		defer close(sampler)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			r := rss(s.cmd.Process.Pid)
			samples = append(samples, r)
			if time.Since(start) >= min(10*time.Second, *soakFor/3) && rssWarm == 0 {
				rssWarm = r
			}
			rssMax, rssEnd = max(rssMax, r), r
			walMax = max(walMax, fileSize(filepath.Join(dir, "profile.db-wal")))
		}
	}()
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	var i int64
	for time.Since(start) < *soakFor {
		<-tick.C
		select {
		case jobs <- i:
			i++
		default: // the server is behind: the queue is full, count it as an error
			errs.Add(1)
			firstEr.CompareAndSwap(nil, "the server fell behind the rate (queue full)")
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	close(stop)
	<-sampler
	elapsed := time.Since(start)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)].Round(10 * time.Microsecond)
	}
	mb := func(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
	fmt.Printf("soak: %v at %d req/s: %d requests (%.0f/s), %d errors, p50 %v, p99 %v; RSS %s after warm-up, max %s, end %s; WAL max %s\n",
		elapsed.Round(time.Second), *rate, n.Load(), float64(n.Load())/elapsed.Seconds(), errs.Load(), pct(0.50), pct(0.99),
		mb(rssWarm), mb(rssMax), mb(rssEnd), mb(walMax))
	if err := s.stop(); err != nil {
		return fmt.Errorf("serve: %w\n%s", err, s.logs.String())
	}
	switch {
	case errs.Load() > 0:
		return fmt.Errorf("%d errors, the first: %v", errs.Load(), firstEr.Load())
	case rssWarm > 0 && rssEnd > 2*rssWarm+64<<20:
		return fmt.Errorf("RSS grew from %s to %s: a leak? samples %v", mb(rssWarm), mb(rssEnd), samples)
	case walMax >= 64<<20:
		return fmt.Errorf("the WAL reached %s (bound: 64 MiB)", mb(walMax))
	}
	return integrity(dir)
}

// ---- fuzz ----

type operation struct {
	method, path string
	pathParams   []string
	params       []string // body (or query, for GET) parameters
	auth         bool
	content      string // what the route answers on success ("": JSON)
}
