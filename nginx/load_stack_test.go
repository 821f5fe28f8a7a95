package nginx_test

import (
	"doorman/auth/store"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"doorman/auth/googletest"
)

// loadStack is what the load benchmark and the micro-cache test run: plain
// HTTP nginx on loopback in front of auth_request sidecars (doorman, and
// the always-200 limit), with the fake Google for sign-in. Every doorman of
// a stack shares one key file, so a session cookie is valid at all of them.
type loadStack struct {
	dir       string
	nginxBin  string
	google    *googletest.Server
	secret    string   // doorman's --secret-file
	nginx     *process // nil until startNginx
	nginxAddr string
}

// sidecar is one auth_request target process.
type sidecar struct {
	name      string
	addr      string
	proc      *process
	whitelist string // doorman's whitelist file; "" for the limit
	store     string // doorman's --store: a SQLite file or a redis:// URL; "" for the limit
	bin       string // the binary it runs
}

func (c *sidecar) pid() int { return c.proc.cmd.Process.Pid }

// sessionName is doorman's cookie name with --cookie-secure=false.
const sessionName = "doorman"

// newLoadStack prepares a stack; sidecars and nginx are started on demand.
// It skips the test when nginx is not installed, unless CI is set.
func newLoadStack(t *testing.T) *loadStack {
	t.Helper()
	s := &loadStack{dir: t.TempDir(), nginxBin: needNginx(t)}
	s.google = googletest.NewServer(t)
	s.secret = filepath.Join(s.dir, "doorman.key")
	return s
}

// limitSource is the always-200 sidecar: an empty 200 with Content-Length
// 0 from net/http, with doorman's server timeouts. No auth_request sidecar
// written in Go can answer faster, so it is the physical limit the figures
// are measured against. %s are the idtoken floor's additions (floorImport,
// floorSetup), or nothing.
const limitSource = `package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
%s)

func main() {
%s	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		panic(err)
	}
	zero := []string{"0"}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["Content-Length"] = zero
			w.WriteHeader(http.StatusOK)
		}),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { <-ctx.Done(); srv.Shutdown(context.Background()) }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		panic(err)
	}
}
`

// The idtoken floor is the limit plus what doorman cannot do without:
// google.golang.org/api/idtoken linked in (with what it imports: grpc,
// protobuf, OpenTelemetry) and a Validator made at start, as doorman does.
// It answers like the limit; its memory is the least any sidecar that
// verifies Google's tokens with idtoken can use.
const (
	floorImport = "\n\t\"google.golang.org/api/idtoken\"\n\t\"google.golang.org/api/option\"\n"
	floorSetup  = `	if _, err := idtoken.NewValidator(context.Background(), option.WithHTTPClient(&http.Client{Timeout: 10 * time.Second})); err != nil {
		panic(err)
	}
`
)

// startLimit builds limitSource as its own module, the way doorman is
// built, and starts it.
func (s *loadStack) startLimit(t *testing.T) *sidecar {
	t.Helper()
	dir := filepath.Join(s.dir, "limit")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.mod"), "module limit\n\ngo 1.26\n")
	writeFile(t, filepath.Join(dir, "main.go"), fmt.Sprintf(limitSource, "", ""))
	return s.buildAndStart(t, "limit", dir)
}

// startFloor builds the idtoken floor in a module with doorman's
// requirements (so the same versions, from the module cache) and starts it.
func (s *loadStack) startFloor(t *testing.T) *sidecar {
	t.Helper()
	return s.startFloorWith(t, "floor", "", "")
}

