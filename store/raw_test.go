package store_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/secure-personal-profile/spp/store"
)

// rawDB opens the database file directly, as a thief with the file would.
func rawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, store.DBFile)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}
