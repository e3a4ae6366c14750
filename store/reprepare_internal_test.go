package store

import (
	"database/sql/driver"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mattn/go-sqlite3"
)

// TestStatementsStayPrepared: none of the statements transactions run
// prepared is compiled again when it runs with new values. SQLite
// recompiles a statement on its next step whenever a parameter it bound
// may change the plan it chose (sqlite3VdbeReprepareOnBind), and one that
// did (an ORDER BY or DISTINCT after the equalities on the key's first
// columns) cost three times its read: a list of a user's entity ids was
// compiled again on every call. The compiler asks the authorizer about
// everything it reads, and a statement run without compiling asks
// nothing: each statement, run once, must not ask again when it runs
// with other values. Where a statement keeps the planner off a
// parameter (+?), its plan is the one it has without.
func TestStatementsStayPrepared(t *testing.T) {
	storeQueries := []string{qCapabilityByHash, qCapabilitiesByID, qCapabilityFailure, qOpsVector, qOpsAfter, qEmergencyLast}
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	queries := append(txQueries, storeQueries...)
	for _, q := range queries {
		// A +? keeps the planner off its value and changes nothing else.
		if plain := strings.ReplaceAll(q, "+?", "?"); plain != q {
			if got, want := queryPlan(t, db, q), queryPlan(t, db, plain); !slices.Equal(got, want) {
				t.Errorf("planned %v, not as without +? %v: %s", got, want, q)
			}
		}
	}
	var asked atomic.Int64
	drv := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		c.RegisterAuthorizer(func(int, string, string, string) int { asked.Add(1); return sqlite3.SQLITE_OK })
		return nil
	}}
	dc, err := drv.Open("file:" + filepath.Join(dir, DBFile) + "?_foreign_keys=off")
	if err != nil {
		t.Fatal(err)
	}
	conn := dc.(*sqlite3.SQLiteConn)
	defer conn.Close()
	if _, err := conn.Exec("BEGIN", nil); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec("ROLLBACK", nil)
	for _, q := range queries {
		s, err := conn.Prepare(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		run := func(v int64) {
			args := make([]driver.Value, s.NumInput())
			for i := range args {
				args[i] = v + int64(i) // every parameter a new value each run
			}
			if strings.HasPrefix(strings.TrimSpace(q), "SELECT") || strings.HasPrefix(strings.TrimSpace(q), "WITH") {
				rows, err := s.Query(args)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				dest := make([]driver.Value, len(rows.Columns()))
				for rows.Next(dest) == nil {
				}
				rows.Close()
				return
			}
			s.Exec(args) // a constraint may refuse these values: compiled (or not) all the same
		}
		run(1)
		before := asked.Load()
		run(1000)
		if n := asked.Load() - before; n != 0 {
			t.Errorf("compiled again when run with new values (%d authorizer calls): %s", n, q)
		}
		s.Close()
	}
}

