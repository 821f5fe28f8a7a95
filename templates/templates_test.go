package templates

import (
	"strings"
	"testing"
	"time"
)

func TestBrowser(t *testing.T) {
	t.Parallel()
	const webview = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile"
	long := "SomeEmbeddedDevice (firmware build 2026.04; vendor extension set " + strings.Repeat("x", 80) + ")"
	tests := []struct {
		name, ua, want string
	}{
		{"Chrome on Linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on Linux"},
		{"headless Chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.7339.80 Safari/537.36", "Headless Chrome 140 on Linux"},
		{"Chrome on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", "Chrome 138 on Windows"},
		{"Chrome on Android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36", "Chrome 138 on Android"},
		{"Chrome on iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/138.0.7204.119 Mobile/15E148 Safari/604.1", "Chrome 138 on iPhone"},
		{"ChromeOS", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", "Chrome 138 on ChromeOS"},
		{"Firefox on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 on Windows"},
		{"Firefox on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:141.0) Gecko/20100101 Firefox/141.0", "Firefox 141 on macOS"},
		{"Firefox on iPad", "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/141.0 Mobile/15E148 Safari/605.1.15", "Firefox 141 on iPad"},
		{"Safari on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari 17 on macOS"},
		{"Safari on iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari 17 on iPhone"},
		{"Edge before Chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.3351.95", "Edge 138 on Windows"},
		{"Opera", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 OPR/120.0.0.0", "Opera 120 on Windows"},
		{"Samsung Internet", "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36", "Samsung Internet 27 on Android"},
		{"Whale", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Whale/4.32.315.22 Safari/537.36", "Whale 4 on Windows"},
		{"WeChat", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323b) NetType/WIFI Language/zh_CN", "WeChat 8 on iPhone"},
		{"Android WebView is not Safari", webview, webview[:59] + "…"},
		{"curl", "curl/8.5.0", "curl"},
		{"wget", "Wget/1.21.4", "Wget"},
		{"Go", "Go-http-client/1.1", "Go-http-client"},
		{"python", "python-requests/2.32.3", "python-requests"},
		{"program on a system", "Opera/9.80 (Windows NT 6.1; U; en) Presto/2.12.388 Version/12.18", "Opera on Windows"},
		{"empty", "", "Unknown browser"},
		{"blank", "   ", "Unknown browser"},
		{"unknown, short", "my-script", "my-script"},
		{"unknown, cut", long, long[:59] + "…"},
		{"name without version", "curl/", "curl/"},
		{"cut on a character, not a byte", strings.Repeat("한", 70), strings.Repeat("한", 59) + "…"},
		{"invalid UTF-8 (a cut at 200 bytes)", "agent \xe2\x82", "agent \uFFFD"},
		{"markup stays text", "<script>alert(1)</script>", "<script>alert(1)</script>"},
	}
	en := Languages()[0]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, err := browser(en, tt.ua); got != tt.want || err != nil {
				t.Errorf("browser(en, %q) = %q, %v; want %q", tt.ua, got, err, tt.want)
			}
		})
	}
}

func TestBrowserInEveryLanguage(t *testing.T) {
	t.Parallel()
	const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
	want := map[string]string{"en": "Chrome 156 on Linux", "zh-CN": "Linux 上的 Chrome 156", "ko": "Linux의 Chrome 156"}
	for _, l := range Languages() {
		if got, err := browser(l, chrome); got != want[l.Tag] || err != nil {
			t.Errorf("browser(%s, Chrome on Linux) = %q, %v; want %q", l.Tag, got, err, want[l.Tag])
		}
	}
}

func TestMinute(t *testing.T) {
	t.Parallel()
	seoul := time.FixedZone("KST", 9*3600)
	if got, want := minute(time.Date(2026, 5, 3, 23, 7, 59, 0, seoul)), "2026-05-03 14:07 UTC"; got != want {
		t.Errorf("minute(23:07:59 KST) = %q, want %q", got, want)
	}
}
