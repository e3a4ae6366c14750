// Package store keeps the profile in SQLite (mattn/go-sqlite3): schema
// migrations embedded and applied at Open, every sensitive value sealed
// under the user's data key, and the operation log that sync replicates,
// written in the same transaction as every change of synced data.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/mattn/go-sqlite3"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
)

//go:embed migrations/*.sql
var migrations embed.FS

// File names inside the data directory.
const (
	DBFile              = "profile.db"
	InstallationKeyFile = "installation.key"
)

// DB is the store of one data directory. It implements app.Store.
type DB struct {
	dir        string
	w          *sql.DB // the one writer connection: writes are serialised
	r          *sql.DB // readers (WAL lets them run beside the writer)
	installKey []byte
	device     string
	clock      *HLC
	now        func() time.Time
	stmts      sync.Map                    // *sql.DB → query → *sql.Stmt
	hooks      app.Listeners               // called after commits that change cells (ops.go)
	deriver    atomic.Pointer[app.Deriver] // called before commits that change cells (capabilities.go)
	counter    atomic.Int64                // the last operation counter this device used
	turn       chan struct{}               // the writer's turn, held by who commits a batch of writes (commit.go)
	qmu        sync.Mutex                  // guards queue
	queue      []*write                    // writes waiting for the writer's turn
	batches    atomic.Int64                // transactions of writes committed (commit.go)
	frameSize  int64                       // bytes a WAL frame takes: a page and its header
	stop       chan struct{}               // closed by Close: stops the checkpointer
	stopped    chan struct{}
	closeOnce  sync.Once
}

