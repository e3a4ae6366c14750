package store

import (
	"database/sql/driver"
	"fmt"
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
// with other values; written without its +, it does (the check can
// fail, and the + is needed). Where a statement keeps the planner off a
// parameter (+?), its plan is the one it has without, for NULLs and for
// a value a partial index names.
func TestStatementsStayPrepared(t *testing.T) {
	storeQueries := []string{qCapabilityByHash, qCapabilitiesByID, qCapabilityFailure, qOpsVector, qOpsAfter, qEmergencyLast}
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	queries := append(slices.Clone(txQueries), storeQueries...)
	for _, q := range queries {
		if plain := strings.ReplaceAll(q, "+?", "?"); plain != q {
			if got, want := queryPlan(t, db, q), queryPlan(t, db, plain); !slices.Equal(got, want) {
				t.Errorf("planned %v, not as without +? %v: %s", got, want, q)
			}
			if got, want := planWith(t, db, q, "token_hash"), planWith(t, db, plain, "token_hash"); !slices.Equal(got, want) {
				t.Errorf("planned %v for 'token_hash', not as without +? %v: %s", got, want, q)
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
	// compiledAgain runs q with one set of values, then another, and
	// counts the authorizer's calls in the second run.
	compiledAgain := func(q string) int64 {
		s, err := conn.Prepare(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer s.Close()
		run := func(v int) {
			args := make([]driver.Value, s.NumInput())
			for i := range args {
				args[i] = fmt.Sprintf("v%d-%d", v, i) // text, as the store binds, new each run
			}
			// A constraint or a LIMIT may refuse these values: the
			// statement was compiled (or not) at its step all the same.
			if strings.HasPrefix(strings.TrimSpace(q), "SELECT") || strings.HasPrefix(strings.TrimSpace(q), "WITH") {
				rows, err := s.Query(args)
				if err != nil {
					return
				}
				dest := make([]driver.Value, len(rows.Columns()))
				for rows.Next(dest) == nil {
				}
				rows.Close()
				return
			}
			s.Exec(args)
		}
		run(1)
		before := asked.Load()
		run(2)
		return asked.Load() - before
	}
	for _, q := range queries {
		if n := compiledAgain(q); n != 0 {
			t.Errorf("compiled again when run with new values (%d authorizer calls): %s", n, q)
		}
		if plain := strings.ReplaceAll(q, "+?", "?"); plain != q && compiledAgain(plain) == 0 {
			t.Errorf("not compiled again without its +?: the + is not needed: %s", q)
		}
	}
}
