package nginx_test

import (
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var printedCode = regexp.MustCompile(`code ([A-Z]{4}-[A-Z]{4})`)

// TestDeviceSignInThroughNginx: `doorman login` on the auth host through
// nginx, reaching it through HTTPS_PROXY and trusting it through
// SSL_CERT_FILE; alice approves the code at /device; `doorman token`
// prints a token doorman accepts on the list asked for; `doorman logout`
// ends it.
func TestDeviceSignInThroughNginx(t *testing.T) {
	t.Parallel()
	s := newStack(t, whitelistFile([]string{bob, alice}, []string{alice}), "--device-sign-in")
	chat := s.url("chat", chatPath)
	resp, _ := s.get(t, s.client, chat, nil)
	wantRedirect(t, s.signIn(t, wantRedirect(t, resp, http.StatusFound, s.loginURL("", chat)), chat, alice), http.StatusSeeOther, chat)

	proxy := startTunnel(t, s.port)
	env := append(cleanEnv(), "HTTPS_PROXY=http://"+proxy.addr, "NO_PROXY=", "no_proxy=",
		"SSL_CERT_FILE="+filepath.Join(s.dir, "example.com.crt"), "XDG_CONFIG_HOME="+t.TempDir())
	authHost := strings.TrimSuffix(s.url("auth", "/"), "/")
	login := exec.Command(doormanBin, "login", authHost, "--list", "gpt4")
	login.Env = env
	printed := &syncBuffer{}
	login.Stdout, login.Stderr = printed, printed
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "doorman login printing the code", func() bool { return printedCode.MatchString(printed.String()) })
	code := printedCode.FindStringSubmatch(printed.String())[1]
	approve(t, s, code)
	if err := waitCmd(login, 20*time.Second); err != nil {
		t.Fatalf("doorman login: %v\n%s", err, printed.String())
	}
	if got := printed.String(); !strings.Contains(got, authHost+"/device?code="+code) {
		t.Errorf("doorman login printed %q, want the verification URL", got)
	}
	tok := runCLI(t, env, "token", authHost)
	bearer := http.Header{"Authorization": {"Bearer " + strings.TrimSpace(tok)}}
	direct := "http://" + s.doorman + "/auth?list=gpt4"
	if resp, _ := s.get(t, &http.Client{}, direct, bearer); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Auth-Request-Email") != alice {
		t.Errorf("/auth?list=gpt4 with the token = %d %q, want 200 alice", resp.StatusCode, resp.Header.Get("X-Auth-Request-Email"))
	}
	runCLI(t, env, "logout")
	waitFor(t, time.Second, "the token refused after logout", func() bool {
		resp, _ := s.get(t, &http.Client{}, direct, bearer)
		return resp.StatusCode == http.StatusUnauthorized
	})
	if got := proxy.targets(); !slices.Contains(got, "auth.example.com:"+strings.TrimPrefix(authHost, "https://auth.example.com:")) {
		t.Errorf("CONNECT targets = %q, want the auth host: the CLI did not use HTTPS_PROXY", got)
	}
}

// approve approves code as the signed-in alice, through nginx.
func approve(t *testing.T, s *stack, code string) {
	t.Helper()
	resp, body := s.get(t, s.client, s.url("auth", "/device?code="+code), nil)
	token := csrfField.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || token == nil {
		t.Fatalf("GET /device?code= = %d, want the approval form:\n%s", resp.StatusCode, body)
	}
	form := url.Values{"code": {code}, "decision": {"approve"}, "csrf": {html.UnescapeString(token[1])}}
	req := newRequest(t, http.MethodPost, s.url("auth", "/device"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", strings.TrimSuffix(s.url("auth", "/"), "/"))
	if resp, body := do(t, s.client, req); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /device = %d:\n%s", resp.StatusCode, body)
	}
}

// runCLI runs doorman with args and env and returns its output; it must
// exit 0.
func runCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(doormanBin, args...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("doorman %s: %v %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitCmd waits for cmd, killing it after d.
func waitCmd(cmd *exec.Cmd, d time.Duration) error {
	timer := time.AfterFunc(d, func() { cmd.Process.Kill() })
	defer timer.Stop()
	return cmd.Wait()
}

// tunnel is an HTTPS CONNECT proxy that tunnels *.example.com on nginx's
// TLS port to nginx on loopback, and nothing else.
type tunnel struct {
	addr string
	mu   sync.Mutex
	seen []string
}

func startTunnel(t *testing.T, port int) *tunnel {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tunnel{addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, portStr, _ := net.SplitHostPort(r.Host)
		if r.Method != http.MethodConnect || !strings.HasSuffix(host, ".example.com") || portStr != strconv.Itoa(port) {
			http.Error(w, "not tunneled", http.StatusForbidden)
			return
		}
		p.mu.Lock()
		p.seen = append(p.seen, r.Host)
		p.mu.Unlock()
		upstream, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", portStr))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		go func() { io.Copy(upstream, buf); upstream.Close() }()
		io.Copy(conn, upstream)
		conn.Close()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *tunnel) targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}
