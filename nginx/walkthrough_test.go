package nginx_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"doorman/auth/googletest"
)

// TestReadmeWalkthrough follows README.md's "Deploying" as a newcomer would,
// from the clone: step 5's blocks run as written (the copy of doorman.conf
// and nginx.conf in ~/doorman-nginx, the self-signed certificate for
// example.com and *.example.com, and nginx -t on the copy), with HOME a
// temporary directory. Then nginx serves that copy, doorman runs with the
// flags of step 4's systemd unit, and alice signs in through them with the
// fake Google. What a test cannot do is left out and said where: the
// listening ports and the addresses behind nginx become free loopback ones,
// and the public URL gets nginx's port.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	nginxBin := needNginx(t)
	needTool(t, "openssl")
	conf := runWalkthrough(t, t.TempDir())
	s := startWalkthrough(t, nginxBin, conf)

	chat := s.url("chat", chatPath)
	resp, _ := s.get(t, s.client, chat, nil)
	login := wantRedirect(t, resp, http.StatusFound, s.loginURL("", chat))
	resp = s.signIn(t, login, chat, alice)
	wantRedirect(t, resp, http.StatusSeeOther, chat)
	resp, body := s.get(t, s.client, chat, nil)
	if saw := wantApp(t, resp, body, "chat"); !slices.Equal(saw.Email, []string{alice}) {
		t.Errorf("chat app saw X-Auth-Request-Email %q, want %q", saw.Email, alice)
	}
	resp, body = s.get(t, s.client, s.url("auth", "/"), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, alice) {
		t.Errorf("GET auth.example.com/ = %d, want doorman's signed-in page naming %s:\n%s", resp.StatusCode, alice, body)
	}
	if logs := s.logs(); strings.Contains(logs, forgedIP) {
		t.Errorf("doorman logged the client's forged X-Real-IP %s: nginx passed it on\n%s", forgedIP, logs)
	}
}

// runWalkthrough runs step 5's blocks in the clone with HOME set to home and
// returns the directory they made. As root, the check runs too (sudo runs
// its command as it is); otherwise nginx -t could not try ports 80 and 443,
// and startWalkthrough's nginx -t on loopback ports stands in for it.
func runWalkthrough(t *testing.T, home string) string {
	t.Helper()
	script := readmeBlock(t, "render") + readmeBlock(t, "certificate")
	if os.Geteuid() == 0 {
		script += "sudo() { \"$@\"; }\n" + readmeBlock(t, "check")
	} else {
		t.Log("not root: the README's sudo nginx -t is replaced by one on loopback ports")
	}
	out := runShell(t, "..", []string{"HOME=" + home}, script)
	if os.Geteuid() == 0 && !strings.Contains(out, "test is successful") {
		t.Fatalf("the README's nginx -t did not succeed:\n%s", out)
	}
	conf := filepath.Join(home, "doorman-nginx")
	for _, f := range []string{"doorman.conf", "nginx.conf"} {
		got, err := os.ReadFile(filepath.Join(conf, f))
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := os.ReadFile(f); string(got) != string(want) {
			t.Errorf("the README's copy of %s with its own example values differs from nginx/%s", f, f)
		}
	}
	return conf
}

// startWalkthrough starts the fake Google, the two apps, doorman and nginx
// from the walk-through's directory conf, and returns them as a stack.
func startWalkthrough(t *testing.T, nginxBin, conf string) *stack {
	t.Helper()
	s := &stack{dir: t.TempDir(), google: googletest.NewServer(t)}
	s.port, s.httpPort = freePort(t), freePort(t)
	s.whitelist = filepath.Join(s.dir, "whitelist.txt")
	writeFile(t, s.whitelist, alice+"\n")
	s.chat, s.gpt4 = startApp(t, "chat"), startApp(t, "gpt4")
	s.doorman, s.logs = startReadmeDoorman(t, s)
	caPool := startConfNginx(t, nginxBin, conf, s)
	s.jar, _ = cookiejar.New(nil)
	tr := s.transport(caPool)
	t.Cleanup(tr.CloseIdleConnections)
	s.client = &http.Client{Transport: tr, Jar: s.jar, CheckRedirect: noRedirect, Timeout: 10 * time.Second}
	s.anon = &http.Client{Transport: tr, CheckRedirect: noRedirect, Timeout: 10 * time.Second}
	return s
}

