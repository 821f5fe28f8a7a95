package nginx_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// process is a child process whose output is kept for failure reports.
type process struct {
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{} // closed when Wait has returned
	err  error         // Wait's result; read only after done
}

// startProcess starts cmd. The output is logged if the test fails.
func startProcess(t *testing.T, name string, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir() // where relative defaults (doorman.db) land
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	return p
}

// output is everything the process wrote so far.
func (p *process) output() string { return p.out.String() }

// checkRunning fails the test at once if the process has exited.
func (p *process) checkRunning(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("%s exited early: %v\n%s", p.name, p.err, p.output())
	default:
	}
}

// stop sends sig and waits up to 10 s for the process to exit (then kills
// it), returning Wait's error: nil means exit status 0.
func (p *process) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	select {
	case <-p.done:
		return fmt.Errorf("exited before it was stopped: %w", p.err)
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return err
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("did not exit within 10s of %v", sig)
	}
}

// waitForAddr waits until p accepts connections on addr.
func waitForAddr(t *testing.T, p *process, addr string) {
	t.Helper()
	waitFor(t, 10*time.Second, p.name+" listening on "+addr, func() bool {
		p.checkRunning(t)
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// connCounter is a TCP relay to a target that counts the connections it
// accepts: how many connections nginx opened to doorman.
type connCounter struct {
	ln     net.Listener
	target string
	n      atomic.Int64
	mu     sync.Mutex
	open   map[net.Conn]struct{} // guarded by mu
	wg     sync.WaitGroup
}

// startConnCounter relays 127.0.0.1:<free port> to target until cleanup.
func startConnCounter(t *testing.T, target string) *connCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &connCounter{ln: ln, target: target, open: map[net.Conn]struct{}{}}
	c.wg.Go(c.serve)
	t.Cleanup(c.close)
	return c
}

func (c *connCounter) addr() string { return c.ln.Addr().String() }

// count reports how many connections have been accepted so far.
func (c *connCounter) count() int64 { return c.n.Load() }

func (c *connCounter) serve() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.n.Add(1)
		c.wg.Go(func() { c.relay(conn) })
	}
}

// relay copies both ways between conn and a new connection to the target.
func (c *connCounter) relay(conn net.Conn) {
	defer conn.Close()
	up, err := net.Dial("tcp", c.target)
	if err != nil {
		return
	}
	defer up.Close()
	if !c.track(conn, up) {
		return
	}
	defer c.untrack(conn, up)
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, conn); done <- struct{}{} }()
	go func() { io.Copy(conn, up); done <- struct{}{} }()
	<-done // either side closed: close both (deferred), which ends the other copy
}

// track registers open connections; false once the counter is closed.
func (c *connCounter) track(conns ...net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open == nil {
		return false
	}
	for _, conn := range conns {
		c.open[conn] = struct{}{}
	}
	return true
}

func (c *connCounter) untrack(conns ...net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range conns {
		delete(c.open, conn)
	}
}

// close stops accepting, cuts every relayed connection and waits.
func (c *connCounter) close() {
	c.ln.Close()
	c.mu.Lock()
	for conn := range c.open {
		conn.Close()
	}
	c.open = nil
	c.mu.Unlock()
	c.wg.Wait()
}

// syncBuffer is a bytes.Buffer safe for a child's output and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeFile writes content to path in place, as an editor would.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
