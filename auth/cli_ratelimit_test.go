package auth

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"doorman/auth/cli"
)

// exchange is one request a recordingHandler saw, and its answer.
type exchange struct {
	at         time.Time
	path, from string // from: the User-Agent
	status     int
	retry      time.Duration // the answer's Retry-After
}

// recordingHandler serves next and records every exchange.
type recordingHandler struct {
	next http.Handler
	mu   sync.Mutex
	log  []exchange
}

func (h *recordingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	at := time.Now()
	h.next.ServeHTTP(rec, r)
	retry, _ := strconv.Atoi(w.Header().Get("Retry-After"))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, exchange{at: at, path: r.URL.Path, from: r.UserAgent(), status: rec.status, retry: time.Duration(retry) * time.Second})
}

// exchanges returns what path answered the client whose User-Agent is from.
func (h *recordingHandler) exchanges(path, from string) []exchange {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []exchange
	for _, e := range h.log {
		if e.path == path && e.from == from {
			out = append(out, e)
		}
	}
	return out
}

// limited reports whether the client from was answered 429 at path.
func (h *recordingHandler) limited(path, from string) bool {
	for _, e := range h.exchanges(path, from) {
		if e.status == http.StatusTooManyRequests {
			return true
		}
	}
	return false
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// drainer keeps a client's allowance for the program routes spent: it
// polls /device/token with junk, from the CLI's address, every 100 ms
// while on.
type drainer struct{ on atomic.Bool }

const drainerAgent = "drainer"

func (d *drainer) run(t *testing.T, url string) {
	for t.Context().Err() == nil {
		if d.on.Load() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/device/token", strings.NewReader("device_code=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("User-Agent", drainerAgent)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCLILoginWhenLimited: doorman login against a doorman whose rate
// limit its client has spent (here by a drainer on the same address, as
// other terminals behind one NAT would): the CLI's request for a code and
// its polls are answered 429 slow_down, it waits at least Retry-After each
// time, and the login still ends with a token /auth accepts.
func TestCLILoginWhenLimited(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil) // unlimited: where alice approves
	rec := &recordingHandler{next: NewServer(td.h, ServerConfig{Pages: mustPages(t), Ready: td.wl.Ready, RateLimit: 0.5})}
	limited := httptest.NewServer(rec) // 0.5/s: a burst of 10, then one every 2 s
	t.Cleanup(limited.Close)
	var d drainer
	d.on.Store(true)
	go d.run(t, limited.URL)
	waitFor(t, 10*time.Second, "the drainer spending the allowance", func() bool { return rec.limited("/device/token", drainerAgent) })

	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"XDG_CONFIG_HOME": dir}[k] }
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(t.Context(), []string{"login", limited.URL, "--list", "gpt4"}, getenv, out, out)
	}()
	const cliAgent = "Go-http-client/1.1"
	waitFor(t, 10*time.Second, "the CLI's code request limited", func() bool { return rec.limited("/device/code", cliAgent) })
	d.on.Store(false)
	waitFor(t, 30*time.Second, "login printing the code", func() bool { return printedCode.MatchString(out.String()) })
	d.on.Store(true)
	waitFor(t, 30*time.Second, "a poll of the CLI's limited", func() bool { return rec.limited("/device/token", cliAgent) })
	d.on.Store(false)
	code := printedCode.FindStringSubmatch(out.String())[1]
	if resp, body := decide(t, td, mintSession(t, td.h, "alice@example.com"), code, "approve"); resp.StatusCode != http.StatusOK {
		t.Fatalf("approve = %d:\n%s", resp.StatusCode, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("doorman login while limited = %v; printed %q", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("doorman login did not finish; printed %q", out.String())
	}
	for _, path := range []string{"/device/code", "/device/token"} {
		checkWaited(t, path, rec.exchanges(path, cliAgent))
	}
	var tok strings.Builder
	if err := cli.Run(t.Context(), []string{"token", limited.URL}, getenv, &tok, &tok); err != nil {
		t.Fatalf("doorman token = %v", err)
	}
	waitFor(t, 5*time.Second, "the token admitted at /auth?list=gpt4", func() bool {
		return authWith(t, td, "gpt4", "Authorization", "Bearer "+strings.TrimSpace(tok.String()), nil).StatusCode == http.StatusOK
	})
}

// checkWaited checks that after each 429 the client asked path again no
// sooner than the Retry-After it was given.
func checkWaited(t *testing.T, path string, ex []exchange) {
	t.Helper()
	for i := 0; i+1 < len(ex); i++ {
		t.Logf("%s: %d (Retry-After %v), asked again after %v", path, ex[i].status, ex[i].retry, ex[i+1].at.Sub(ex[i].at))
		if ex[i].status != http.StatusTooManyRequests {
			continue
		}
		if ex[i].retry < time.Second {
			t.Errorf("%s: a 429 with Retry-After %v, want at least 1s", path, ex[i].retry)
		}
		if gap := ex[i+1].at.Sub(ex[i].at); gap < ex[i].retry {
			t.Errorf("%s: the CLI asked again %v after a 429 with Retry-After %v", path, gap, ex[i].retry)
		}
	}
	if last := ex[len(ex)-1]; last.status == http.StatusTooManyRequests {
		t.Errorf("%s: the CLI's last request was refused (429); want it answered", path)
	}
}
