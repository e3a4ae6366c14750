// Command bareserver is the ceiling `make bench-load` measures the API
// against: a bare net/http handler that parses a form (query or body) and
// writes a small JSON object, the least any endpoint of ours must do.
// It listens on loopback only.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen `HOST:PORT` (loopback)")
	flag.Parse()
	if h, _, err := net.SplitHostPort(*addr); err != nil || !(h == "127.0.0.1" || h == "localhost" || strings.HasPrefix(h, "127.")) {
		log.Fatalf("bareserver listens on loopback only, not %q", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.SetFlags(0)
	log.Printf("listening %s", ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			http.Error(w, `{"status":"bad form"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "fields": len(r.Form)})
	}))
}
