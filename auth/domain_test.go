package auth

import (
	"errors"
	"testing"
)

func TestCheckCookieDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		domain string
		ok     bool
	}{
		{"", true}, {".example.com", true}, {"example.com", true}, {"Example.COM", true}, {".example.co.uk", true},
		{"alice.github.io", true}, {".corp.internal", true}, {"xn--bcher-kva.example", true},
		{".com", false}, {"com", false}, {".co.uk", false}, {"github.io", false}, {"foo.ck", false}, // *.ck: every foo.ck is a suffix
		{"localhost", false}, {"example.com:8443", false}, {"https://example.com", false}, {"example.com.", false},
		{"127.0.0.1", false}, {"::1", false}, {"bücher.example", false}, {"exa_mple.com", false}, {"..example.com", false},
	}
	for _, tt := range tests {
		err := checkCookieDomain(tt.domain)
		if (err == nil) != tt.ok {
			t.Errorf("checkCookieDomain(%q) = %v, want ok %v", tt.domain, err, tt.ok)
		}
	}
}

func TestRedirectDomainsRefusePublicSuffix(t *testing.T) {
	t.Parallel()
	for _, d := range []string{".co.uk", "co.uk", "com", ".github.io:*", "uk:443"} {
		if _, err := newRedirectPolicy([]string{d}, false); !errors.Is(err, errPublicSuffix) {
			t.Errorf("newRedirectPolicy(%q) error = %v, want errPublicSuffix", d, err)
		}
	}
	if err := CheckSettings(Config{CookieTTL: 1, CookieName: "n", CookieDomain: ".co.uk"}); err == nil {
		t.Error("CheckSettings(CookieDomain .co.uk) = nil, want a SettingError")
	}
}
