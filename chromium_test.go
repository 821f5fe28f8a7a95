package main

// A small Chrome DevTools Protocol client for the browser tests. It drives
// headless Chromium over --remote-debugging-pipe: JSON messages ending in
// a NUL byte on file descriptors 3 (to the browser) and 4 (from it). No
// WebSocket library, no port, nothing added to go.mod.

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// chromiumFlags are the flags the browser tests run Chromium with.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
	"--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe",
}

// cdpTimeout bounds every DevTools call and every wait for a page load.
const cdpTimeout = 15 * time.Second

// chromium is one headless Chromium with one page (tab) attached.
type chromium struct {
	t       *testing.T
	w       *os.File // commands to the browser (its fd 3)
	session string   // the page's flat session id
	stderr  *syncBuffer

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan cdpMessage
	loads   chan struct{} // Page.loadEventFired
	errors  []string      // console and CSP errors the page logged
	done    chan struct{} // closed when the browser's output ends
}

// cdpMessage is a DevTools command reply or event.
type cdpMessage struct {
	ID        int64           `json:"id"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	SessionID string          `json:"sessionId"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// findChromium returns Chromium's path. Without it the test is skipped,
// except in CI (CI set), where it fails: .ci/run installs Chromium.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found on PATH; CI must install it (.ci/run)")
	}
	t.Skip("chromium not found on PATH; skipping the browser tests")
	return ""
}

// startChromium starts a fresh headless Chromium (own profile in a temp
// dir) with a width x height page, and closes it when the test ends.
func startChromium(t *testing.T, width, height int) *chromium {
	t.Helper()
	path := findChromium(t)
	toBrowser, fromTest, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	toTest, fromBrowser, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := append(chromiumFlags, "--user-data-dir="+t.TempDir(), fmt.Sprintf("--window-size=%d,%d", width, height), "about:blank")
	cmd := exec.Command(path, args...)
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser} // fds 3 and 4
	b := &chromium{t: t, w: fromTest, stderr: &syncBuffer{}, pending: map[int64]chan cdpMessage{},
		loads: make(chan struct{}, 16), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.stderr, b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	go b.read(toTest)
	t.Cleanup(func() { b.close(cmd) })
	b.openPage(width, height)
	return b
}

// openPage creates the tab, attaches to it and enables what the tests use.
func (b *chromium) openPage(width, height int) {
	var target struct{ TargetID string }
	b.browserCall("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	b.browserCall("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	for _, m := range []string{"Page.enable", "Network.enable", "Log.enable", "Runtime.enable"} {
		b.call(m, nil, nil)
	}
	b.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
}

// close asks the browser to quit, and kills it if it does not.
func (b *chromium) close(cmd *exec.Cmd) {
	b.send("", "Browser.close", nil)
	b.w.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	if b.t.Failed() {
		var lines []string
		for line := range strings.Lines(b.stderr.String()) {
			if !strings.Contains(line, "dbus") { // noise without a system bus
				lines = append(lines, line)
			}
		}
		b.t.Logf("chromium output:\n%s", strings.Join(lines, ""))
	}
}

// read dispatches the browser's messages until its output closes.
func (b *chromium) read(r *os.File) {
	defer close(b.done)
	br := bufio.NewReader(r)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
			continue
		}
		b.dispatch(m)
	}
}

// dispatch hands a reply to its caller and records the events tests wait on.
func (b *chromium) dispatch(m cdpMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m.ID != 0 {
		if ch, ok := b.pending[m.ID]; ok {
			ch <- m
			delete(b.pending, m.ID)
		}
		return
	}
	switch m.Method {
	case "Page.loadEventFired":
		select {
		case b.loads <- struct{}{}:
		default:
		}
	case "Log.entryAdded":
		// Network errors are the 4xx pages themselves; CSP violations
		// and script errors come from other sources.
		var p struct {
			Entry struct{ Source, Level, Text, URL string }
		}
		if json.Unmarshal(m.Params, &p) == nil && p.Entry.Level == "error" && p.Entry.Source != "network" {
			b.errors = append(b.errors, p.Entry.Text+" "+p.Entry.URL)
		}
	case "Runtime.exceptionThrown":
		b.errors = append(b.errors, "exception: "+string(m.Params))
	}
}

