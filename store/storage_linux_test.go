package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/store"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// The cases a test cannot set up in its own process run in a child (this
// test binary again, TestStorageHelperProcess): a tmpfs or a read-only
// bind mount in a mount namespace of its own (so nothing is mounted
// outside it, and the real disk is never filled), or another user.

// storageHelper runs TestStorageHelperProcess in a child with mode and
// dir, and returns its output; the child prints "SKIP: why" when the
// sandbox does not allow what it needs.
func storageHelper(t *testing.T, mode, dir string, attr *syscall.SysProcAttr, binary string) string {
	t.Helper()
	if binary == "" {
		binary = os.Args[0]
	}
	cmd := exec.Command(binary, "-test.run=^TestStorageHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "SPP_STORAGE_HELPER="+mode, "SPP_STORAGE_DIR="+dir)
	cmd.SysProcAttr = attr
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil && strings.Contains(err.Error(), "operation not permitted") {
		t.Skipf("this sandbox cannot start the child (%v): %s", err, out.String())
	}
	if s, ok := strings.CutPrefix(out.String(), "SKIP: "); ok {
		t.Skip(strings.SplitN(s, "\n", 2)[0])
	}
	if err != nil {
		t.Fatalf("%s helper: %v\n%s", mode, err, out.String())
	}
	return out.String()
}

// inMountNamespace is a child in a mount namespace of its own: as root
// that alone; otherwise in a user namespace too, where this user is root
// and may mount a tmpfs or bind.
func inMountNamespace() *syscall.SysProcAttr {
	if os.Geteuid() == 0 {
		return &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	}
	return &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
}

// openAsAnotherUser opens dir as the user nobody (uid 65534), with a copy
// of this test binary it may run, and returns the error Open gave.
func openAsAnotherUser(t *testing.T, dir string) string {
	t.Helper()
	for d := filepath.Dir(dir); d != "/"; d = filepath.Dir(d) {
		// The temporary directories are the owner's alone: nobody must
		// reach dir to find it not writable.
		if strings.HasPrefix(d, os.TempDir()+string(filepath.Separator)) {
			os.Chmod(d, 0o755)
		}
	}
	bin := filepath.Join(filepath.Dir(dir), "store.test")
	if err := copyFile(os.Args[0], bin, 0o755); err != nil {
		t.Fatal(err)
	}
	out := storageHelper(t, "open", dir, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}, bin)
	return openResult(t, out)
}

// openReadOnlyMount opens dir bound read-only onto itself, in a child's
// mount namespace, and returns the error Open gave.
func openReadOnlyMount(t *testing.T, dir string) string {
	t.Helper()
	return openResult(t, storageHelper(t, "rofs", dir, inMountNamespace(), ""))
}

func openResult(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(l, "OPEN: "); ok {
			return s
		}
	}
	t.Fatalf("the child did not report: %s", out)
	return ""
}

func copyFile(from, to string, mode os.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// TestStorageHelperProcess is not a test: the tests above run it in a
// child process.
func TestStorageHelperProcess(t *testing.T) {
	mode, dir := os.Getenv("SPP_STORAGE_HELPER"), os.Getenv("SPP_STORAGE_DIR")
	switch mode {
	case "":
		return
	case "open":
		_, err := store.Open(dir, store.Options{})
		fmt.Printf("\nOPEN: %v\n", err)
	case "rofs":
		if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
			fmt.Println("SKIP: cannot bind-mount here:", err)
			return
		}
		if err := syscall.Mount("", dir, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			fmt.Println("SKIP: cannot remount read-only here:", err)
			return
		}
		_, err := store.Open(dir, store.Options{})
		fmt.Printf("\nOPEN: %v\n", err)
	case "fulldisk":
		fullDisk(t, dir)
	default:
		t.Fatalf("unknown helper mode %q", mode)
	}
}

// fillDisk fills the file system at mnt with a file and returns its path.
func fillDisk(t *testing.T, mnt string) string {
	t.Helper()
	path := filepath.Join(mnt, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 16, 1 << 12, 1 << 9, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	return path
}

// fullDisk is TestFullDiskAnswers507AndRecovers's child: the data
// directory on a 16 MiB tmpfs that a file fills.
func fullDisk(t *testing.T, mnt string) {
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=16m,mode=0700"); err != nil {
		fmt.Println("SKIP: cannot mount a tmpfs here:", err)
		return
	}
	dir := filepath.Join(mnt, "data")
	env := storetest.Open(t, dir, app.Config{})
	srv := httptest.NewServer(httpapi.New(env.App, quietLog))
	token := register(t, srv, "full@example.org")

	// A full disk while serving: the WAL cannot grow; 507, reads go on.
	filler := fillDisk(t, mnt)
	code, r, acked := writeUntilFull(t, srv, token, 4000, 2000)
	wantStorageFull(t, code, r)
	t.Logf("full after %d writes", len(acked))
	checkProfile(t, srv, token, acked)
	// Room again: the next write succeeds, with no restart.
	os.Remove(filler)
	name, v := "after_room", bigValue(4000)
	if code, r := apiCall(t, srv, "POST", "/api/v1/profile/update-info", map[string]any{"token": token, "updated_fields": map[string]any{name: v}}); code != 200 {
		t.Fatalf("a write once there is room again: %d %v", code, r)
	}
	acked[name] = v

	// A restart on a full disk: it opens, reads, answers 507 to writes,
	// and writes again once there is room.
	filler = fillDisk(t, mnt)
	srv.Close()
	if err := env.DB.Close(); err != nil {
		t.Logf("closing on a full disk: %v", err)
	}
	env = storetest.Open(t, dir, app.Config{})
	srv = httptest.NewServer(httpapi.New(env.App, quietLog))
	defer srv.Close()
	code, r, more := writeUntilFull(t, srv, token, 4000, 2000)
	wantStorageFull(t, code, r)
	for k, v := range more {
		acked[k] = v
	}
	checkProfile(t, srv, token, acked)
	os.Remove(filler)
	name, v = "after_restart", bigValue(4000)
	if code, r := apiCall(t, srv, "POST", "/api/v1/profile/update-info", map[string]any{"token": token, "updated_fields": map[string]any{name: v}}); code != 200 {
		t.Fatalf("a write once there is room again after a restart: %d %v", code, r)
	}
	acked[name] = v
	checkProfile(t, srv, token, acked)
	integrityOK(t, dir)
}

// TestFullDiskAnswers507AndRecovers: the data directory on a small tmpfs
// (in a mount namespace of the test's own) that fills up. Writes answer
// 507 storage_full while reads go on; when room returns, writes succeed
// again without a restart; a restart on the full disk opens and recovers
// the same way; nothing acknowledged is lost and the database is intact.
func TestFullDiskAnswers507AndRecovers(t *testing.T) {
	out := storageHelper(t, "fulldisk", t.TempDir(), inMountNamespace(), "")
	if !strings.Contains(out, "\nPASS") {
		t.Fatalf("the child did not pass:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))
}
