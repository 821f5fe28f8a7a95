// Package googletest provides a fake Google sign-in for tests only, in the
// spirit of net/http/httptest and go-oidc's oidctest. It must NOT be
// imported by production code.
//
// A Server publishes an RSA signing key as a JWKS document at Google's
// certificate path, mints ID tokens signed with that key, and lets the real
// google.golang.org/api/idtoken code reach it in two ways:
//
//   - in-process, through the *http.Client returned by Client, passed as
//     idtoken.NewValidator(ctx, option.WithHTTPClient(s.Client()));
//   - from a child process, through an HTTPS CONNECT proxy that terminates
//     TLS for www.googleapis.com with a private test CA; ProxyEnv returns
//     the HTTPS_PROXY and SSL_CERT_FILE settings for it.
//
// A minimal test:
//
//	s := googletest.NewServer(t)
//	v, err := idtoken.NewValidator(ctx, option.WithHTTPClient(s.Client()))
//	...
//	tok := s.Token(t, googletest.Claims{Email: "alice@example.com"})
//	p, err := v.Validate(ctx, tok, s.ClientID)
//
// Failure modes (SetKeysStatus, SetUnreachable, SetKeysHang), key rotation (RotateKey)
// and hand-made tokens (SignRaw) support negative tests.
package googletest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
)

// DefaultClientID is the OAuth client ID that NewServer puts in
// Server.ClientID, and so the default audience of every token it mints.
const DefaultClientID = "doorman-test.apps.googleusercontent.com"

// Paths of the key documents idtoken fetches. idtoken hard-codes the full
// URLs https://www.googleapis.com/oauth2/v3/certs and
// https://www.gstatic.com/iap/verify/public_key-jwk.
const (
	certsPath = "/oauth2/v3/certs"
	iapPath   = "/iap/verify/public_key-jwk"
)

// Server is a fake Google: a JWKS endpoint, an ID-token minter and an HTTPS
// CONNECT proxy for child processes. Create it with NewServer; its methods
// are safe for concurrent use.
type Server struct {
	// ClientID is the default audience of minted tokens. NewServer sets it
	// to DefaultClientID; a test may change it before minting tokens, but
	// not concurrently with Token.
	ClientID string

	handler http.Handler
	proxy   *proxy

	mu         sync.Mutex
	keys       []*signingKey // published keys, oldest first; the last one signs
	nextKid    int           // number of keys generated so far
	keysStatus int           // status the JWKS endpoint answers with; 0 = 200
	hang       chan struct{} // non-nil: JWKS requests wait until it is closed
	down       bool          // simulate a network failure
	fetches    int           // JWKS requests served
	proxied    []string      // CONNECT targets the proxy tunneled
}

// NewServer returns a running fake Google with a fresh 2048-bit RSA key
// (kid "test-key-1") and a started CONNECT proxy. Everything it starts is
// stopped by a tb.Cleanup it registers; setup errors call tb.Fatal.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{ClientID: DefaultClientID}
	s.RotateKey()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+certsPath, s.serveCerts)
	mux.HandleFunc("GET "+iapPath, serveIAP)
	s.handler = mux
	s.proxy = startProxy(tb, s)
	tb.Cleanup(func() { s.SetKeysHang(false) }) // runs first: lets hanging requests end
	return s
}

// Handler returns the fake's HTTP handler. It answers GET
// /oauth2/v3/certs with the JWKS of the published keys (Cache-Control:
// public, max-age=3600, as Google does) and GET /iap/verify/public_key-jwk
// with an empty key set (HEAD too); other methods get 405 and other paths
// 404. It does NOT look at the Host header, and it ignores SetUnreachable.
func (s *Server) Handler() http.Handler { return s.handler }

// serveCerts counts the RS256 JWKS request and answers it, once no
// SetKeysHang holds it.
func (s *Server) serveCerts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.fetches++
	hang := s.hang
	s.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	status := s.keysStatus
	body := s.jwksLocked()
	s.mu.Unlock()
	if status != 0 && status != http.StatusOK {
		http.Error(w, http.StatusText(status), status)
		return
	}
	writeJWKS(w, body)
}

// serveIAP answers the ES256 (IAP) key request with no keys: Google does
// not sign sign-in ID tokens with ES256.
func serveIAP(w http.ResponseWriter, r *http.Request) {
	writeJWKS(w, []byte(`{"keys":[]}`))
}

