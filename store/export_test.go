package store

import (
	"fmt"
	"time"
)

// SetMaxPages sets the writer connection's max_page_count (SQLite keeps it
// at least the database's current size) and returns the value in force:
// tests make the database full with it, as a full disk would.
func (db *DB) SetMaxPages(n int64) (int64, error) {
	var got int64
	err := db.w.QueryRow(fmt.Sprintf(`PRAGMA max_page_count = %d`, n)).Scan(&got)
	return got, err
}

// PageCount is the database's size in pages.
func (db *DB) PageCount() (int64, error) {
	var n int64
	err := db.w.QueryRow(`PRAGMA page_count`).Scan(&n)
	return n, err
}

// SetMaxReadTx bounds read transactions at d until the returned function
// restores the bound.
func SetMaxReadTx(d time.Duration) (restore func()) {
	prev := maxReadTx
	maxReadTx = d
	return func() { maxReadTx = prev }
}

// SetCompactChunkDone has f called after each compaction chunk commits
// until the returned function restores none.
func SetCompactChunkDone(f func(dropped int)) (restore func()) {
	compactChunkDone = f
	return func() { compactChunkDone = nil }
}

// SetCompactChunk sets how many operations one compaction transaction
// looks at until the returned function restores it.
func SetCompactChunk(n int) (restore func()) {
	prev := compactChunk
	compactChunk = n
	return func() { compactChunk = prev }
}
