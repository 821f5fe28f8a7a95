package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"doorman/auth/googletest"
)

// countingObserver counts sign-in outcomes and key fetch failures.
type countingObserver struct {
	keyFailures atomic.Int64
	mu          sync.Mutex
	signIns     map[string]int // "outcome/reason"
}

func (o *countingObserver) AuthChecked(string, bool, time.Duration) {}
func (o *countingObserver) KeyFetchFailed()                         { o.keyFailures.Add(1) }
func (o *countingObserver) BudgetChecked(string, string)            {}
func (o *countingObserver) SignIn(outcome, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.signIns[outcome+"/"+reason]++
}

// signInCount is how many sign-ins ended with outcome and reason.
func (o *countingObserver) signInCount(outcome, reason string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.signIns[outcome+"/"+reason]
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// googleSignIn is a Handler whose verifier fetches keys from a fake
// Google through client, with its observer and debug-level JSON log.
type googleSignIn struct {
	h      *Handler
	google *googletest.Server
	obs    *countingObserver
	log    *syncBuffer
}

// newGoogleSignIn builds a googleSignIn; client wraps the fake's own client.
func newGoogleSignIn(t *testing.T, client func(g *googletest.Server) *http.Client) *googleSignIn {
	t.Helper()
	g := googletest.NewServer(t)
	s := &googleSignIn{google: g, obs: &countingObserver{signIns: map[string]int{}}, log: &syncBuffer{}}
	h, err := New(Config{
		ClientID: g.ClientID, Allowlist: fakeAllowlist{"": {"alice@example.com"}}, Keys: [][]byte{secret(1)}, Store: testStore(t),
		CookieName: "doorman", CookieTTL: time.Hour, HTTPClient: client(g), Observer: s.obs,
		Logger: slog.New(slog.NewJSONHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.h = h
	return s
}

// callbackRequest is a genuine POST of alice's sign-in to target, with ctx.
func (s *googleSignIn) callbackRequest(t *testing.T, ctx context.Context, target string) *http.Request {
	t.Helper()
	nonce, nc := boundNonce(t, s.h)
	form, csrf := s.google.CallbackForm(s.google.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce}))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	req.AddCookie(nc)
	return req
}

// signIn runs Callback on a genuine sign-in with ctx and returns the status
// it answers and its body.
func (s *googleSignIn) signIn(t *testing.T, ctx context.Context) (int, string) {
	t.Helper()
	code, body, err := s.callback(s.callbackRequest(t, ctx, "/callback"))
	if err != nil {
		t.Fatalf("Callback() = %v", err)
	}
	return code, body
}

// callback runs Callback on req and returns the status it answers (an
// *echo.HTTPError's code when it returns one) and its body. Any other
// error is returned. Safe to call from any goroutine.
func (s *googleSignIn) callback(req *http.Request) (int, string, error) {
	rec := httptest.NewRecorder()
	err := s.h.callback(echo.New().NewContext(req, rec))
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he.Code, rec.Body.String(), nil
	case err != nil:
		return 0, "", err
	}
	return rec.Code, rec.Body.String(), nil
}

// joined is how many requests have waited on the key fetches under way.
func (s *googleSignIn) joined() int {
	k := s.h.verifier.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, f := range k.flights {
		n += f.joined
	}
	return n
}

// clientTimerFirst is a transport that, when its request fails, returns
// only once http.Client's own Timeout timer has fired: net/http closes the
// deprecated req.Cancel right after it records that its timer fired, so
// this forces the order in which net/http replaces the transport's error
// with its own timeout error.
type clientTimerFirst struct{ base http.RoundTripper }

func (t clientTimerFirst) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil && req.Cancel != nil {
		<-req.Cancel
	}
	return resp, err
}

// ownTimeout is a transport with a timeout of its own, shorter than the
// client's (as http.Transport's ResponseHeaderTimeout): its error comes first.
type ownTimeout struct {
	base  http.RoundTripper
	after time.Duration
}

func (t ownTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.after)
	defer cancel()
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("timeout awaiting response headers: %w", err)
	}
	return resp, nil
}

