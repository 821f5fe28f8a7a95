package googletest_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"doorman/auth/googletest"
)

// proxyEnv returns s.ProxyEnv() as a map, failing on malformed entries.
func proxyEnv(t *testing.T, s *googletest.Server) map[string]string {
	t.Helper()
	env := make(map[string]string)
	for _, kv := range s.ProxyEnv() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("ProxyEnv() entry %q has no '='", kv)
		}
		env[k] = v
	}
	return env
}

// proxyClient returns a client that goes through s's proxy and, if
// trustCA, trusts only the CA in ProxyEnv's SSL_CERT_FILE (else the
// system roots).
func proxyClient(t *testing.T, s *googletest.Server, trustCA bool) *http.Client {
	t.Helper()
	env := proxyEnv(t, s)
	proxyURL, err := url.Parse(env["HTTPS_PROXY"])
	if err != nil {
		t.Fatalf("parse HTTPS_PROXY: %v", err)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{}}
	if trustCA {
		tr.TLSClientConfig.RootCAs = mustPool(t, env["SSL_CERT_FILE"])
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// mustPool returns a pool of the certificates in the PEM file at path.
func mustPool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read SSL_CERT_FILE: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("SSL_CERT_FILE %s holds no PEM certificate", path)
	}
	return pool
}

func TestProxyEnv(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	env := proxyEnv(t, s)
	u, err := url.Parse(env["HTTPS_PROXY"])
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Errorf("HTTPS_PROXY = %q, want http://127.0.0.1:PORT", env["HTTPS_PROXY"])
	}
	for _, k := range []string{"NO_PROXY", "no_proxy"} {
		if v, ok := env[k]; !ok || v != "" {
			t.Errorf("ProxyEnv()[%s] = %q (present %v), want present and empty", k, v, ok)
		}
	}
	mustPool(t, env["SSL_CERT_FILE"])
}

func TestProxyServesGoogleOverTLS(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	c := proxyClient(t, s, true)
	for range 2 {
		if got := kids(fetchJWKS(t, c, certsURL)); !slices.Equal(got, []string{"test-key-1"}) {
			t.Errorf("kids via proxy = %v, want [test-key-1]", got)
		}
	}
	if got := len(fetchJWKS(t, c, iapURL).Keys); got != 0 {
		t.Errorf("IAP JWKS via proxy has %d keys, want 0", got)
	}
	want := []string{"www.googleapis.com:443", "www.gstatic.com:443"}
	if got := s.ProxiedHosts(); !slices.Equal(got, want) {
		t.Errorf("ProxiedHosts() = %v, want %v (one tunnel per host, kept alive)", got, want)
	}
	if got, want := s.KeyFetches(), 2; got != want {
		t.Errorf("KeyFetches() = %d, want %d", got, want)
	}
}

func TestProxyNeedsTestCA(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	_, err := proxyClient(t, s, false).Get(certsURL)
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Errorf("GET via proxy with system roots = %v, want a *tls.CertificateVerificationError", err)
	}
}

// rawConnect sends "CONNECT target" to the proxy at addr and returns the
// status of its answer.
func rawConnect(t *testing.T, addr, target string) (int, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodConnect})
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestProxyConnectTargets(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	addr := strings.TrimPrefix(proxyEnv(t, s)["HTTPS_PROXY"], "http://")
	tests := []struct {
		target string
		want   int
	}{
		{"www.googleapis.com:443", http.StatusOK},
		{"WWW.GStatic.com:443", http.StatusOK},
		{"example.com:443", http.StatusForbidden},
		{"www.googleapis.com:80", http.StatusForbidden},
		{"www.googleapis.com.evil.example:443", http.StatusForbidden},
		{"127.0.0.1:443", http.StatusForbidden},
		{"www.googleapis.com", http.StatusForbidden},
	}
	for _, tt := range tests {
		if got, err := rawConnect(t, addr, tt.target); err != nil || got != tt.want {
			t.Errorf("CONNECT %s = %d, %v; want %d", tt.target, got, err, tt.want)
		}
	}
	want := []string{"www.googleapis.com:443", "www.gstatic.com:443"}
	if got := s.ProxiedHosts(); !slices.Equal(got, want) {
		t.Errorf("ProxiedHosts() = %v, want %v", got, want)
	}
	resp, err := http.Get("http://" + addr + "/oauth2/v3/certs")
	if err != nil {
		t.Fatalf("plain GET to the proxy: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("plain GET to the proxy = %d, want %d", resp.StatusCode, http.StatusMethodNotAllowed)
	}
}

func TestProxyUnreachable(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	c := proxyClient(t, s, true)
	fetchJWKS(t, c, certsURL) // leaves a kept-alive tunnel open

	s.SetUnreachable(true)
	if resp, err := c.Get(certsURL); err == nil {
		resp.Body.Close()
		t.Errorf("GET via proxy while unreachable = %d, want an error", resp.StatusCode)
	}
	addr := strings.TrimPrefix(proxyEnv(t, s)["HTTPS_PROXY"], "http://")
	if got, err := rawConnect(t, addr, "www.googleapis.com:443"); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("CONNECT while unreachable = %d, %v; want the connection dropped (EOF)", got, err)
	}
	s.SetUnreachable(false)
	fetchJWKS(t, c, certsURL)
	if got, want := s.KeyFetches(), 2; got != want {
		t.Errorf("KeyFetches() = %d, want %d", got, want)
	}
}

func TestProxyWithIDToken(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	v := newValidator(t, proxyClient(t, s, true))
	mustValidate(t, v, s, s.Token(t, googletest.Claims{Email: "alice@example.com"}))

	// An ES256 token makes idtoken fetch the gstatic key set, also through
	// the proxy; SignRaw's 64-byte signature is safe to hand to idtoken.
	es := s.SignRaw(t, map[string]any{"alg": "ES256", "kid": "k"},
		map[string]any{"aud": s.ClientID, "exp": 1 << 40}, "ES256")
	if _, err := v.Validate(t.Context(), es, s.ClientID); err == nil {
		t.Errorf("Validate(ES256 token) = nil error, want an error")
	}
	want := []string{"www.googleapis.com:443", "www.gstatic.com:443"}
	if got := s.ProxiedHosts(); !slices.Equal(got, want) {
		t.Errorf("ProxiedHosts() = %v, want %v", got, want)
	}
}

// helperEnv marks the child process of TestProxyEnvChildProcess.
const helperEnv = "GOOGLETEST_HELPER_FETCH_CERTS"

func TestProxyEnvChildProcess(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperFetchCerts$")
	cmd.Env = append(os.Environ(), s.ProxyEnv()...)
	cmd.Env = append(cmd.Env, helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"kid":"test-key-1"`) {
		t.Errorf("child process output = %s, want the JWKS with test-key-1", out)
	}
	if got, want := s.ProxiedHosts(), []string{"www.googleapis.com:443"}; !slices.Equal(got, want) {
		t.Errorf("ProxiedHosts() = %v, want %v", got, want)
	}
}

// TestHelperFetchCerts is not a test: it is the child process of
// TestProxyEnvChildProcess, fetching Google's certs with the default
// client, which reads HTTPS_PROXY and SSL_CERT_FILE from the environment.
func TestHelperFetchCerts(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("child process of TestProxyEnvChildProcess")
	}
	resp, err := http.Get(certsURL)
	if err != nil {
		t.Fatalf("GET %s: %v", certsURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, %v; want 200", certsURL, resp.StatusCode, err)
	}
	fmt.Printf("%s\n", body)
}