// stmt returns query prepared on pool, once: go-sqlite3 would otherwise
// compile the SQL on every call. Inside a transaction, tx.StmtContext
// reuses the statement already prepared on the transaction's connection.
//
// Preparing needs a free connection of the pool, so a transaction (which
// holds one, and the writer pool has only one) must never prepare: it uses
// cachedStmt, and the statements transactions run are prepared at Open
// (txQueries).
func (db *DB) stmt(pool *sql.DB, query string) (*sql.Stmt, error) {
	if s := db.cachedStmt(pool, query); s != nil {
		return s, nil
	}
	s, err := pool.Prepare(query)
	if err != nil {
		return nil, fmt.Errorf("store: preparing statement: %w", err)
	}
	if prev, loaded := db.stmts.LoadOrStore([2]any{pool, query}, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// cachedStmt returns query's statement if it was prepared on pool, else nil.
func (db *DB) cachedStmt(pool *sql.DB, query string) *sql.Stmt {
	if s, ok := db.stmts.Load([2]any{pool, query}); ok {
		return s.(*sql.Stmt)
	}
	return nil
}

// queryRow runs a single-row query on pool through the statement cache.
func (db *DB) queryRow(ctx context.Context, pool *sql.DB, query string, args ...any) *sql.Row {
	s, err := db.stmt(pool, query)
	if err != nil {
		// Surface the error through a Row: QueryRowContext on a failed
		// query reports it at Scan.
		return pool.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// exec runs a statement on pool through the statement cache.
func (db *DB) exec(ctx context.Context, pool *sql.DB, query string, args ...any) (sql.Result, error) {
	s, err := db.stmt(pool, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

var _ app.Store = (*DB)(nil)

// Options tune Open; the zero value is right for the app.
type Options struct {
	Now func() time.Time // wall clock; time.Now when nil
}

// busyTimeout is how long a statement waits for a lock another
// connection holds.
const busyTimeout = 10 * time.Second

// Open opens (creating when needed) the store in dir: the directory with
// mode 0700, the installation key file with mode 0600, the database in WAL
// mode with foreign keys on, and every pending migration applied.
func Open(dir string, opt Options) (*DB, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: creating data directory: %w", notWritable(dir, err))
	}
	if err := checkWritable(dir); err != nil {
		return nil, err
	}
	key, err := loadOrCreateKey(filepath.Join(dir, InstallationKeyFile))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, DBFile)
	dsn := func(lock string) string {
		q := url.Values{}
		q.Set("_journal_mode", "WAL")
		q.Set("_foreign_keys", "on")
		q.Set("_busy_timeout", strconv.Itoa(int(busyTimeout/time.Millisecond)))
		q.Set("_synchronous", "NORMAL")
		// Deleted content (a compacted operation's value, a dropped
		// cell) is overwritten with zeros, not left in free pages.
		q.Set("_secure_delete", "on")
		q.Set("_txlock", lock)
		return "file:" + path + "?" + q.Encode()
	}
	w := sql.OpenDB(newConnector(dsn("immediate"), func(c *sqlite3.SQLiteConn) error {
		// Checkpoints run in the background (checkpointer), never in
		// whichever request's commit crosses a threshold: the writer
		// (the only connection that commits) turns automatic ones off.
		// A WAL started again from its beginning keeps its file up to
		// walFileLimit (written over, not truncated and grown again);
		// the checkpointer truncates an idle one. The savepoints of
		// group commit (commit.go) journal in memory.
		return connPragmas(c, fmt.Sprintf(`PRAGMA journal_size_limit = %d`, walFileLimit), `PRAGMA wal_autocheckpoint = 0`, `PRAGMA temp_store = MEMORY`)
	}))
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	db := &DB{dir: dir, w: w, installKey: key, clock: NewHLC(opt.Now), now: opt.Now, stop: make(chan struct{}), stopped: make(chan struct{}), turn: make(chan struct{}, 1)}
	if err := db.migrate(); err != nil {
		w.Close()
		return nil, err
	}
	// The database file exists now; restrict it (and its WAL) to the owner.
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.Close()
			return nil, fmt.Errorf("store: restricting %s: %w", filepath.Base(f), err)
		}
	}
	r := sql.OpenDB(newConnector(dsn("deferred"), func(c *sqlite3.SQLiteConn) error {
		return connPragmas(c, fmt.Sprintf(`PRAGMA journal_size_limit = %d`, walKeep))
	}))
	// As many kept idle as may be open: a connection given back beyond
	// database/sql's default of two idle was closed, and opened again (its
	// file, its pragmas, every statement prepared anew) by the next read
	// under load (a seventh of an emergency grant's CPU).
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	db.r = r
	for _, q := range txQueries {
		for _, pool := range []*sql.DB{db.w, db.r} {
			if _, err := db.stmt(pool, q); err != nil {
				db.Close()
				return nil, err
			}
		}
	}
	// The writer's alone, prepared now: a statement prepared on the
	// writer's one connection while a transaction holds it would wait for
	// it for ever.
	for _, q := range append(slices.Clone(savepointQueries), writerQueries...) {
		if _, err := db.stmt(db.w, q); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := db.loadDevice(); err != nil {
		db.Close()
		return nil, err
	}
	var pageSize int64
	if err := db.w.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: page size: %w", err)
	}
	db.frameSize = pageSize + walFrameHeader
	// A WAL left large (a storm before a crash) is emptied now, before
	// it serves; on a full disk this may fail, and the checkpointer
	// tries again until there is room.
	if db.walSize() > walKeep {
		db.truncateWAL(context.Background())
	}
	go db.checkpointer()
	return db, nil
}

// connPragmas runs pragmas on a new connection.
func connPragmas(c *sqlite3.SQLiteConn, pragmas ...string) error {
	for _, p := range pragmas {
		if _, err := c.Exec(p, nil); err != nil {
			return fmt.Errorf("store: %s: %w", p, err)
		}
	}
	return nil
}

// checkWritable tells, in words, why the data directory cannot be written
// (SQLite would only say "unable to open database file: no such file or
// directory" when it cannot create the WAL beside the database): it
// creates and removes a file there.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".spp-write-check-*")
	if err != nil {
		return fmt.Errorf("store: %w", notWritable(dir, err))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("store: %w", notWritable(dir, err))
	}
	return nil
}

// notWritable describes a failure to write in dir: a read-only file
// system, or a directory this user may not write in (its owner and mode
// named), or else err itself.
func notWritable(dir string, err error) error {
	switch {
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("the data directory %s is on a read-only file system: %w", dir, err)
	case errors.Is(err, fs.ErrPermission):
		who := fmt.Sprintf("this user (uid %d)", os.Geteuid())
		if fi, serr := os.Stat(dir); serr == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				return fmt.Errorf("the data directory %s is not writable by %s: it is mode %04o, owned by uid %d: %w", dir, who, fi.Mode().Perm(), st.Uid, err)
			}
		}
		return fmt.Errorf("the data directory %s is not writable by %s: %w", dir, who, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("the data directory %s is on a full disk: %w", dir, err)
	}
	return err
}

// pruneEvery checkpoints, device-local records nobody can use any more are
// deleted: rate-limit counts older than any window, requests a week past
// their expiry.
const pruneEvery = 60