// startConfNginx points the copy in conf at the test's ports and processes,
// checks it with nginx -t and serves it as nginx.conf's comment says, with
// -g "daemon off;". It returns the copy's certificate as the client's only
// root: the README's self-signed one.
func startConfNginx(t *testing.T, nginxBin, conf string, s *stack) *x509.CertPool {
	t.Helper()
	file := filepath.Join(conf, "doorman.conf")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, file, replaceAll(t, string(b),
		"listen 443 ", fmt.Sprintf("listen 127.0.0.1:%d ", s.port),
		"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", s.httpPort),
		"127.0.0.1:5000", s.doorman,
		"127.0.0.1:8080", s.chat.addr,
		"127.0.0.1:8081", s.gpt4.addr,
		"https://auth.example.com", fmt.Sprintf("https://auth.example.com:%d", s.port),
	))
	args := []string{"-p", conf + "/", "-c", "nginx.conf", "-e", "stderr"}
	if out, err := exec.CommandContext(t.Context(), nginxBin, append(args, "-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t on the walk-through's copy: %v\n%s", err, out)
	}
	p := startProcess(t, "nginx", exec.Command(nginxBin, append(args, "-g", "daemon off;")...))
	t.Cleanup(func() {
		if err := p.stop(t, syscall.SIGQUIT); err != nil {
			t.Errorf("nginx exit after SIGQUIT: %v, want exit 0", err)
		}
	})
	waitForAddr(t, p, fmt.Sprintf("127.0.0.1:%d", s.port))
	return certPool(t, filepath.Join(conf, "tls", "example.com.crt"))
}

// replaceAll replaces each placeholder of the placeholder, value pairs in
// text, failing the test for a placeholder text lacks.
func replaceAll(t *testing.T, text string, pairs ...string) string {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("replace %q: not in the text:\n%s", pairs[i], text)
		}
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

