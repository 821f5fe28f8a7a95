package nginx_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// replicaSet is doorman replicas sharing one key file, one whitelist and
// one store (README "Several replicas"), behind one plain-HTTP nginx whose
// auth_request upstream lists them all.
type replicaSet struct {
	*loadStack
	whitelist string // every replica's --whitelist
	store     string // every replica's --store
	client    *http.Client
}

// replica is one doorman process of a replicaSet.
type replica struct {
	*sidecar
	metrics string // its --metrics-listen address
}

// newReplicaSet prepares replicas on store with alice and bob on the main
// list. It skips the test when nginx is not installed, unless CI is set.
func newReplicaSet(t *testing.T, store string) *replicaSet {
	t.Helper()
	s := &replicaSet{loadStack: newLoadStack(t), store: store}
	s.whitelist = filepath.Join(s.dir, "whitelist", "whitelist.txt")
	if err := os.Mkdir(filepath.Dir(s.whitelist), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.whitelist, alice+"\n"+bob+"\n")
	s.client = &http.Client{CheckRedirect: noRedirect, Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(s.client.CloseIdleConnections)
	return s
}

// start runs a replica named name and waits until it is ready.
func (s *replicaSet) start(t *testing.T, name string) *replica {
	t.Helper()
	r := &replica{
		sidecar: &sidecar{name: name, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), whitelist: s.whitelist},
		metrics: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}
	s.run(t, r)
	s.waitReady(t, r)
	return r
}

// run starts r's process, again on the same addresses after kill. Cleanup
// stops a running one with SIGTERM and requires exit status 0, and fails
// the test if it logged an error.
func (s *replicaSet) run(t *testing.T, r *replica) {
	t.Helper()
	cmd := exec.Command(doormanBin, "--listen="+r.addr, "--metrics-listen="+r.metrics,
		"--client-id="+s.google.ClientID, "--whitelist="+s.whitelist, "--secret-file="+s.secret,
		"--cookie-secure=false", "--store="+s.store)
	cmd.Env = append(cleanEnv(), s.google.ProxyEnv()...)
	p := startProcess(t, r.name, cmd)
	r.proc = p
	t.Cleanup(func() {
		if !p.exited() {
			if err := p.stop(t, syscall.SIGTERM); err != nil {
				t.Errorf("%s exit after SIGTERM: %v, want exit 0", r.name, err)
			}
		}
		if logs := p.output(); strings.Contains(logs, `"level":"ERROR"`) {
			t.Errorf("%s logged an error:\n%s", r.name, logs)
		}
	})
}

// kill ends r at once with SIGKILL, like a crash, and waits until it has gone.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	r.proc.checkRunning(t)
	if err := r.proc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r.proc.done
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady waits until r answers /readyz with 200: its whitelist and keys
// are loaded and it has read the store once.
func (s *replicaSet) waitReady(t *testing.T, r *replica) {
	t.Helper()
	waitFor(t, 10*time.Second, r.name+" /readyz 200", func() bool {
		r.proc.checkRunning(t)
		code, _, err := s.probe(t.Context(), "http://"+r.addr+"/readyz", "")
		return err == nil && code == http.StatusOK
	})
}

// probe sends a GET to url with the Cookie header cookie (none when "")
// and returns the status and X-Auth-Upstream, the doorman nginx asked. It
// may run in any goroutine.
func (s *replicaSet) probe(ctx context.Context, url, cookie string) (code int, upstream string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Auth-Upstream"), nil
}

// authURL is r's /auth, asked directly.
func (r *replica) authURL() string { return "http://" + r.addr + "/auth" }

// logout sends GET /logout to r with cookie and returns the answer.
func (s *replicaSet) logout(t *testing.T, r *replica, cookie string) (*http.Response, string) {
	t.Helper()
	req := newRequest(t, http.MethodGet, "http://"+r.addr+"/logout", nil)
	req.Header.Set("Cookie", cookie)
	return do(t, s.client, req)
}

// mustLogout ends cookie's session at r: a 303 to /login that clears the
// session cookie.
func (s *replicaSet) mustLogout(t *testing.T, r *replica, cookie string) {
	t.Helper()
	resp, body := s.logout(t, r, cookie)
	c := findCookie(resp, sessionName)
	if resp.StatusCode != http.StatusSeeOther || c == nil || c.MaxAge >= 0 {
		t.Fatalf("GET %s/logout = %d, Set-Cookie %q; want 303 clearing %s:\n%s",
			r.name, resp.StatusCode, resp.Header.Values("Set-Cookie"), sessionName, body)
	}
}

// wantAuth fails unless r answers /auth for cookie with want.
func (s *replicaSet) wantAuth(t *testing.T, r *replica, what, cookie string, want int) {
	t.Helper()
	if got := authStatus(t, s.client, r.sidecar, "", cookie); got != want {
		t.Errorf("%s /auth (%s) = %d, want %d", r.name, what, got, want)
	}
}

