package nginx_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"doorman/auth/googletest"
)

// stack is doorman behind a real nginx rendered from doorman.conf, with a
// fake Google and two upstream apps, all on loopback.
type stack struct {
	dir       string
	port      int // nginx's TLS port, for every *.example.com site
	httpPort  int // nginx's plain-HTTP port
	google    *googletest.Server
	whitelist string        // path of doorman's whitelist file
	doorman   string        // doorman's own address, bypassing nginx
	logs      func() string // doorman's log so far
	conns     *connCounter  // between nginx and doorman: counts connections
	chat      *app
	gpt4      *app
	openai    *fakeOpenAI  // the API behind the GPT-4 site's /v1/
	client    *http.Client // through nginx; a cookie jar; follows no redirect
	anon      *http.Client // the same, without cookies
	jar       http.CookieJar
	flags     []string // further doorman flags
}

// newStack starts everything, doorman with the further flags given;
// t.Cleanup stops it. It skips the test when nginx is not installed, unless
// CI is set.
func newStack(t *testing.T, whitelist string, flags ...string) *stack {
	t.Helper()
	nginxBin := needNginx(t)
	s := &stack{dir: t.TempDir(), google: googletest.NewServer(t), flags: flags}
	s.port, s.httpPort = freePort(t), freePort(t)
	s.whitelist = filepath.Join(s.dir, "whitelist.txt")
	writeFile(t, s.whitelist, whitelist)
	s.chat, s.gpt4 = startApp(t, "chat"), startApp(t, "gpt4")
	s.openai = startFakeOpenAI(t)
	s.doorman, s.logs = startDoorman(t, s)
	s.conns = startConnCounter(t, s.doorman)
	caPool := s.startNginx(t, nginxBin)
	s.jar, _ = cookiejar.New(nil)
	tr := s.transport(caPool)
	t.Cleanup(tr.CloseIdleConnections)
	s.client = &http.Client{Transport: tr, Jar: s.jar, CheckRedirect: noRedirect, Timeout: 10 * time.Second}
	s.anon = &http.Client{Transport: tr, CheckRedirect: noRedirect, Timeout: 10 * time.Second}
	return s
}

// noRedirect makes a client return every redirect: the test follows them
// itself and checks each hop.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// needNginx returns nginx's path, or skips (fails when CI is set).
func needNginx(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("nginx")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("nginx is not on PATH and CI is set: %v", err)
	}
	t.Skipf("nginx is not on PATH: %v", err)
	return ""
}

// url is an address on one of the sites ("chat", "gpt4", "auth") through nginx.
func (s *stack) url(site, pathQuery string) string {
	return "https://" + site + ".example.com:" + strconv.Itoa(s.port) + pathQuery
}

// transport dials every *.example.com on nginx's ports at nginx on loopback,
// trusting only the test CA. It ignores HTTPS_PROXY.
func (s *stack) transport(roots *x509.CertPool) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			onNginx := port == strconv.Itoa(s.port) || port == strconv.Itoa(s.httpPort)
			if !onNginx || (host != "example.com" && !strings.HasSuffix(host, ".example.com")) {
				return nil, fmt.Errorf("test client: %s is not on nginx", addr)
			}
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 5 * time.Second,
	}
}

// startNginx renders doorman.conf into a full nginx.conf, starts nginx and
// waits until it accepts connections. It returns the CA that signed nginx's certificate.
func (s *stack) startNginx(t *testing.T, nginxBin string) *x509.CertPool {
	t.Helper()
	caPool, certFile, keyFile := mustTLSFiles(t, s.dir)
	conf, apiKeyFile := filepath.Join(s.dir, "nginx.conf"), filepath.Join(s.dir, "openai-key.conf")
	writeFile(t, apiKeyFile, fmt.Sprintf("set $openai_key %q;\n", companyKey))
	writeFile(t, conf, nginxConf(s.dir, renderDoormanConf(t,
		"listen 443 ", fmt.Sprintf("listen 127.0.0.1:%d ", s.port),
		"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", s.httpPort),
		"tls/example.com.crt", certFile,
		"tls/example.com.key", keyFile,
		"127.0.0.1:5000", s.conns.addr(), // doorman, through the connection counter
		"127.0.0.1:8080", s.chat.addr,
		"127.0.0.1:8081", s.gpt4.addr,
		"127.0.0.1:8082", s.openai.addr,
		"doorman-openai-key.conf", apiKeyFile,
		"https://auth.example.com", fmt.Sprintf("https://auth.example.com:%d", s.port),
	)))
	p := startProcess(t, "nginx", exec.Command(nginxBin, "-p", s.dir, "-c", conf, "-g", "daemon off;", "-e", "stderr"))
	t.Cleanup(func() {
		if err := p.stop(t, syscall.SIGQUIT); err != nil {
			t.Errorf("nginx exit after SIGQUIT: %v, want exit 0", err)
		}
	})
	waitForAddr(t, p, fmt.Sprintf("127.0.0.1:%d", s.port))
	return caPool
}

