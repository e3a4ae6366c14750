// The fuzz run: malformed requests for every operation of openapi.json.

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // integrity_check on what a kill left
)

// operations reads openapi.json.
func operations(s *server) ([]operation, error) {
	res, err := client.Get(s.base + "/openapi.json")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, In string
			} `json:"parameters"`
			RequestBody *struct {
				Content map[string]struct {
					Schema struct {
						Properties map[string]any `json:"properties"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Security  []any                     `json:"security"`
			Responses map[string]map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	var ops []operation
	for p, item := range doc.Paths {
		for m, op := range item {
			o := operation{method: strings.ToUpper(m), path: p, auth: op.Security != nil}
			for _, prm := range op.Parameters {
				if prm.In == "path" {
					o.pathParams = append(o.pathParams, prm.Name)
				} else {
					o.params = append(o.params, prm.Name)
				}
			}
			if op.RequestBody != nil {
				for name := range op.RequestBody.Content["application/json"].Schema.Properties {
					o.params = append(o.params, name)
				}
			}
			for code, r := range op.Responses {
				if strings.HasPrefix(code, "2") {
					if c, ok := r["content"].(map[string]any); ok {
						for ct := range c {
							if ct != "application/json" {
								o.content = ct
							}
						}
					}
				}
			}
			sort.Strings(o.params)
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(a, b int) bool { return ops[a].path+ops[a].method < ops[b].path+ops[b].method })
	return ops, nil
}

// junk values: wrong types, broken structure, odd bytes.
func junkValue(r *mrand.Rand) any {
	switch r.IntN(14) {
	case 0:
		return nil
	case 1:
		return r.Int64() - math.MaxInt64/2
	case 2:
		return math.MaxFloat64
	case 3:
		return []any{"a", 1, nil, map[string]any{}}
	case 4:
		return map[string]any{"x": map[string]any{"y": []any{1}}}
	case 5:
		return strings.Repeat("A", 1+r.IntN(200_000))
	case 6:
		return strings.Repeat("[", 70) + strings.Repeat("]", 70) // nesting past the cap, as text
	case 7:
		return "\x00\xff\xfe invalid \xc3\x28 utf-8"
	case 8:
		return "../../../etc/passwd"
	case 9:
		return "<script>alert(1)</script>"
	case 10:
		return "2026-02-30"
	case 11:
		return true
	case 12:
		return ""
	}
	return rand.Text()
}

// deepJSON is an array nested n levels.
func deepJSON(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func junkSegment(r *mrand.Rand) string {
	segs := []string{"x", "..", ".", "%2e%2e", "%00", "%ff", strings.Repeat("z", 5000), "null", "0", "-1", "%E2%80%AE", "a%2Fb", " ", "%20", rand.Text()}
	return segs[r.IntN(len(segs))]
}

// malformed builds the i-th malformed request for op.
func malformed(s *server, op operation, token string, r *mrand.Rand) (*http.Request, error) {
	path := op.path
	for _, p := range op.pathParams {
		path = strings.ReplaceAll(path, "{"+p+"}", junkSegment(r))
	}
	u := s.base + path
	vals := map[string]any{}
	for _, p := range op.params {
		if r.IntN(3) == 0 {
			continue // missing
		}
		vals[p] = junkValue(r)
	}
	if op.auth && r.IntN(2) == 0 {
		vals["token"] = token // past the token check, to reach the handler
	}
	if r.IntN(4) == 0 {
		vals[junkSegment(r)] = junkValue(r) // an unknown parameter
	}
	var body io.Reader
	ctype := ""
	switch r.IntN(9) {
	case 0: // JSON with junk values
		b, _ := json.Marshal(vals)
		body, ctype = bytes.NewReader(b), "application/json"
	case 1: // truncated JSON
		b, _ := json.Marshal(vals)
		body, ctype = bytes.NewReader(b[:r.IntN(len(b)+1)]), "application/json"
	case 2: // JSON nested past any cap
		body, ctype = strings.NewReader(`{"x":`+deepJSON(1+r.IntN(20_000))+`}`), "application/json"
	case 3: // a form
		f := url.Values{}
		for k, v := range vals {
			f.Set(k, fmt.Sprint(v))
		}
		body, ctype = strings.NewReader(f.Encode()), "application/x-www-form-urlencoded"
	case 4: // multipart, sometimes with a broken boundary
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for k, v := range vals {
			mw.WriteField(k, fmt.Sprint(v))
		}
		fw, _ := mw.CreateFormFile("credential_image", "x.png")
		fw.Write([]byte("\x89PNG\r\n\x1a\n not really"))
		mw.Close()
		ctype = mw.FormDataContentType()
		if r.IntN(2) == 0 {
			ctype = "multipart/form-data; boundary=wrong"
		}
		body = &b
	case 5: // random bytes, no media type
		b := make([]byte, r.IntN(4096))
		rand.Read(b)
		body = bytes.NewReader(b)
	case 6: // an odd media type
		body, ctype = strings.NewReader("hello"), []string{"text/plain", "application/xml", "image/png", "application/json; charset=utf-16", "multipart/form-data", ";;;"}[r.IntN(6)]
	case 7: // junk in the query string, no body
		q := url.Values{}
		for k, v := range vals {
			q.Set(k, fmt.Sprint(v))
		}
		q.Set("x", deepJSON(r.IntN(200)))
		u += "?" + q.Encode()
	case 8: // a JSON array, not an object
		body, ctype = strings.NewReader(`[1,2,3]`), "application/json"
	}
	if op.method == http.MethodGet && body != nil {
		// GET reads its query: put the same junk there instead.
		q := url.Values{}
		for k, v := range vals {
			q.Set(k, fmt.Sprint(v))
		}
		u += "?" + q.Encode()
		body, ctype = nil, ""
	}
	req, err := http.NewRequest(op.method, u, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if op.auth && r.IntN(4) == 0 {
		req.Header.Set("Authorization", "Bearer "+[]string{token, "junk", "", strings.Repeat("t", 10_000)}[r.IntN(4)])
	}
	return req, nil
}

// fuzz: -per-route malformed requests for every operation.
func fuzz(dir string) error {
	dir = filepath.Join(dir, "data")
	s, err := startServer(dir)
	if err != nil {
		return err
	}
	defer func() { s.kill() }()
	token, err := register(s, "fuzz@example.org")
	if err != nil {
		return err
	}
	ops, err := operations(s)
	if err != nil {
		return err
	}
	seed := uint64(time.Now().UnixNano())
	var (
		statuses = map[int]int{}
		mu       sync.Mutex
		failures []string
		total    atomic.Int64
	)
	fail := func(f string, args ...any) {
		mu.Lock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(f, args...))
		}
		mu.Unlock()
	}
	start := time.Now()
	for oi, op := range ops {
		tok := token
		if strings.HasSuffix(op.path, "/logout") {
			tok = "not-the-token" // the session must outlive the run
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := mrand.New(mrand.NewPCG(seed, uint64(oi*16+w)))
				for i := w; i < *perRoute; i += 4 {
					req, err := malformed(s, op, tok, r)
					if err != nil {
						continue // a URL net/http itself refuses to build
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					t0 := time.Now()
					res, err := client.Do(req.WithContext(ctx))
					total.Add(1)
					if err != nil {
						cancel()
						fail("%s %s: no answer after %v: %v", op.method, op.path, time.Since(t0).Round(time.Millisecond), err)
						continue
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					cancel()
					mu.Lock()
					statuses[res.StatusCode]++
					mu.Unlock()
					ct := res.Header.Get("Content-Type")
					switch {
					case res.StatusCode >= 500:
						fail("%s %s: %d %.200s", op.method, req.URL.Path, res.StatusCode, b)
					case res.StatusCode >= 300 && res.StatusCode < 400:
						fail("%s %s: a redirect (%d)", op.method, req.URL.Path, res.StatusCode)
					case res.StatusCode == http.StatusRequestHeaderFieldsTooLarge || bytes.HasPrefix(b, []byte("400 Bad Request")):
						// net/http's own answer to a request line or
						// headers it will not read: plain text, before
						// any handler.
					case res.StatusCode >= 400 && op.content == "" && !strings.HasPrefix(ct, "application/json"):
						fail("%s %s: a %d answered %q, not JSON", op.method, req.URL.Path, res.StatusCode, ct)
					case strings.HasPrefix(ct, "application/json") && !json.Valid(b):
						fail("%s %s: invalid JSON: %.200s", op.method, req.URL.Path, b)
					}
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	// Still healthy, and no panic was logged.
	if code, _, err := call("GET", s.base+"/healthz", nil); err != nil || code != 200 {
		fail("healthz after the run: %d %v", code, err)
	}
	if code, r, err := call("GET", s.base+"/profile?token="+url.QueryEscape(token), nil); err != nil || code != 200 {
		fail("the profile after the run: %d %v %v", code, r, err)
	}
	if err := s.stop(); err != nil {
		fail("serve: %v", err)
	}
	if m := regexp.MustCompile(`(?m)^.*panic.*$`).FindString(s.logs.String()); m != "" {
		fail("a panic in the log: %s", m)
	}
	codes := make([]int, 0, len(statuses))
	for c := range statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", c, statuses[c]))
	}
	fmt.Printf("fuzz: %d operations × %d malformed requests = %d in %v (seed %d): %s\n",
		len(ops), *perRoute, total.Load(), elapsed.Round(time.Second), seed, strings.Join(parts, " "))
	if len(failures) > 0 {
		return fmt.Errorf("%d kinds of failure, the first:\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	return integrity(dir)
}