// send writes one command and returns the channel its reply comes on.
func (b *chromium) send(session, method string, params any) (chan cdpMessage, error) {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	_, err = b.w.Write(append(raw, 0))
	return ch, err
}

// roundTrip sends a command and decodes its result into result (if not nil).
func (b *chromium) roundTrip(session, method string, params, result any) {
	b.t.Helper()
	ch, err := b.send(session, method, params)
	if err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			b.t.Fatalf("%s: %s", method, m.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				b.t.Fatalf("%s: decode %s: %v", method, m.Result, err)
			}
		}
	case <-b.done:
		b.t.Fatalf("%s: chromium exited:\n%s", method, b.stderr.String())
	case <-time.After(cdpTimeout):
		b.t.Fatalf("%s: no answer within %s", method, cdpTimeout)
	}
}

// browserCall calls a browser-level method; call a method of the page.
func (b *chromium) browserCall(method string, params, result any) {
	b.t.Helper()
	b.roundTrip("", method, params, result)
}

func (b *chromium) call(method string, params, result any) {
	b.t.Helper()
	b.roundTrip(b.session, method, params, result)
}

// loaded runs action and waits for the page load it causes.
func (b *chromium) loaded(action func()) {
	b.t.Helper()
	for len(b.loads) > 0 { // drop loads from before the action
		<-b.loads
	}
	action()
	select {
	case <-b.loads:
	case <-time.After(cdpTimeout):
		b.t.Fatalf("no page load within %s; at %s", cdpTimeout, b.eval("location.href"))
	}
}

// navigate opens url and waits for it (and any redirects) to load.
func (b *chromium) navigate(url string) {
	b.t.Helper()
	b.loaded(func() {
		var r struct{ ErrorText string }
		b.call("Page.navigate", map[string]any{"url": url}, &r)
		if r.ErrorText != "" {
			b.t.Fatalf("navigate %s: %s", url, r.ErrorText)
		}
	})
}

// eval evaluates a JavaScript expression in the page and returns its value
// as text (JSON for anything but a string).
func (b *chromium) eval(expr string) string {
	b.t.Helper()
	var r struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct{ Text string }
	}
	b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r)
	if r.ExceptionDetails != nil {
		b.t.Fatalf("eval %s: %s", expr, r.ExceptionDetails.Text)
	}
	var s string
	if json.Unmarshal(r.Result.Value, &s) == nil {
		return s
	}
	return string(r.Result.Value)
}

// click moves the mouse to the middle of the element matched by the CSS
// selector and clicks it, as a person would.
func (b *chromium) click(selector string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return null;
		e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height / 2]; })()`, selector)
	var xy []float64
	if err := json.Unmarshal([]byte(b.eval(js)), &xy); err != nil || len(xy) != 2 {
		b.t.Fatalf("click %s: no such element on %s", selector, b.eval("location.href"))
	}
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		b.call("Input.dispatchMouseEvent", map[string]any{"type": typ, "x": xy[0], "y": xy[1], "button": "left", "clickCount": 1}, nil)
	}
}

// press types one key: "Tab" or "Enter".
func (b *chromium) press(key string) {
	b.t.Helper()
	codes := map[string]int{"Tab": 9, "Enter": 13}
	down := map[string]any{"type": "keyDown", "key": key, "code": key, "windowsVirtualKeyCode": codes[key]}
	if key == "Enter" {
		down["text"] = "\r"
	}
	b.call("Input.dispatchKeyEvent", down, nil)
	b.call("Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": key, "code": key, "windowsVirtualKeyCode": codes[key]}, nil)
}

// acceptLanguage makes the browser send header as Accept-Language.
func (b *chromium) acceptLanguage(header string) {
	b.t.Helper()
	b.call("Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Accept-Language": header}}, nil)
}

// screenshot returns a PNG of the page as it is shown.
func (b *chromium) screenshot() []byte {
	b.t.Helper()
	var r struct{ Data string }
	b.call("Page.captureScreenshot", map[string]any{"format": "png"}, &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	return png
}

// pageErrors returns the console and CSP errors the page has logged.
func (b *chromium) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// text returns the page's visible text.
func (b *chromium) text() string {
	b.t.Helper()
	return strings.TrimSpace(b.eval("document.body.innerText"))
}