// TestSignInWhileGoogleHangs has Google accept the key request and never
// answer: the sign-in is a 503 ("try again") every time, whichever timer
// ends the wait — http.Client's own Timeout (forced to fire before the
// transport's error returns), the transport's own timeout, or the
// request's deadline — and a sign-in works once Google answers again.
func TestSignInWhileGoogleHangs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		client       func(g *googletest.Server) *http.Client
		deadline     time.Duration // of the request; 0 means none
		wantFailures int64         // key fetches that failed, per sign-in
	}{
		{"client Timeout fires first", func(g *googletest.Server) *http.Client {
			return &http.Client{Transport: clientTimerFirst{g.Client().Transport}, Timeout: 100 * time.Millisecond}
		}, 0, 1},
		{"transport's own timeout fires first", func(g *googletest.Server) *http.Client {
			return &http.Client{Transport: ownTimeout{g.Client().Transport, 50 * time.Millisecond}, Timeout: 10 * time.Second}
		}, 0, 1},
		{"request deadline passes first", func(g *googletest.Server) *http.Client {
			return &http.Client{Transport: g.Client().Transport, Timeout: 10 * time.Second}
		}, 50 * time.Millisecond, 0}, // the fetch goes on; this sign-in stopped waiting
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newGoogleSignIn(t, tt.client)
			s.google.SetKeysHang(true)
			const tries = 3
			for range tries {
				ctx, cancel := t.Context(), context.CancelFunc(func() {})
				if tt.deadline > 0 {
					ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				}
				code, body := s.signIn(t, ctx)
				cancel()
				if code != http.StatusServiceUnavailable {
					t.Errorf("sign-in while Google hangs = %d %q, want 503", code, body)
				}
			}
			if got := s.obs.signInCount("refused", "google_unreachable"); got != tries {
				t.Errorf("google_unreachable refusals = %d, want %d; log:\n%s", got, tries, s.log)
			}
			if got := s.obs.keyFailures.Load(); got != tt.wantFailures*tries {
				t.Errorf("key fetch failures = %d, want %d", got, tt.wantFailures*tries)
			}
			s.google.SetKeysHang(false)
			if code, body := s.signIn(t, t.Context()); code != http.StatusSeeOther {
				t.Errorf("sign-in once Google answers = %d %q, want 303", code, body)
			}
		})
	}
}

