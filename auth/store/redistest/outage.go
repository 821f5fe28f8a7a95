package redistest

import (
	"syscall"
	"testing"
	"time"
)

// stopTimeout bounds how long Stop and Kill wait for redis-server to exit.
const stopTimeout = 10 * time.Second

// Stop shuts the server down gracefully (SIGTERM: Redis finishes writing
// its append-only file, if any) and waits until it has exited. A frozen
// server is thawed first.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	p := s.running(tb)
	p.cmd.Process.Signal(syscall.SIGCONT)
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		s.kill()
		tb.Fatalf("redistest: redis-server did not stop within %v", stopTimeout)
	}
	s.forget(p)
}

// Restart stops the server if it runs and starts it again on the same port
// and directory, so that with AppendOnly it reloads its data. It returns
// once the server answers PING.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		s.Stop(tb)
	}
	if err := s.start(); err != nil {
		tb.Fatalf("redistest: restart: %v", err)
	}
}

// Freeze stops the server with SIGSTOP: it keeps its connections and port
// but answers nothing, like a hung machine, until Thaw.
func (s *Server) Freeze(tb testing.TB) {
	tb.Helper()
	s.signal(tb, syscall.SIGSTOP)
}

// Thaw resumes a server stopped by Freeze (SIGCONT).
func (s *Server) Thaw(tb testing.TB) {
	tb.Helper()
	s.signal(tb, syscall.SIGCONT)
}

// Kill ends the server at once with SIGKILL, like a crash, and waits until
// it has gone. Restart brings it back.
func (s *Server) Kill(tb testing.TB) {
	tb.Helper()
	s.running(tb)
	s.kill()
}

// signal sends sig to the running server.
func (s *Server) signal(tb testing.TB, sig syscall.Signal) {
	tb.Helper()
	if err := s.running(tb).cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("redistest: %v: %v", sig, err)
	}
}

// running returns the running process, or fails the test.
func (s *Server) running(tb testing.TB) *process {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		tb.Fatalf("redistest: redis-server on port %d is not running", s.port)
	}
	return s.proc
}

// kill kills the running process, if any, and waits for it. It is the
// test's cleanup too.
func (s *Server) kill() {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return
	}
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
	}
	s.forget(p)
}

// forget clears s.proc if it is still p.
func (s *Server) forget(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == p {
		s.proc = nil
	}
}
