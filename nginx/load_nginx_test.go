package nginx_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// loadSite is one protected location of the load configuration.
type loadSite struct {
	path   string   // the protected location, e.g. "/doorman"
	auth   *sidecar // the auth_request target
	list   string   // the list the sub-request asks for
	cost   int      // > 0: the sub-request is a counted check of this cost, as doorman.conf's auth_counted
	cached bool     // the auth location includes doorman-microcache.conf
}

// loadConfig is the nginx configuration of a loadStack.
type loadConfig struct {
	sites []loadSite
	// debugHeaders adds X-Auth-Email and X-Auth-Cache (the sub-request's
	// $upstream_cache_status) to every answer, 401s included, for the
	// micro-cache test. Off for load runs.
	debugHeaders bool
}

// startNginx renders cfg and starts nginx on a free loopback port.
func (s *loadStack) startNginx(t *testing.T, cfg loadConfig) {
	t.Helper()
	s.nginxAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	if err := os.MkdirAll(filepath.Join(s.dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dir, "www", "app.txt"), "ok\n")
	recipe, err := os.ReadFile("doorman-microcache.conf")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dir, "doorman-microcache.conf"), string(recipe))
	conf := filepath.Join(s.dir, "nginx.conf")
	writeFile(t, conf, s.renderLoadConf(cfg))
	p := startProcess(t, "nginx", exec.Command(s.nginxBin, "-p", s.dir, "-c", conf, "-g", "daemon off;", "-e", "stderr"))
	t.Cleanup(func() {
		if err := p.stop(t, syscall.SIGQUIT); err != nil {
			t.Errorf("nginx exit after SIGQUIT: %v, want exit 0", err)
		}
	})
	waitForAddr(t, p, s.nginxAddr)
	s.nginx = p
}

// url is path on nginx.
func (s *loadStack) url(path string) string { return "http://" + s.nginxAddr + path }

// renderLoadConf is a complete nginx.conf: one worker (on 2 cores wrk needs
// the other), plain HTTP on loopback, and per site a protected location
// whose app is a static file. A static file is served in the content
// phase, after auth_request; "return 200" would run in the rewrite phase,
// before it, and skip the sub-request entirely.
func (s *loadStack) renderLoadConf(cfg loadConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "worker_processes 1;\npid %s/nginx.pid;\nerror_log stderr warn;\n", s.dir)
	if os.Geteuid() == 0 {
		// As root, workers would run as nobody, who cannot enter the
		// test's 0700 directory to read the app's file or the cache.
		b.WriteString("user root;\n")
	}
	b.WriteString("events { worker_connections 1024; }\nhttp {\n")
	for _, temp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path %s/%s_temp;\n", temp, s.dir, temp)
	}
	b.WriteString("  access_log off;\n  default_type text/plain;\n  keepalive_requests 10000;\n")
	b.WriteString("  open_file_cache max=16 inactive=60s;\n  open_file_cache_valid 60s;\n")
	// The micro-cache zone, as doorman-microcache.conf tells operators to declare it.
	fmt.Fprintf(&b, "  proxy_cache_path %s/auth-cache keys_zone=doorman_auth:1m max_size=16m inactive=10s use_temp_path=off;\n", s.dir)
	writeUpstreams(&b, cfg.sites)
	fmt.Fprintf(&b, "  server {\n    listen %s;\n    server_tokens off;\n", s.nginxAddr)
	for i, site := range cfg.sites {
		s.writeSite(&b, i, site, cfg.debugHeaders)
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// writeUpstreams declares one upstream per sidecar, named after it, with
// keep-alive as doorman.conf has it. The micro-cache recipe proxies to the
// upstream named "doorman".
func writeUpstreams(b *strings.Builder, sites []loadSite) {
	seen := map[string]bool{}
	for _, site := range sites {
		if seen[site.auth.name] {
			continue
		}
		seen[site.auth.name] = true
		fmt.Fprintf(b, "  upstream %s {\n    server %s;\n    keepalive 32;\n  }\n", site.auth.name, site.auth.addr)
	}
}

// writeSite writes site i's protected location and its internal auth
// location: doorman.conf's shape, or the micro-cache recipe.
func (s *loadStack) writeSite(b *strings.Builder, i int, site loadSite, debug bool) {
	auth := fmt.Sprintf("/_auth/%d", i)
	fmt.Fprintf(b, "    location = %s {\n      auth_request %s;\n", site.path, auth)
	b.WriteString("      auth_request_set $auth_email $upstream_http_x_auth_request_email;\n")
	if debug {
		b.WriteString("      auth_request_set $auth_cache $upstream_cache_status;\n")
		b.WriteString("      add_header X-Auth-Email $auth_email always;\n      add_header X-Auth-Cache $auth_cache always;\n")
	}
	fmt.Fprintf(b, "      alias %s/www/app.txt;\n    }\n", s.dir)
	fmt.Fprintf(b, "    location = %s {\n", auth)
	if site.cached {
		fmt.Fprintf(b, "      set $doorman_list %q;\n      include %s/doorman-microcache.conf;\n    }\n", site.list, s.dir)
		return
	}
	query := "list=" + site.list
	if site.cost > 0 {
		query += fmt.Sprintf("&cost=%d", site.cost)
	}
	fmt.Fprintf(b, "      internal;\n      proxy_pass http://%s/auth?%s;\n", site.auth.name, query)
	b.WriteString("      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n")
	b.WriteString("      proxy_pass_request_body off;\n      proxy_set_header Content-Length \"\";\n")
	b.WriteString("      proxy_set_header X-Original-URI $request_uri;\n    }\n")
}