// TestHungUpSignInIsNotGoogleFailing has five visitors hang up on a real
// HTTP server while their sign-ins wait on Google's keys (cold cache, Google
// slow but reachable): nothing counts as Google failing, nothing is logged
// as a refusal, and no error page is written for them.
func TestHungUpSignInIsNotGoogleFailing(t *testing.T) {
	t.Parallel()
	s := newGoogleSignIn(t, func(g *googletest.Server) *http.Client { return g.Client() })
	type result struct {
		status int
		err    error
	}
	results := make(chan result, 5)
	var started atomic.Int64
	e := echo.New()
	e.POST("/callback", func(c echo.Context) error {
		started.Add(1)
		err := s.h.callback(c)
		results <- result{c.Response().Status, err}
		return err
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	s.google.SetKeysHang(true)
	ctx, hangUp := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 5 {
		req := s.callbackRequest(t, ctx, srv.URL+"/callback")
		wg.Go(func() {
			if resp, err := srv.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	// Every request is in its handler (its body sent whole) and one waits
	// on Google: the hang-up cancels the requests' contexts from here on.
	waitFor(t, 5*time.Second, "five sign-ins waiting on one key fetch", func() bool {
		return started.Load() == 5 && s.google.KeyFetches() >= 1
	})
	hangUp()
	wg.Wait()
	for range 5 {
		select {
		case r := <-results:
			if r.err != nil || r.status != 499 {
				t.Errorf("Callback for a visitor who hung up = %d, %v; want 499 (client closed request) written, no error", r.status, r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a sign-in whose visitor hung up did not end within 10 s")
		}
	}
	if got := s.obs.keyFailures.Load(); got != 0 {
		t.Errorf("key fetch failures = %d, want 0", got)
	}
	log := s.log.String()
	if strings.Contains(log, "google_unreachable") || strings.Contains(log, "sign-in refused") {
		t.Errorf("log for visitors who hung up has a refusal:\n%s", log)
	}
	if got := strings.Count(log, `"level":"DEBUG","msg":"sign-in abandoned"`); got != 5 {
		t.Errorf("log has %d debug lines \"sign-in abandoned\", want 5:\n%s", got, log)
	}
	s.google.SetKeysHang(false)
	if code, body := s.signIn(t, t.Context()); code != http.StatusSeeOther {
		t.Errorf("sign-in after the hang-ups = %d %q, want 303", code, body)
	}
}

// TestImpatientVisitorDoesNotAbortKeyFetch has the visitor whose sign-in
// started the key fetch hang up while a second sign-in waits on the same
// fetch: the second is answered from that fetch once Google answers, and
// nothing counts as Google failing.
func TestImpatientVisitorDoesNotAbortKeyFetch(t *testing.T) {
	t.Parallel()
	s := newGoogleSignIn(t, func(g *googletest.Server) *http.Client { return g.Client() })
	s.google.SetKeysHang(true)
	ctx, hangUp := context.WithCancel(t.Context())
	impatient, patient := s.callbackRequest(t, ctx, "/callback"), s.callbackRequest(t, t.Context(), "/callback")
	codes := map[string]chan int{"impatient": make(chan int, 1), "patient": make(chan int, 1)}
	serve := func(name string, req *http.Request) {
		code, body, err := s.callback(req)
		if err != nil {
			t.Errorf("%s Callback() = %v, %q", name, err, body)
		}
		codes[name] <- code
	}
	go serve("impatient", impatient)
	waitFor(t, 5*time.Second, "one sign-in waiting", func() bool { return s.joined() == 1 })
	go serve("patient", patient)
	waitFor(t, 5*time.Second, "two sign-ins waiting", func() bool { return s.joined() == 2 })
	hangUp()
	if code := <-codes["impatient"]; code != 499 {
		t.Errorf("sign-in of the visitor who hung up = %d, want 499", code)
	}
	s.google.SetKeysHang(false)
	if code := <-codes["patient"]; code != http.StatusSeeOther {
		t.Errorf("sign-in waiting on the same fetch = %d, want 303", code)
	}
	if got := s.google.KeyFetches(); got != 1 {
		t.Errorf("key fetches = %d, want 1 (shared)", got)
	}
	if got := s.obs.keyFailures.Load(); got != 0 {
		t.Errorf("key fetch failures = %d, want 0", got)
	}
}

// TestKeyFetchShared has 20 sign-ins arrive on a cold key cache while
// Google is slow: Google is asked once, and all 20 are answered from that
// one fetch.
func TestKeyFetchShared(t *testing.T) {
	t.Parallel()
	s := newGoogleSignIn(t, func(g *googletest.Server) *http.Client { return g.Client() })
	s.google.SetKeysHang(true)
	reqs := make([]*http.Request, 20)
	for i := range reqs {
		reqs[i] = s.callbackRequest(t, t.Context(), "/callback")
	}
	var wg sync.WaitGroup
	var signedIn atomic.Int64
	for _, req := range reqs {
		wg.Go(func() {
			if code, _, err := s.callback(req); err == nil && code == http.StatusSeeOther {
				signedIn.Add(1)
			}
		})
	}
	waitFor(t, 5*time.Second, "every sign-in waiting", func() bool { return s.joined() == len(reqs) })
	if got := s.google.KeyFetches(); got != 1 {
		t.Errorf("key fetches for %d waiting sign-ins = %d, want 1", len(reqs), got)
	}
	s.google.SetKeysHang(false)
	wg.Wait()
	if got := signedIn.Load(); got != int64(len(reqs)) {
		t.Errorf("sign-ins answered 303 = %d, want %d", got, len(reqs))
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	v := &verifier{now: time.Now}
	valid := googletest.NewServer(t).Token(t, googletest.Claims{})
	tests := []struct {
		name      string
		fetchErr  error
		reason    string // Refusal reason; "" for none
		abandoned bool
	}{
		{"visitor hung up", fmt.Errorf("wait for google keys: %w", context.Canceled), "", true},
		{"request deadline", fmt.Errorf("wait for google keys: %w", context.DeadlineExceeded), "google_unreachable", false},
		{"fetch failed", &keyFetchError{cause: "503 Service Unavailable"}, "google_unreachable", false},
		{"fetch timed out", &keyFetchError{cause: "context deadline exceeded"}, "google_unreachable", false},
		{"no fetch", nil, "bad_token", false},
	}
	for _, tt := range tests {
		err := v.classify(valid, tt.fetchErr, errors.New("net/http: request canceled (Client.Timeout exceeded)"))
		if got := errors.Is(err, errAbandoned); got != tt.abandoned || reasonOf(err) != tt.reason {
			t.Errorf("classify(%s) = %v, want reason %q, abandoned %v", tt.name, err, tt.reason, tt.abandoned)
		}
	}
}

// waitFor polls cond until it holds, failing the test with what after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(time.Millisecond)
	}
}
