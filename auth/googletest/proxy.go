package googletest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// googleHosts are the names the proxy's certificate covers.
func googleHosts() []string { return []string{"www.googleapis.com", "www.gstatic.com"} }

// proxy is an HTTPS CONNECT proxy that does not forward anything: it ends
// each tunnel itself with a certificate for Google's hosts, signed by a
// private test CA, and serves the fake Google over it.
type proxy struct {
	s       *Server
	addr    string          // host:port the proxy listens on
	caFile  string          // PEM file of the test CA
	tlsConf *tls.Config     // the leaf certificate for googleHosts
	front   *http.Server    // answers CONNECT requests
	back    *http.Server    // serves the fake over the TLS tunnels
	tunnels *tunnelListener // hands the tunnels from front to back
}

// startProxy starts the proxy for s on 127.0.0.1 and registers its
// shutdown with tb.Cleanup.
func startProxy(tb testing.TB, s *Server) *proxy {
	tb.Helper()
	caPEM, leaf := mustCerts(tb)
	caFile := filepath.Join(tb.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		tb.Fatalf("googletest: write CA file: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("googletest: proxy listen: %v", err)
	}
	p := &proxy{
		s:       s,
		addr:    ln.Addr().String(),
		caFile:  caFile,
		tlsConf: &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12},
		tunnels: newTunnelListener(ln.Addr()),
	}
	p.front = quietServer(http.HandlerFunc(p.serveConnect))
	p.back = quietServer(http.HandlerFunc(p.serveTunnel))
	var wg sync.WaitGroup
	wg.Go(func() { p.front.Serve(ln) })
	wg.Go(func() { p.back.Serve(p.tunnels) })
	tb.Cleanup(func() {
		p.front.Close()
		p.back.Close() // also closes every tunnel, idle or busy
		wg.Wait()
	})
	return p
}

// quietServer returns an http.Server for h that does not log, so that
// tests which make handshakes fail on purpose stay readable.
func quietServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
}

// serveConnect accepts "CONNECT www.googleapis.com:443" (and
// www.gstatic.com:443), answers 200 and hands the connection, wrapped in
// TLS, to the back server. Other targets get 403, other methods 405.
func (p *proxy) serveConnect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		w.Header().Set("Allow", http.MethodConnect)
		http.Error(w, "googletest proxy: only CONNECT", http.StatusMethodNotAllowed)
		return
	}
	if p.s.isDown() {
		panic(http.ErrAbortHandler) // drop the connection unanswered
	}
	target := strings.ToLower(r.Host)
	if !isGoogleTarget(target) {
		http.Error(w, "googletest proxy: CONNECT target not allowed", http.StatusForbidden)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "googletest proxy: hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	conn.SetDeadline(time.Time{}) // clear the front server's deadlines
	p.s.recordProxied(target)     // before the 200: a client that saw it finds the host listed
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	p.tunnels.push(tls.Server(bufferedConn(conn, buf.Reader), p.tlsConf))
}

// isGoogleTarget reports whether hostport is a Google host on port 443.
func isGoogleTarget(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	return err == nil && port == "443" && slices.Contains(googleHosts(), host)
}

// serveTunnel serves the fake Google to a client inside a tunnel, or cuts
// the connection off while SetUnreachable(true) is in force.
func (p *proxy) serveTunnel(w http.ResponseWriter, r *http.Request) {
	if p.s.isDown() {
		panic(http.ErrAbortHandler)
	}
	p.s.handler.ServeHTTP(w, r)
}

// recordProxied notes a tunneled CONNECT target.
func (s *Server) recordProxied(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proxied = append(s.proxied, target)
}

// ProxyEnv returns environment settings that send a child process's calls
// to Google through the fake's proxy and make it trust the test CA:
//
//	HTTPS_PROXY=http://127.0.0.1:PORT
//	SSL_CERT_FILE=<temp dir>/ca.pem
//	NO_PROXY=
//	no_proxy=
//
// Append them to os.Environ() for exec.Cmd.Env; later entries win. The
// empty NO_PROXY and no_proxy keep an inherited bypass list from skipping
// the proxy (Go reads no_proxy when NO_PROXY is empty). The child must use
// a client built on http.DefaultTransport, which reads these variables;
// the system roots stay trusted too, as Go reads SSL_CERT_DIR's default
// directories as well.
func (s *Server) ProxyEnv() []string {
	return []string{
		"HTTPS_PROXY=http://" + s.proxy.addr,
		"SSL_CERT_FILE=" + s.proxy.caFile,
		"NO_PROXY=",
		"no_proxy=",
	}
}

// ProxiedHosts returns the CONNECT targets the proxy has accepted and
// tunneled, in order, as lower-case "host:port" (for example
// "www.googleapis.com:443"). Refused and dropped CONNECTs are not listed.
func (s *Server) ProxiedHosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.proxied)
}

// bufferedConn returns conn, reading first whatever the hijacked reader
// already buffered (a client may send its TLS hello without waiting).
func bufferedConn(conn net.Conn, r *bufio.Reader) net.Conn {
	if r.Buffered() == 0 {
		return conn
	}
	return &readerConn{Conn: conn, r: r}
}

// readerConn is a net.Conn whose reads come from r.
type readerConn struct {
	net.Conn
	r io.Reader
}

// Read reads from the buffered reader, which drains into the connection.
func (c *readerConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// tunnelListener is a net.Listener whose connections are the proxy's
// tunnels, so that one http.Server serves them all with keep-alive and
// closes them all on Close.
type tunnelListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// newTunnelListener returns an open tunnelListener reporting addr.
func newTunnelListener(addr net.Addr) *tunnelListener {
	return &tunnelListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to Accept, or closes it if the listener is closed.
func (l *tunnelListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

// Accept waits for the next tunnel.
func (l *tunnelListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept; it is safe to call more than once.
func (l *tunnelListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr returns the proxy's address.
func (l *tunnelListener) Addr() net.Addr { return l.addr }

// mustCerts returns the PEM of a fresh self-signed test CA and a TLS
// certificate for googleHosts signed by it.
func mustCerts(tb testing.TB) ([]byte, tls.Certificate) {
	tb.Helper()
	caKey, caCert := mustCert(tb, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "doorman googletest CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, nil)
	leafKey, leafCert := mustCert(tb, &x509.Certificate{
		Subject:     pkix.Name{CommonName: googleHosts()[0]},
		DNSNames:    googleHosts(),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, caCert, caKey)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw})
	leaf := tls.Certificate{Certificate: [][]byte{leafCert.Raw}, PrivateKey: leafKey, Leaf: leafCert}
	return caPEM, leaf
}

// mustCert issues tmpl, valid for a day, with a fresh P-256 key, signed by
// parent and parentKey, or self-signed when parent is nil.
func mustCert(tb testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, *x509.Certificate) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("googletest: generate certificate key: %v", err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		tb.Fatalf("googletest: create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("googletest: parse certificate: %v", err)
	}
	return key, cert
}
