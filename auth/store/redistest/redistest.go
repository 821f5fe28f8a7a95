// Package redistest runs a real redis-server for tests, the way
// net/http/httptest runs a real HTTP server: on a free loopback port, in its
// own directory, stopped when the test ends. It is for tests only.
//
//	srv := redistest.Start(t)
//	st, err := store.Open(t.Context(), srv.URL(), store.Options{})
//
// It also plays the outages a store must live through: Stop, Restart
// (same port and data directory), Freeze and Thaw (SIGSTOP, SIGCONT) and
// Kill (SIGKILL).
//
// Start needs redis-server on PATH (Debian: apt-get install redis-server).
// Without it the test is skipped, or fails when the environment variable
// CI is set, so that CI never skips silently.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// readyTimeout bounds how long Start and Restart wait for redis-server.
const readyTimeout = 10 * time.Second

// Option changes how Start runs redis-server.
type Option func(*[]string)

// AppendOnly turns persistence on: an append-only file, written through at
// every write (appendfsync always), so that what Redis acknowledged survives
// Restart and Kill. Without it the server keeps nothing across a restart.
func AppendOnly() Option {
	return func(args *[]string) {
		*args = append(*args, "--appendonly", "yes", "--appendfsync", "always")
	}
}

// Args passes more redis-server arguments, e.g. Args("--maxmemory", "1mb").
func Args(args ...string) Option {
	return func(a *[]string) { *a = append(*a, args...) }
}

// Server is a redis-server run by a test. Its methods may be called from
// several goroutines, but a test should not race Stop against Restart.
type Server struct {
	bin  string   // redis-server's path
	dir  string   // its working and data directory
	port int      // its port on 127.0.0.1
	args []string // its arguments, port included

	mu   sync.Mutex // guards proc
	proc *process   // nil while stopped
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

// Start runs redis-server on a free port of 127.0.0.1, in a directory of
// tb.TempDir(), without persistence unless AppendOnly is given, and waits
// until it answers PING. The server is killed when the test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("redis-server is needed and CI is set: %v", err)
		}
		tb.Skipf("redis-server not installed: %v", err)
	}
	s := &Server{bin: bin, dir: tb.TempDir()}
	tb.Cleanup(s.kill)
	for attempt := 0; ; attempt++ {
		s.port = freePort(tb)
		s.args = s.arguments(opts)
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 2 {
			tb.Fatalf("redistest: %v", err)
		}
	}
}

// arguments returns redis-server's command line for s.port and opts.
func (s *Server) arguments(opts []Option) []string {
	args := []string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--logfile", "", "--daemonize", "no",
	}
	for _, o := range opts {
		o(&args)
	}
	return args
}

// freePort returns a loopback port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// URL returns the server's address as a store URL: "redis://127.0.0.1:PORT/0".
func (s *Server) URL() string {
	return "redis://" + s.Addr() + "/0"
}

// Addr returns the server's "127.0.0.1:PORT".
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// start runs redis-server and waits until it answers PING.
func (s *Server) start() error {
	logf, err := os.OpenFile(filepath.Join(s.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.dir, logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(p); err != nil {
		s.kill()
		return fmt.Errorf("redis-server on port %d: %w; its log:\n%s", s.port, err, s.logTail())
	}
	return nil
}

// waitReady waits until p answers PING with PONG (not, say, LOADING). The
// answer must come from p itself: when another test's server took the
// port first, p cannot bind it and exits, and the PONG on the port is not
// its own.
func (s *Server) waitReady(p *process) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		pid, err := ping(s.Addr())
		if err == nil && pid != p.cmd.Process.Pid {
			err = fmt.Errorf("port %d answered by another redis-server (pid %d)", s.port, pid)
		}
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.cmd.ProcessState)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %v: %w", readyTimeout, err)
		}
	}
}

// ping sends PING to addr and wants +PONG, then asks the server's process
// id (INFO server) and returns it.
func ping(addr string) (pid int, err error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\nINFO server\r\n")); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return 0, fmt.Errorf("answered %q", line)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, fmt.Errorf("INFO server: %w", err)
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
}

// logTail returns the end of the server's log.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return string(b[max(0, len(b)-2000):])
}