// certPool returns a pool holding the PEM certificate in file.
func certPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM block", file)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// startReadmeDoorman runs the binary with the flags of the README's systemd
// unit, each as written except where the test's doorman must differ: its
// address, the fake Google's client ID, files in the test's directory, the
// public URL with nginx's port, and rd allowed on that port. Cleanup sends
// SIGTERM and requires exit status 0.
func startReadmeDoorman(t *testing.T, s *stack) (addr string, logs func() string) {
	t.Helper()
	flags := readmeFlags(t)
	addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	want := map[string]string{"--listen": "127.0.0.1:5000", "--public-url": "https://auth.example.com"}
	for name, value := range want {
		if got := flagValue(flags, name); got != value {
			t.Fatalf("the README's unit has %s=%q, want %q, as in doorman.conf", name, got, value)
		}
	}
	flags = setFlags(t, flags,
		"--listen", addr,
		"--client-id", s.google.ClientID,
		"--whitelist", s.whitelist,
		"--secret-file", filepath.Join(s.dir, "doorman.key"),
		"--store", filepath.Join(s.dir, "doorman.db"),
		"--public-url", fmt.Sprintf("https://auth.example.com:%d", s.port),
	)
	cmd := exec.Command(doormanBin, append(flags, "--redirect-domains=.example.com:*")...)
	cmd.Env = append(cleanEnv(), s.google.ProxyEnv()...)
	p := startProcess(t, "doorman", cmd)
	t.Cleanup(func() {
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("doorman exit after SIGTERM: %v, want exit 0", err)
		}
		if logs := p.output(); strings.Contains(logs, `"level":"ERROR"`) {
			t.Errorf("doorman logged an error:\n%s", logs)
		}
	})
	probe := &http.Client{Timeout: time.Second}
	waitFor(t, 10*time.Second, "doorman /readyz", func() bool {
		p.checkRunning(t)
		resp, err := probe.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return addr, p.output
}

// readmeFlags returns the flags of ExecStart in the README's systemd unit.
func readmeFlags(t *testing.T) []string {
	t.Helper()
	unit := strings.ReplaceAll(readmeBlock(t, "doorman-service"), "\\\n", " ")
	for _, line := range strings.Split(unit, "\n") {
		cmdline, ok := strings.CutPrefix(line, "ExecStart=")
		if !ok {
			continue
		}
		fields := strings.Fields(cmdline)
		if fields[0] != "/usr/local/bin/doorman" {
			t.Fatalf("the README's unit runs %q, want /usr/local/bin/doorman, where Getting doorman installs it", fields[0])
		}
		return fields[1:]
	}
	t.Fatal("the README's systemd unit has no ExecStart")
	return nil
}

// flagValue returns the value of --name=value in flags, or "".
func flagValue(flags []string, name string) string {
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}

// setFlags replaces the value of each flag of the name, value pairs, failing
// the test for a flag the README does not set.
func setFlags(t *testing.T, flags []string, pairs ...string) []string {
	t.Helper()
	flags = slices.Clone(flags)
	for i := 0; i < len(pairs); i += 2 {
		at := slices.IndexFunc(flags, func(f string) bool { return strings.HasPrefix(f, pairs[i]+"=") })
		if at < 0 {
			t.Fatalf("the README's unit does not set %s", pairs[i])
		}
		flags[at] = pairs[i] + "=" + pairs[i+1]
	}
	return flags
}

// TestReadmeWalkthroughValues: the three values at the top of step 5 are all
// a newcomer changes. With other ones, the copy has the new domain, app
// addresses and certificate names, and nothing of the example's.
func TestReadmeWalkthroughValues(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	script := replaceAll(t, readmeBlock(t, "render"),
		"DOMAIN=example.com ", "DOMAIN=corp.test ",
		"CHAT_APP=127.0.0.1:8080 ", "CHAT_APP=10.0.0.7:3000 ",
		"GPT4_APP=127.0.0.1:8081 ", "GPT4_APP=10.0.0.8:3001 ",
	)
	runShell(t, "..", []string{"HOME=" + home}, script)
	b, err := os.ReadFile(filepath.Join(home, "doorman-nginx", "doorman.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	for _, gone := range []string{"example.com", "127.0.0.1:8080", "127.0.0.1:8081"} {
		if strings.Contains(conf, gone) {
			t.Errorf("the walk-through's copy still has %q", gone)
		}
	}
	for _, want := range []string{
		"server_name chat.corp.test;", "server_name gpt4.corp.test;", "server_name auth.corp.test;",
		"server 10.0.0.7:3000;", "server 10.0.0.8:3001;", "ssl_certificate     tls/corp.test.crt;",
		"return 302 https://auth.corp.test/login?rd=",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("the walk-through's copy lacks %q", want)
		}
	}
}

// TestReadmeInstall runs step 5 with its installation block against a copy
// of this machine's /etc/nginx, when that is Debian's (conf.d/*.conf inside
// http {}, a default site on port 80): /etc/nginx in the block becomes the
// copy, nginx reads the copy's nginx.conf, and systemctl does nothing. nginx
// -t must pass with the distribution's own configuration around the copy.
func TestReadmeInstall(t *testing.T) {
	t.Parallel()
	needNginx(t)
	needTool(t, "openssl")
	if os.Geteuid() != 0 {
		t.Skip("nginx -t of a whole configuration tries ports 80 and 443: root only")
	}
	stock, err := os.ReadFile("/etc/nginx/nginx.conf")
	if err != nil || !strings.Contains(string(stock), "include /etc/nginx/conf.d/*.conf;") {
		t.Skipf("no Debian nginx.conf in /etc/nginx (%v)", err)
	}
	etc := filepath.Join(t.TempDir(), "nginx")
	if out, err := exec.Command("cp", "-a", "/etc/nginx", etc).CombinedOutput(); err != nil {
		t.Fatalf("copy /etc/nginx: %v\n%s", err, out)
	}
	conf := strings.ReplaceAll(string(stock), "/etc/nginx/", etc+"/")
	conf = regexp.MustCompile(`(?m)^(\s*)(pid|error_log|access_log) [^;]*;`).ReplaceAllString(conf, "${1}${2} "+etc+"/${2};")
	writeFile(t, filepath.Join(etc, "nginx.conf"), conf)

	shims := "sudo() { \"$@\"; }\nsystemctl() { :; }\n" +
		"nginx() { command nginx -c \"" + etc + "/nginx.conf\" -e stderr \"$@\"; }\n"
	install := strings.ReplaceAll(readmeBlock(t, "install"), "/etc/nginx", etc)
	out := runShell(t, "..", []string{"HOME=" + t.TempDir()}, shims+readmeBlock(t, "render")+readmeBlock(t, "certificate")+install)
	if !strings.Contains(out, "test is successful") {
		t.Errorf("nginx -t after the README's installation:\n%s", out)
	}
}