// startFloorWith builds and starts, as name, the idtoken floor with more
// imports and more setup code (after the floor's), given args after its
// address (os.Args[2:]).
func (s *loadStack) startFloorWith(t *testing.T, name, imports, setup string, args ...string) *sidecar {
	t.Helper()
	dir := filepath.Join(s.dir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mod, err1 := os.ReadFile("../go.mod")
	sum, err2 := os.ReadFile("../go.sum")
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.mod"), strings.Replace(string(mod), "module doorman", "module "+name, 1))
	writeFile(t, filepath.Join(dir, "go.sum"), string(sum))
	writeFile(t, filepath.Join(dir, "main.go"), fmt.Sprintf(limitSource, floorImport+imports, floorSetup+setup))
	return s.buildAndStart(t, name, dir, args...)
}

// buildAndStart builds the module in dir with doorman's shipped flags and
// starts it on a free loopback port, with args after the address.
func (s *loadStack) buildAndStart(t *testing.T, name, dir string, args ...string) *sidecar {
	t.Helper()
	build := exec.Command("go", append(append([]string{"build", "-o", name}, shippedFlags...), ".")...)
	build.Dir = dir
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local", "GOPROXY=off", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	c := &sidecar{name: name, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), bin: filepath.Join(dir, name)}
	c.proc = startProcess(t, c.name, exec.Command(c.bin, append([]string{c.addr}, args...)...))
	t.Cleanup(func() { c.proc.stop(t, syscall.SIGTERM) })
	waitForAddr(t, c.proc, c.addr)
	return c
}

// startDoorman writes whitelist to <name>/whitelist.txt (a directory of its
// own: doorman watches the file's directory) and runs the doorman binary
// on it with the stack's key file, plain-HTTP cookies and its Google
// traffic sent through the fake's proxy. Cleanup requires exit status 0.
func (s *loadStack) startDoorman(t *testing.T, name, whitelist string, args ...string) *sidecar {
	t.Helper()
	return s.startDoormanBin(t, doormanBin, name, whitelist, args...)
}

// startDoormanBin is startDoorman with another doorman binary. Its store is
// a SQLite file of its own, unless args name another.
func (s *loadStack) startDoormanBin(t *testing.T, bin, name, whitelist string, args ...string) *sidecar {
	t.Helper()
	c := s.newDoorman(t, bin, name, whitelist, args...)
	s.runDoorman(t, c, args...)
	return c
}

// newDoorman prepares doorman name without starting it: its directory, its
// whitelist file and address, and its store (c.store), which the test may
// fill before runDoorman starts it.
func (s *loadStack) newDoorman(t *testing.T, bin, name, whitelist string, args ...string) *sidecar {
	t.Helper()
	c := &sidecar{name: name, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), whitelist: filepath.Join(s.dir, name, "whitelist.txt"), bin: bin}
	if err := os.Mkdir(filepath.Dir(c.whitelist), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, c.whitelist, whitelist)
	c.store = filepath.Join(filepath.Dir(c.whitelist), "doorman.db")
	for _, a := range args {
		if dsn, ok := strings.CutPrefix(a, "--store="); ok {
			c.store = dsn
		}
	}
	return c
}

// command is the command that runs c (from newDoorman) with args after the
// stack's flags: the stack's key file, plain-HTTP cookies and its Google
// traffic sent through the fake's proxy.
func (s *loadStack) command(c *sidecar, args ...string) *exec.Cmd {
	flags := []string{"--listen=" + c.addr, "--client-id=" + s.google.ClientID,
		"--whitelist=" + c.whitelist, "--secret-file=" + s.secret, "--cookie-secure=false"}
	if c.bin == doormanBin { // a -load.candidate may predate --store
		flags = append(flags, "--store="+c.store)
	}
	cmd := exec.Command(c.bin, append(flags, args...)...)
	cmd.Env = append(cleanEnv(), s.google.ProxyEnv()...)
	return cmd
}

// runDoorman starts c (from newDoorman) with args after the stack's flags
// (see command). Cleanup requires exit status 0.
func (s *loadStack) runDoorman(t *testing.T, c *sidecar, args ...string) {
	t.Helper()
	c.proc = startProcess(t, c.name, s.command(c, args...))
	t.Cleanup(func() {
		if err := c.proc.stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("%s exit after SIGTERM: %v, want exit 0", c.name, err)
		}
	})
	waitForAddr(t, c.proc, c.addr)
}

// doormanCommand prepares doorman name (newDoorman) and returns it, not
// started yet, with the command runDoorman would run: for tests that time
// the start themselves.
func (s *loadStack) doormanCommand(t *testing.T, bin, name, whitelist string, args ...string) (*sidecar, *exec.Cmd) {
	t.Helper()
	c := s.newDoorman(t, bin, name, whitelist, args...)
	return c, s.command(c, args...)
}