// renderDoormanConf returns doorman.conf with each placeholder of the
// placeholder, value pairs replaced. A placeholder missing from the file
// fails the test, so a renamed token never leaves a production address in
// the rendered configuration.
func renderDoormanConf(t *testing.T, pairs ...string) string {
	t.Helper()
	b, err := os.ReadFile("doorman.conf")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(pairs); i += 2 {
		if !bytes.Contains(b, []byte(pairs[i])) {
			t.Fatalf("doorman.conf lacks the placeholder %q", pairs[i])
		}
	}
	return strings.NewReplacer(pairs...).Replace(string(b))
}

// nginxConf is a complete nginx.conf around the rendered doorman.conf, with
// every path nginx writes under dir.
func nginxConf(dir, doormanConf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "worker_processes 1;\npid %s/nginx.pid;\nerror_log stderr notice;\n", dir)
	b.WriteString("events { worker_connections 128; }\nhttp {\n")
	for _, temp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "%s_temp_path %s/%s_temp;\n", temp, dir, temp)
	}
	b.WriteString("access_log off;\ndefault_type application/octet-stream;\n")
	b.WriteString("types { text/html html; text/css css; image/svg+xml svg; }\n")
	b.WriteString(doormanConf)
	b.WriteString("\n}\n")
	return b.String()
}

// mustTLSFiles writes a certificate for example.com and *.example.com and
// its key, signed by a fresh CA, and returns the CA as a pool.
func mustTLSFiles(t *testing.T, dir string) (ca *x509.CertPool, certFile, keyFile string) {
	t.Helper()
	caKey, caCert := mustCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "doorman nginx test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	key, cert := mustCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "example.com"}, DNSNames: []string{"example.com", "*.example.com"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, caCert, caKey)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "example.com.crt"), filepath.Join(dir, "example.com.key")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	ca = x509.NewCertPool()
	ca.AddCert(caCert)
	return ca, certFile, keyFile
}

// mustCert creates a P-256 key and a certificate from tmpl, signed by
// parent (self-signed when parent is nil).
func mustCert(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// startDoorman runs the doorman binary with its Google traffic sent through
// the fake's proxy, waits for /healthz and returns its address and its log.
// Cleanup sends SIGTERM and requires exit status 0.
func startDoorman(t *testing.T, s *stack) (addr string, logs func() string) {
	t.Helper()
	addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(doormanBin,
		"--listen="+addr,
		"--client-id="+s.google.ClientID,
		"--whitelist="+s.whitelist,
		"--secret-file="+filepath.Join(s.dir, "doorman.key"),
		"--cookie-domain=.example.com",
		"--redirect-domains=.example.com:*", // nginx's TLS port is not 443
		fmt.Sprintf("--public-url=https://auth.example.com:%d", s.port),
		"--trusted-ip-header=X-Real-IP",
	)
	cmd.Args = append(cmd.Args, s.flags...)
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
	waitFor(t, 10*time.Second, "doorman /healthz", func() bool {
		p.checkRunning(t)
		resp, err := probe.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return addr, p.output
}

// cleanEnv is the test's environment without DOORMAN_* settings, which
// would otherwise reach the child doorman.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOORMAN_") {
			env = append(env, kv)
		}
	}
	return env
}

// app is an upstream site behind nginx. It answers with what it saw as JSON.
type app struct {
	name string
	addr string
	hits atomic.Int64
}

// appSaw is an app's answer: what reached it through nginx.
type appSaw struct {
	App      string              `json:"app"`
	URI      string              `json:"uri"`
	Email    []string            `json:"email"`    // every X-Auth-Request-Email value
	Left     []string            `json:"left"`     // every X-Doorman-Budget-Remaining value
	Identity map[string][]string `json:"identity"` // other identity headers, and any with "_", that arrived
	Auth     []string            `json:"auth"`     // every Authorization and Proxy-Authorization value
}

// identityHeaders are headers apps built for other auth proxies trust;
// doorman.conf removes them.
func identityHeaders() []string {
	return []string{"X-Forwarded-User", "X-Forwarded-Email", "Remote-User", "X-Remote-User", "X-Auth-Request-User", "X-Webauth-User"}
}

// startApp starts an upstream app on loopback.
func startApp(t *testing.T, name string) *app {
	t.Helper()
	a := &app{name: name}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		saw := appSaw{App: a.name, URI: r.RequestURI, Email: r.Header.Values("X-Auth-Request-Email"), Identity: map[string][]string{}}
		saw.Left = r.Header.Values("X-Doorman-Budget-Remaining")
		saw.Auth = append(r.Header.Values("Authorization"), r.Header.Values("Proxy-Authorization")...)
		for _, h := range identityHeaders() {
			if v := r.Header.Values(h); len(v) > 0 {
				saw.Identity[h] = v
			}
		}
		for name, v := range r.Header {
			if strings.Contains(name, "_") { // X_Auth_Request_Email, as CGI reads it
				saw.Identity[name] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(saw)
	}))
	t.Cleanup(srv.Close)
	a.addr = srv.Listener.Addr().String()
	return a
}
