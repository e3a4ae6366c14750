package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
	"syscall"

	"github.com/mattn/go-sqlite3"

	"github.com/secure-personal-profile/spp/app"
)

// The store's connections are go-sqlite3's, opened through connector so
// that each new connection gets this store's settings (setup) and every
// error SQLite reports for a lack of room, wherever in the store it
// surfaces (a statement, a commit, a row), says so: it wraps
// app.ErrStorageFull, which the app answers as 507 storage_full instead of
// an internal error.

// connector opens connections to one database with one DSN.
type connector struct {
	drv *sqlite3.SQLiteDriver
	dsn string
}

// newConnector returns a connector whose connections run setup (pragmas
// that the DSN cannot carry) right after opening.
func newConnector(dsn string, setup func(*sqlite3.SQLiteConn) error) *connector {
	return &connector{drv: &sqlite3.SQLiteDriver{ConnectHook: setup}, dsn: dsn}
}

func (c *connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, classify(err)
	}
	return &sqlConn{conn.(*sqlite3.SQLiteConn)}, nil
}

func (c *connector) Driver() driver.Driver { return c.drv }

// errStorageFull wraps an SQLite error that reports no room: SQLITE_FULL
// (the disk, or the database's own page limit) or ENOSPC under another
// code (growing the shared-memory index, say).
type errStorageFull struct{ err error }

func (e *errStorageFull) Error() string { return "store: storage is full: " + e.err.Error() }

func (e *errStorageFull) Unwrap() []error { return []error{app.ErrStorageFull, e.err} }

// classify returns err, wrapped as errStorageFull when it reports no room;
// every other error (io.EOF and driver.ErrSkip included) is returned as
// it is, since database/sql compares those by identity.
func classify(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrFull || se.SystemErrno == syscall.ENOSPC) {
		return &errStorageFull{err}
	}
	return err
}

// sqlConn is a go-sqlite3 connection whose errors are classified.
type sqlConn struct{ c *sqlite3.SQLiteConn }

var (
	_ driver.Conn               = (*sqlConn)(nil)
	_ driver.ConnBeginTx        = (*sqlConn)(nil)
	_ driver.ConnPrepareContext = (*sqlConn)(nil)
	_ driver.ExecerContext      = (*sqlConn)(nil)
	_ driver.QueryerContext     = (*sqlConn)(nil)
	_ driver.Pinger             = (*sqlConn)(nil)
)

func (c *sqlConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *sqlConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.c.PrepareContext(ctx, query)
	if err != nil {
		return nil, classify(err)
	}
	return &sqlStmt{s.(*sqlite3.SQLiteStmt)}, nil
}

func (c *sqlConn) Close() error { return c.c.Close() }

func (c *sqlConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *sqlConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	t, err := c.c.BeginTx(ctx, opts)
	if err != nil {
		return nil, classify(err)
	}
	return sqlTx{t}, nil
}

func (c *sqlConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.c.ExecContext(ctx, query, args)
	return r, classify(err)
}

func (c *sqlConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.c.QueryContext(ctx, query, args)
	if err != nil {
		return nil, classify(err)
	}
	return &sqlRows{r.(*sqlite3.SQLiteRows)}, nil
}

func (c *sqlConn) Ping(ctx context.Context) error { return c.c.Ping(ctx) }

// sqlTx classifies a commit's error (a WAL that cannot grow fails there).
// go-sqlite3 rolls back a failed commit, so the connection is usable again
// once room returns.
type sqlTx struct{ t driver.Tx }

func (t sqlTx) Commit() error   { return classify(t.t.Commit()) }
func (t sqlTx) Rollback() error { return classify(t.t.Rollback()) }

type sqlStmt struct{ s *sqlite3.SQLiteStmt }

var (
	_ driver.StmtExecContext  = (*sqlStmt)(nil)
	_ driver.StmtQueryContext = (*sqlStmt)(nil)
)

func (s *sqlStmt) Close() error  { return s.s.Close() }
func (s *sqlStmt) NumInput() int { return s.s.NumInput() }

func (s *sqlStmt) Exec(args []driver.Value) (driver.Result, error) {
	r, err := s.s.Exec(args)
	return r, classify(err)
}

func (s *sqlStmt) Query(args []driver.Value) (driver.Rows, error) {
	r, err := s.s.Query(args)
	if err != nil {
		return nil, classify(err)
	}
	return &sqlRows{r.(*sqlite3.SQLiteRows)}, nil
}

func (s *sqlStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	r, err := s.s.ExecContext(ctx, args)
	return r, classify(err)
}

func (s *sqlStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	r, err := s.s.QueryContext(ctx, args)
	if err != nil {
		return nil, classify(err)
	}
	return &sqlRows{r.(*sqlite3.SQLiteRows)}, nil
}

// sqlRows classifies the errors of stepping (an INSERT … RETURNING that
// finds no room fails in Next).
type sqlRows struct{ r *sqlite3.SQLiteRows }

var (
	_ driver.RowsColumnTypeDatabaseTypeName = (*sqlRows)(nil)
	_ driver.RowsColumnTypeScanType         = (*sqlRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*sqlRows)(nil)
)

func (r *sqlRows) Columns() []string              { return r.r.Columns() }
func (r *sqlRows) Close() error                   { return r.r.Close() }
func (r *sqlRows) Next(dest []driver.Value) error { return classify(r.r.Next(dest)) }

func (r *sqlRows) ColumnTypeDatabaseTypeName(i int) string { return r.r.ColumnTypeDatabaseTypeName(i) }
func (r *sqlRows) ColumnTypeScanType(i int) reflect.Type   { return r.r.ColumnTypeScanType(i) }
func (r *sqlRows) ColumnTypeNullable(i int) (bool, bool)   { return r.r.ColumnTypeNullable(i) }