// signIn signs email in at doorman d for the site of list the way a
// browser does — the sign-in page, then Google's POST to /callback with
// the page's nonce — and returns the session as a Cookie header pair,
// "doorman=<value>". email must be on list.
func (s *loadStack) signIn(t *testing.T, d *sidecar, email, list string) string {
	t.Helper()
	client := &http.Client{CheckRedirect: noRedirect, Timeout: 10 * time.Second}
	base := "http://" + d.addr
	login := base + "/login?rd=/"
	if list != "" {
		login = base + "/login?list=" + url.QueryEscape(list) + "&rd=/"
	}
	page, body := do(t, client, newRequest(t, http.MethodGet, login, nil))
	nonce, uri := nonceAttr.FindStringSubmatch(body), loginURIAttr.FindStringSubmatch(body)
	if page.StatusCode != http.StatusOK || nonce == nil || uri == nil {
		t.Fatalf("GET %s/login = %d, want 200 with data-nonce and data-login_uri:\n%s", base, page.StatusCode, body)
	}
	form, csrf := s.google.CallbackForm(s.google.Token(t, googletest.Claims{Email: email, Nonce: nonce[1]}))
	req := newRequest(t, http.MethodPost, base+html.UnescapeString(uri[1]), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range append(page.Cookies(), csrf) {
		req.AddCookie(c)
	}
	resp, _ := do(t, client, req)
	c := findCookie(resp, sessionName)
	if resp.StatusCode != http.StatusSeeOther || c == nil {
		t.Fatalf("POST /callback for %s = %d with Set-Cookie %q, want 303 and a %s cookie",
			email, resp.StatusCode, resp.Header.Values("Set-Cookie"), sessionName)
	}
	return sessionName + "=" + c.Value
}

// tampered is cookie with one character of its value changed: the same
// length, and no longer valid.
func tampered(cookie string) string {
	i := len(cookie) / 2
	c := byte('A')
	if cookie[i] == 'A' {
		c = 'B'
	}
	return cookie[:i] + string(c) + cookie[i+1:]
}

// authStatus asks doorman d directly whether cookie may use list.
func authStatus(t *testing.T, client *http.Client, d *sidecar, list, cookie string) int {
	t.Helper()
	req := newRequest(t, http.MethodGet, "http://"+d.addr+"/auth?list="+url.QueryEscape(list), nil)
	req.Header.Set("Cookie", cookie)
	resp, _ := do(t, client, req)
	return resp.StatusCode
}

// replaceFile replaces path with content by an atomic rename, as
// deployment tools do.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// whitelistOf builds a whitelist file: n generated addresses
// user<l>.<i>@example.com spread evenly over the main list (l = 0) and
// list1..list4, plus extra entries per list ("" is the main list).
func whitelistOf(n int, extra map[string][]string) string {
	var b strings.Builder
	for l := range 5 {
		name := ""
		if l > 0 {
			name = fmt.Sprintf("list%d", l)
			fmt.Fprintf(&b, "[%s]\n", name)
		}
		for i := range n / 5 {
			fmt.Fprintf(&b, "user%d.%d@example.com\n", l, i)
		}
		for _, e := range extra[name] {
			b.WriteString(e + "\n")
		}
	}
	return b.String()
}

// makeToken makes a personal token of email for list in d's store (SQLite
// or Redis), as the tokens page does, and waits until d accepts it.
func (s *loadStack) makeToken(t *testing.T, d *sidecar, email, list string) string {
	t.Helper()
	st, err := store.Open(t.Context(), d.store, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, now := newDoormanToken(), time.Now()
	err = st.CreateToken(t.Context(), store.Token{
		ID: tokenIDOf(tok), Email: email, Name: "load", Prefix: tok[:12],
		Lists: []string{list}, Created: now, Expires: now.Add(24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "doorman accepts the new token", func() bool {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+d.addr+"/auth?list="+list, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return tok
}