// writeJWKS writes a key document with Google's caching headers.
func writeJWKS(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(body)
}

// Client returns an *http.Client whose transport answers EVERY request
// in-process with Handler, whatever its host or scheme; nothing goes to the
// network. Pass it to idtoken.NewValidator with option.WithHTTPClient.
// While SetUnreachable(true) is in force its requests fail with a
// *net.OpError wrapping syscall.ECONNREFUSED; a request whose context ends
// before it is answered (see SetKeysHang) fails with the context's error,
// as over a network.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: transport{s}}
}

// transport is the in-process http.RoundTripper behind Client.
type transport struct{ s *Server }

// RoundTrip serves req with the fake's handler through a recorder.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	if t.s.isDown() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	rec := httptest.NewRecorder()
	// Clone: ServeMux records the matched pattern on the request, and a
	// RoundTripper must not modify the caller's request.
	t.s.handler.ServeHTTP(rec, req.Clone(req.Context()))
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// SetKeysStatus makes the JWKS endpoint answer with HTTP status code (and
// a plain-text body) instead of the keys; 0 or 200 restores normal answers.
// Requests are still counted by KeyFetches.
func (s *Server) SetKeysStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keysStatus = code
}

// SetUnreachable simulates Google being off the network: Client's requests
// fail with a network error, the proxy drops new CONNECT requests without
// an answer, and requests on already-open tunnels are cut off. false
// restores normal service.
func (s *Server) SetUnreachable(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetKeysHang makes the JWKS endpoint hang, as a Google that accepts the
// connection and never answers: while in force, each key request is counted
// (KeyFetches) and then waits, unanswered, until its client gives up (its
// context ends, or over the proxy its connection closes) or SetKeysHang(false)
// lets it and every later request be answered as usual. Cleanup releases
// requests still hanging.
func (s *Server) SetKeysHang(hang bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case hang && s.hang == nil:
		s.hang = make(chan struct{})
	case !hang && s.hang != nil:
		close(s.hang)
		s.hang = nil
	}
}

// isDown reports whether SetUnreachable(true) is in force.
func (s *Server) isDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

// KeyFetches reports how many requests the JWKS endpoint has served,
// through Client or the proxy, including those answered with a
// SetKeysStatus error.
func (s *Server) KeyFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// publishedKeys is how many keys the JWKS lists at once: the signing key
// and the one it replaced, as Google keeps a retired key published while
// tokens signed with it may still be in use.
const publishedKeys = 2

// signingKey is one RSA key with its JWKS key ID.
type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// jwk is one entry of a JWKS document, in the fields Google publishes.
type jwk struct {
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// RotateKey generates a new 2048-bit RSA key with the next key ID
// ("test-key-2", "test-key-3", ...). Token and SignRaw sign with the new
// key from then on. The JWKS publishes the new key and the previous one,
// like Google during a rotation; a key two rotations old is no longer
// published, so tokens it signed stop validating. Validators that cached
// the old JWKS (idtoken caches it for max-age, one hour) do NOT see the new
// key: use a fresh validator after rotating. It panics if the key cannot
// be generated.
func (s *Server) RotateKey() {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("googletest: generate RSA key: %v", err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextKid++
	k := &signingKey{kid: fmt.Sprintf("test-key-%d", s.nextKid), priv: priv}
	s.keys = append(s.keys, k)
	if len(s.keys) > publishedKeys {
		s.keys = s.keys[len(s.keys)-publishedKeys:]
	}
}

// currentKey returns the key that signs new tokens.
func (s *Server) currentKey() *signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1]
}

// jwksLocked returns the JWKS document of the published keys, newest
// first. s.mu must be held.
func (s *Server) jwksLocked() []byte {
	doc := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(s.keys))}
	for i := len(s.keys) - 1; i >= 0; i-- {
		doc.Keys = append(doc.Keys, publicJWK(s.keys[i]))
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("googletest: marshal JWKS: %v", err))
	}
	return b
}

// publicJWK describes k's public half as an RS256 signing JWK.
func publicJWK(k *signingKey) jwk {
	pub := k.priv.PublicKey
	return jwk{
		Kty: "RSA",
		Alg: "RS256",
		Use: "sig",
		Kid: k.kid,
		N:   b64(pub.N.Bytes()),
		E:   b64(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// b64 is the unpadded base64url encoding used by JWS and JWK.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