// startNginx starts nginx on a free loopback port with two protected
// locations, /app and the counted /gpt4/call, whose auth_request goes to
// the upstream "doorman" that lists every replica, as an operator running
// replicas would write it. Each answer names the doorman asked in
// X-Auth-Upstream.
func (s *replicaSet) startNginx(t *testing.T, rs ...*replica) {
	t.Helper()
	s.nginxAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	if err := os.MkdirAll(filepath.Join(s.dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dir, "www", "app.txt"), "ok\n")
	conf := filepath.Join(s.dir, "nginx.conf")
	writeFile(t, conf, s.renderReplicasConf(rs))
	p := startProcess(t, "nginx", exec.Command(s.nginxBin, "-p", s.dir, "-c", conf, "-g", "daemon off;", "-e", "stderr"))
	t.Cleanup(func() {
		if err := p.stop(t, syscall.SIGQUIT); err != nil {
			t.Errorf("nginx exit after SIGQUIT: %v, want exit 0", err)
		}
	})
	waitForAddr(t, p, s.nginxAddr)
	s.nginx = p
}

// renderReplicasConf is a complete nginx.conf: doorman.conf's auth_request
// location shape, with an upstream of every replica. /app is a static
// file, served after auth_request (see renderLoadConf); /gpt4/call is the
// same file behind a counted check (cost=1 on the list gpt4), as
// doorman.conf's route that calls the model.
func (s *replicaSet) renderReplicasConf(rs []*replica) string {
	var b strings.Builder
	fmt.Fprintf(&b, "worker_processes 1;\npid %s/nginx.pid;\nerror_log stderr warn;\n", s.dir)
	if os.Geteuid() == 0 {
		b.WriteString("user root;\n") // see renderLoadConf
	}
	b.WriteString("events { worker_connections 256; }\nhttp {\n")
	for _, temp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path %s/%s_temp;\n", temp, s.dir, temp)
	}
	b.WriteString("  access_log off;\n  default_type text/plain;\n  upstream doorman {\n")
	// max_fails=0: by default (max_fails=1 fail_timeout=10s) one refused
	// connection takes a replica out for 10 s, and restarting the replicas
	// one after the other within that time (a key rotation) leaves nginx
	// "no live upstreams", a 500 for everyone, while one is ready. nginx
	// still asks the next replica when one refuses (proxy_next_upstream).
	for _, r := range rs {
		fmt.Fprintf(&b, "    server %s max_fails=0;\n", r.addr)
	}
	b.WriteString("    keepalive 32;\n  }\n")
	fmt.Fprintf(&b, "  server {\n    listen %s;\n    server_tokens off;\n", s.nginxAddr)
	s.writeReplicasLocation(&b, "/app", "/_doorman/auth", "/auth")
	s.writeReplicasLocation(&b, "/gpt4/call", "/_doorman/auth_counted", "/auth?list=gpt4&cost=1")
	b.WriteString("  }\n}\n")
	return b.String()
}

// writeReplicasLocation writes the protected location path, whose
// auth_request goes to the internal location auth, which asks the
// upstream "doorman" for query. Each answer names the doorman asked in
// X-Auth-Upstream, the status of each attempt in X-Auth-Status (nginx's
// $upstream_status: 502 when it could not reach one) and doorman's
// X-Doorman-Refusal.
func (s *replicaSet) writeReplicasLocation(b *strings.Builder, path, auth, query string) {
	fmt.Fprintf(b, "    location = %s {\n      auth_request %s;\n", path, auth)
	b.WriteString("      auth_request_set $auth_upstream $upstream_addr;\n")
	b.WriteString("      auth_request_set $auth_status $upstream_status;\n")
	b.WriteString("      auth_request_set $auth_refusal $upstream_http_x_doorman_refusal;\n")
	b.WriteString("      add_header X-Auth-Upstream $auth_upstream always;\n")
	b.WriteString("      add_header X-Auth-Status $auth_status always;\n")
	b.WriteString("      add_header X-Doorman-Refusal $auth_refusal always;\n")
	fmt.Fprintf(b, "      alias %s/www/app.txt;\n    }\n", s.dir)
	fmt.Fprintf(b, "    location = %s {\n      internal;\n      proxy_pass http://doorman%s;\n", auth, query)
	b.WriteString("      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n")
	b.WriteString("      proxy_pass_request_body off;\n      proxy_set_header Content-Length \"\";\n    }\n")
}

// logCount counts the log lines of r whose message is msg.
func (r *replica) logCount(msg string) int {
	return strings.Count(r.proc.output(), `"msg":"`+msg+`"`)
}
