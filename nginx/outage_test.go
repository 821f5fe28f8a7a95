package nginx_test

import (
	"bufio"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"doorman/auth/googletest"
	"doorman/auth/store/redistest"
)

const (
	// outageFor is how long at least each outage lasts.
	outageFor = 2 * time.Second
	// noticeBound is how soon each replica must log that the store went:
	// a call in flight fails within its wait (1 s) and timeout (1 s).
	noticeBound = 5 * time.Second
	// catchUpBound is how soon doorman catches up once the store is back
	// (README "Sessions and the store").
	catchUpBound = 5 * time.Second
)

// TestStoreOutageUnderLoad takes the shared Redis of two replicas down
// twice under /auth traffic, frozen (a hung machine) and then stopped (a
// refused connection): /auth keeps answering from memory, right every
// time; sign-in and logout answer the 503 page and change nothing;
// /readyz stays 200; each replica logs each change once; and once Redis
// is back they catch up without a restart.
func TestStoreOutageUnderLoad(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t, redistest.AppendOnly())
	s := newReplicaSet(t, redis.URL())
	a, b := s.start(t, "A"), s.start(t, "B")
	rs := []*replica{a, b}
	s.startNginx(t, a, b)
	live, ended := s.signIn(t, a.sidecar, alice, ""), s.signIn(t, a.sidecar, alice, "")
	spare := s.signIn(t, b.sidecar, bob, "")
	s.mustLogout(t, b, ended)
	s.whenRefused(t, rs, ended, time.Now(), propagationBound)

	l := s.startLoad(t, rs, live, ended)
	var up []storeUpSample
	time.Sleep(500 * time.Millisecond) // traffic before the outage
	for n, o := range []struct {
		name     string
		down, up func(testing.TB)
	}{
		{"frozen", redis.Freeze, redis.Thaw},
		{"stopped", redis.Stop, redis.Restart},
	} {
		up = append(up, s.outage(t, rs, n+1, o.name, o.down, live)...)
		o.up(t)
		back := time.Now()
		if o.name == "stopped" { // a logout at A at once is seen by B once B catches up
			s.mustLogout(t, a, spare)
			took := s.whenRefused(t, rs, spare, back, catchUpBound)
			t.Logf("logout at A as Redis came back: refused by %s after Redis's return", formatTimes(took))
		}
		up = append(up, s.caughtUp(t, rs, n+1, o.name, back)...)
	}
	time.Sleep(time.Second) // traffic after the outage; time for a late log line
	l.finish(t)
	for _, r := range rs {
		if u, c := r.logCount("store unreachable"), r.logCount("store reachable"); u != 2 || c != 2 {
			t.Errorf("%s logged %q %d times and %q %d times, want 2 and 2 (once per change)",
				r.name, "store unreachable", u, "store reachable", c)
		}
		s.wantAuth(t, r, "the session whose logout was refused", live, http.StatusOK)
	}
	s.wantThroughNginx(t, rs, live, http.StatusOK)
	// What the store holds: alice's live session only, and nothing of the
	// sign-ins and logouts refused meanwhile.
	s.wantLiveSessions(t, alice, 1)
	s.wantLiveSessions(t, bob, 0)
	s.wantAuth(t, a, "session signed in after the outage", s.signIn(t, b.sidecar, bob, ""), http.StatusOK)
	t.Run("doorman_store_up follows the store", func(t *testing.T) { checkStoreUp(t, up) })
}

// outage takes the store down with down (the n-th outage, named name)
// and at once signs bob in at one replica and logs live out at the other,
// together: both must answer the 503 page and change nothing. It returns
// once every replica has logged its n-th "store unreachable" and outageFor
// has passed, with each replica's doorman_store_up then.
func (s *replicaSet) outage(t *testing.T, rs []*replica, n int, name string, down func(testing.TB), live string) []storeUpSample {
	t.Helper()
	signIn, logout := rs[n%2], rs[(n+1)%2]
	callback := s.callbackRequest(t, signIn, bob)
	out := newRequest(t, http.MethodGet, "http://"+logout.addr+"/logout", nil)
	out.Header.Set("Cookie", live)
	down(t)
	start := time.Now()
	answers := s.sendTogether(callback, out)
	wantUnavailable(t, "POST "+signIn.name+"/callback", answers[0])
	wantUnavailable(t, "GET "+logout.name+"/logout", answers[1])
	for _, r := range rs {
		waitFor(t, noticeBound-time.Since(start), r.name+` logs "store unreachable"`, func() bool {
			return r.logCount("store unreachable") >= n
		})
		t.Logf("Redis %s: %s logged %q within %v", name, r.name, "store unreachable", time.Since(start).Round(time.Millisecond))
	}
	time.Sleep(outageFor - time.Since(start))
	return s.sampleStoreUp(t, rs, name, 0)
}