func (db *DB) prune(ctx context.Context) {
	now := db.now()
	db.w.ExecContext(ctx, `DELETE FROM failures WHERE at < ?`, ms(now.Add(-24*time.Hour)))
	db.w.ExecContext(ctx, `DELETE FROM requests WHERE expires_at < ?`, ms(now.Add(-7*24*time.Hour)))
	// Superseded operations' values go (compact.go); tombstones wait for
	// sync, which knows who has acknowledged them.
	db.compactAll(ctx)
}

func (db *DB) checkpointer() {
	ctx, cancel := context.WithCancel(context.Background())
	// A prune runs beside the checkpoints (its chunks wait behind the
	// writes, and a storm's WAL must not wait for it), one at a time;
	// Close interrupts it.
	var pruning sync.WaitGroup
	pruneTurn := make(chan struct{}, 1)
	defer func() {
		cancel()
		pruning.Wait()
		close(db.stopped)
	}()
	n := 0
	lastFrames := -1 // the WAL's frames at the last periodic checkpoint
	var lastBatches int64
	restarted := -1 // the WAL's frames when RESTART last did its part
	stormy := false // a storm's RESTART since the last periodic checkpoint
	t := time.NewTicker(walWatchInterval)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		n++
		periodic := n%(int(checkpointInterval/walWatchInterval)) == 0
		size := db.walSize()
		if !periodic && size <= walThreshold {
			continue
		}
		if periodic {
			// A capability whose time is up loses its view at once.
			db.ExpireCapabilities(ctx, db.now())
		}
		frames, complete := db.passiveCheckpoint(ctx)
		if frames >= 0 && frames < restarted {
			restarted = -1 // started again since
		}
		batches := db.batches.Load()
		switch {
		case int64(frames)*db.frameSize > walThreshold && frames != restarted:
			// A storm: a write starts the WAL again from its beginning
			// only once a checkpoint has reached its end and no reader
			// still reads what it copied; writes and readers always
			// overlapping keep that from happening, so it would grow
			// without bound. The bulk is copied (above) beside the
			// writes; the rest with the writer held, which RESTART waits
			// for the readers of. RESTART, not TRUNCATE: the file is
			// written over, not truncated and grown again, which held
			// the writer three times as long (15-30 ms against 4-13
			// here, every quarter second of a share-create storm). Until
			// the next write, the WAL still counts its frames.
			if db.resetWAL(ctx, "RESTART") {
				restarted = frames
			}
			stormy = true
		case periodic && complete && size > walKeep &&
			((frames == lastFrames && batches == lastBatches) || (!stormy && int64(frames)*db.frameSize <= walKeep)):
			// Everything is in the database file, and the WAL idle for a
			// second (no group committed, its frames the same), or
			// holding little with no storm in that second (a light load):
			// give the room back (a TRUNCATE now copies nothing).
			db.truncateWAL(ctx)
		}
		if periodic {
			lastFrames, lastBatches, stormy = frames, batches, false
		}
		if n%(pruneEvery*int(checkpointInterval/walWatchInterval)) == 0 {
			select {
			case pruneTurn <- struct{}{}:
				pruning.Add(1)
				go func() {
					defer pruning.Done()
					defer func() { <-pruneTurn }()
					db.prune(ctx)
				}()
			default: // the last one is still at work
			}
		}
	}
}

// readConns is how many reader connections the store keeps open.
const readConns = 4

// The WAL's bounds (docs/data-model.md "The WAL").
const (
	// walWatchInterval is how often the checkpointer looks at the WAL's
	// size (one stat): at a few thousand writes a second it grows a few
	// MiB in that time.
	walWatchInterval = 100 * time.Millisecond
	// checkpointInterval is how often the checkpointer copies the WAL
	// back into the database file (PASSIVE: never blocking readers).
	checkpointInterval = time.Second
	// walThreshold: a WAL holding more than this is started again from
	// its beginning at once (RESTART), which waits for the readers of
	// older snapshots.
	walThreshold = 16 << 20
	// walFileLimit is the writer's journal_size_limit: a WAL started
	// again keeps at most this much of its file.
	walFileLimit = 2 * walThreshold
	// walFrameHeader is the size of a WAL frame's header (SQLite's file
	// format, "WAL File Format").
	walFrameHeader = 24
	// walKeep: an idle WAL larger than this is truncated.
	walKeep = 4 << 20
	// truncateWait bounds how long a RESTART or TRUNCATE waits for
	// readers (holding back writes meanwhile); the next look tries again.
	truncateWait = 2 * time.Second
)

// maxReadTx bounds a read transaction (View): its snapshot is given up
// then, so no reader holds a checkpoint off for longer.
var maxReadTx = 5 * time.Second

