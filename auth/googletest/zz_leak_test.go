package googletest_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"doorman/auth/googletest"
)

func TestZZLeak(t *testing.T) {
	t.Run("use", func(t *testing.T) {
		s := googletest.NewServer(t)
		c := proxyClient(t, s, true)
		fetchJWKS(t, c, certsURL)
		fetchJWKS(t, c, iapURL)
		v := newValidator(t, c)
		mustValidate(t, v, s, s.Token(t, googletest.Claims{}))
		addr := strings.TrimPrefix(proxyEnv(t, s)["HTTPS_PROXY"], "http://")
		rawConnect(t, addr, "www.googleapis.com:443")
		// leave a client connection open (not idle-closed) to check server closes it
	})
	time.Sleep(300 * time.Millisecond)
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, "googletest") || strings.Contains(g, "net/http.(*conn).serve") || strings.Contains(g, "persistConn") {
			t.Errorf("leaked goroutine:\n%s", g)
		}
	}
}