// caughtUp waits until every replica has logged its n-th "store reachable",
// within catchUpBound of back, and checks neither message was logged more
// than n times. It returns each replica's doorman_store_up then.
func (s *replicaSet) caughtUp(t *testing.T, rs []*replica, n int, name string, back time.Time) []storeUpSample {
	t.Helper()
	for _, r := range rs {
		waitFor(t, catchUpBound-time.Since(back), r.name+` logs "store reachable"`, func() bool {
			return r.logCount("store reachable") >= n
		})
		t.Logf("Redis back from %s: %s logged %q after %v", name, r.name, "store reachable", time.Since(back).Round(time.Millisecond))
		if u, c := r.logCount("store unreachable"), r.logCount("store reachable"); u != n || c != n {
			t.Errorf("after outage %d %s logged %q %d times and %q %d times, want %d and %d",
				n, r.name, "store unreachable", u, "store reachable", c, n, n)
		}
	}
	return s.sampleStoreUp(t, rs, "back from "+name, 1)
}

// callbackRequest opens the sign-in page at r and returns the POST to
// /callback that Google would have the browser send for email.
func (s *replicaSet) callbackRequest(t *testing.T, r *replica, email string) *http.Request {
	t.Helper()
	base := "http://" + r.addr
	page, body := do(t, s.client, newRequest(t, http.MethodGet, base+"/login?rd=/", nil))
	nonce, uri := nonceAttr.FindStringSubmatch(body), loginURIAttr.FindStringSubmatch(body)
	if page.StatusCode != http.StatusOK || nonce == nil || uri == nil {
		t.Fatalf("GET %s/login = %d, want the sign-in page:\n%s", r.name, page.StatusCode, body)
	}
	form, csrf := s.google.CallbackForm(s.google.Token(t, googletest.Claims{Email: email, Nonce: nonce[1]}))
	req := newRequest(t, http.MethodPost, base+html.UnescapeString(uri[1]), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range append(page.Cookies(), csrf) {
		req.AddCookie(c)
	}
	return req
}

// answer is a response with its body read, or the error that stood for it.
type answer struct {
	resp *http.Response
	body string
	err  error
}

// sendTogether sends every request at once and returns their answers in
// order.
func (s *replicaSet) sendTogether(reqs ...*http.Request) []answer {
	answers := make([]answer, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			a := &answers[i]
			if a.resp, a.err = s.client.Do(req); a.err == nil {
				b, err := io.ReadAll(a.resp.Body)
				a.resp.Body.Close()
				a.body, a.err = string(b), err
			}
		})
	}
	wg.Wait()
	return answers
}

// wantUnavailable fails unless a is the 503 page with no Set-Cookie at
// all: no session cookie set or cleared, no "you have signed out" note.
func wantUnavailable(t *testing.T, what string, a answer) {
	t.Helper()
	if a.err != nil {
		t.Errorf("%s with the store down: %v, want the 503 page", what, a.err)
		return
	}
	set := a.resp.Header.Values("Set-Cookie")
	if len(set) > 0 || !isUnavailablePage(a.resp, a.body) {
		t.Errorf("%s with the store down = %d, Content-Type %q, Set-Cookie %q; want the 503 page and no Set-Cookie:\n%s",
			what, a.resp.StatusCode, a.resp.Header.Get("Content-Type"), set, a.body)
	}
}

// isUnavailablePage reports whether resp is a 503 HTML page.
func isUnavailablePage(resp *http.Response, body string) bool {
	return resp.StatusCode == http.StatusServiceUnavailable &&
		strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") && strings.Contains(body, "<html")
}

// wantLiveSessions fails unless `doorman sessions EMAIL` lists want
// sessions of email in the store.
func (s *replicaSet) wantLiveSessions(t *testing.T, email string, want int) {
	t.Helper()
	cmd := exec.Command(doormanBin, "sessions", "--json", "--store="+s.store, email)
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	var listed []json.RawMessage
	if err == nil {
		err = json.Unmarshal(out, &listed)
	}
	if err != nil {
		t.Fatalf("doorman sessions %s: %v\n%s", email, err, out)
	}
	if len(listed) != want {
		t.Errorf("doorman sessions %s lists %d sessions, want %d:\n%s", email, len(listed), want, out)
	}
}

// storeUpSample is one replica's doorman_store_up at one moment.
type storeUpSample struct {
	when    string // "frozen", "back from frozen", …
	replica string
	want    string
	got     string // "" when the metric is missing
}

// sampleStoreUp reads doorman_store_up from each replica's /metrics.
func (s *replicaSet) sampleStoreUp(t *testing.T, rs []*replica, when string, want int) []storeUpSample {
	t.Helper()
	var out []storeUpSample
	for _, r := range rs {
		resp, body := do(t, s.client, newRequest(t, http.MethodGet, "http://"+r.metrics+"/metrics", nil))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s /metrics = %d, want 200", r.name, resp.StatusCode)
		}
		out = append(out, storeUpSample{when: when, replica: r.name, want: map[int]string{0: "0", 1: "1"}[want],
			got: metricValue(body, "doorman_store_up")})
	}
	return out
}

// metricValue returns the value of the unlabelled metric name in a
// Prometheus text exposition, or "".
func metricValue(exposition, name string) string {
	sc := bufio.NewScanner(strings.NewReader(exposition))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// checkStoreUp checks doorman_store_up was 0 while the store was down and
// 1 once each replica had logged it back.
func checkStoreUp(t *testing.T, samples []storeUpSample) {
	for _, u := range samples {
		if u.got != u.want {
			t.Errorf("%s: %s doorman_store_up = %q, want %s", u.when, u.replica, u.got, u.want)
		}
	}
}