// walSize is the WAL file's size (0 when there is none).
func (db *DB) walSize() int64 {
	fi, err := os.Stat(filepath.Join(db.dir, DBFile) + "-wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// passiveCheckpoint copies into the database file what no reader still
// needs, on a reader connection: it blocks neither readers nor the writer.
// It reports how many frames the WAL holds and whether all of them are in
// the database file now; -1 and false when it could not run (another
// checkpoint at work: SQLite then answers -1 for both counts).
func (db *DB) passiveCheckpoint(ctx context.Context) (frames int, complete bool) {
	var busy, done int
	err := db.r.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done)
	if err != nil || busy != 0 || frames < 0 {
		return -1, false
	}
	return frames, frames == done
}

// truncateWAL copies the whole WAL into the database file and truncates
// it to nothing (resetWAL). It reports whether the WAL is empty now.
func (db *DB) truncateWAL(ctx context.Context) bool { return db.resetWAL(ctx, "TRUNCATE") }

// resetWAL copies the whole WAL into the database file and has the next
// write start it again from its beginning (mode RESTART), or truncates it
// to nothing (TRUNCATE), waiting up to truncateWait for readers of older
// snapshots (new readers meanwhile read the database file) and holding the
// writer connection throughout. It reports whether that was done.
func (db *DB) resetWAL(ctx context.Context, mode string) bool {
	c, err := db.w.Conn(ctx)
	if err != nil {
		return false
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, truncateWait/time.Millisecond)); err != nil {
		return false
	}
	defer c.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, busyTimeout/time.Millisecond))
	var busy, frames, done int
	err = c.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &frames, &done)
	return err == nil && busy == 0
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	db.closeOnce.Do(func() {
		if db.stop != nil {
			close(db.stop)
			if db.device != "" { // the checkpointer was started
				<-db.stopped
			}
		}
	})
	db.stmts.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	errs = append(errs, db.w.Close())
	return errors.Join(errs...)
}

// Dir is the data directory.
func (db *DB) Dir() string { return db.dir }

// DeviceID is this device's id, created at first open; operations written
// here carry it.
func (db *DB) DeviceID() string { return db.device }

// Clock is the store's hybrid logical clock.
func (db *DB) Clock() *HLC { return db.clock }

// InstallationKey is this device's own random key (never synced).
func (db *DB) InstallationKey() []byte { return db.installKey }

func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != crypto.KeySize {
			return nil, fmt.Errorf("store: %s is damaged (%d bytes, want %d)", filepath.Base(path), len(b), crypto.KeySize)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: reading installation key: %w", err)
	}
	key, err := crypto.NewKey()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: creating installation key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: writing installation key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: writing installation key: %w", err)
	}
	return key, f.Close()
}

// migrate applies, in order and each in its own transaction, every embedded
// migration newer than the database's user_version.
func (db *DB) migrate() error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var current int
	if err := db.w.QueryRow("PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("store: reading schema version: %w", err)
	}
	for _, name := range names {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration %s has no number", name)
		}
		if n <= current {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := db.w.Begin()
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) loadDevice() error {
	var id []byte
	err := db.w.QueryRow(`SELECT value FROM meta WHERE key = 'device_id'`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		u, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("store: device id: %w", err)
		}
		id = []byte(u.String())
		if _, err := db.w.Exec(`INSERT INTO meta(key, value) VALUES ('device_id', ?)`, id); err != nil {
			return fmt.Errorf("store: saving device id: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("store: reading device id: %w", err)
	}
	db.device = string(id)
	// Never issue a time before one already written here, nor a counter
	// of this device's (which numbers its operations of every user): one
	// pass over the log, which is keyed by user first.
	var last, counter sql.NullInt64
	if err := db.w.QueryRow(`SELECT MAX(hlc), MAX(CASE WHEN device = ? THEN counter END) FROM ops`, db.device).Scan(&last, &counter); err != nil {
		return fmt.Errorf("store: reading clock and operation counter: %w", err)
	}
	if last.Valid {
		db.clock.Observe(uint64(last.Int64))
	}
	// Nor one below the counter a forgotten user's operations held
	// (ForgetUser).
	var floor sql.NullInt64
	if err := db.w.QueryRow(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = '` + counterFloorKey + `'`).Scan(&floor); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: reading operation counter: %w", err)
	}
	db.counter.Store(max(counter.Int64, floor.Int64))
	return nil
}

// counterFloorKey names, in meta, the highest counter this device had
// given when it last forgot a user (ForgetUser): its counter never goes
// below it.
const counterFloorKey = "ops_counter_floor"

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return app.ErrNotFound
	}
	return err
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
