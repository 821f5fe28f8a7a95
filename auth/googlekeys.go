package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

const (
	// maxKeysBody caps Google's key document.
	maxKeysBody = 1 << 20
	// defaultKeyFetchTimeout bounds a key fetch when Config.HTTPClient has
	// no Timeout of its own.
	defaultKeyFetchTimeout = 10 * time.Second
)

// errAbandoned means the sign-in request ended (its visitor hung up) while
// doorman waited for Google's keys: neither a refusal nor Google failing.
var errAbandoned = errors.New("sign-in abandoned while waiting for google's keys")

// keyFetchError marks a failure to fetch Google's keys: network error,
// timeout, non-200 answer or an unusable document.
type keyFetchError struct{ cause string }

func (e *keyFetchError) Error() string { return "fetch google keys: " + e.cause }

// fetchNote is how keyFetcher tells the verify call it serves why its key
// fetch failed, past idtoken and net/http, which may replace a transport's
// error with their own (http.Client does on its Timeout).
type fetchNote struct {
	mu  sync.Mutex
	err error // a *keyFetchError, or the wait's end by the request's context
}

// fetchNoteKey is the context key of the *fetchNote.
type fetchNoteKey struct{}

// withFetchNote returns ctx carrying a fresh note, and the note.
func withFetchNote(ctx context.Context) (context.Context, *fetchNote) {
	n := new(fetchNote)
	return context.WithValue(ctx, fetchNoteKey{}, n), n
}

// failure is why the key fetch failed, or nil.
func (n *fetchNote) failure() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}

// noteFailure records err on ctx's note, if it has one, and returns err.
func noteFailure(ctx context.Context, err error) error {
	if n, ok := ctx.Value(fetchNoteKey{}).(*fetchNote); ok {
		n.mu.Lock()
		n.err = err
		n.mu.Unlock()
	}
	return err
}

// keyFetcher is the transport idtoken fetches Google's keys through. It
// checks the key document and marks failures so that they answer 503, not
// 401. Sign-ins that need the same document at once share one fetch, which
// is detached from their requests and bounded by its own timeout: a
// visitor who hangs up stops waiting, but neither aborts the fetch for the
// others nor counts as Google failing. At most one fetch per URL (two
// URLs, in practice one) runs at a time, however many sign-ins wait on it.
type keyFetcher struct {
	base      http.RoundTripper
	timeout   time.Duration // of one fetch, body included
	onFailure func()        // called once per failed fetch

	mu      sync.Mutex
	flights map[string]*keyFlight // fetches under way, by URL
}

// keyFlight is one fetch of a key document.
type keyFlight struct {
	done   chan struct{}  // closed once resp, body and err are set
	resp   *http.Response // a 200 whose body was read into body
	body   []byte
	err    error // a *keyFetchError
	joined int   // requests that waited on it; guarded by keyFetcher.mu
}

// newKeyFetcher returns a keyFetcher over base whose fetches time out
// after timeout (defaultKeyFetchTimeout when not positive).
func newKeyFetcher(base http.RoundTripper, timeout time.Duration, onFailure func()) *keyFetcher {
	if timeout <= 0 {
		timeout = defaultKeyFetchTimeout
	}
	return &keyFetcher{base: base, timeout: timeout, onFailure: onFailure, flights: map[string]*keyFlight{}}
}

// RoundTrip answers req from the fetch under way for its URL, starting one
// if there is none, or gives up when req's context ends first. Either
// failure is also noted on req's context for verify.
func (t *keyFetcher) RoundTrip(req *http.Request) (*http.Response, error) {
	f := t.join(req)
	select {
	case <-f.done:
	case <-req.Context().Done():
		return nil, noteFailure(req.Context(), fmt.Errorf("wait for google keys: %w", req.Context().Err()))
	}
	if f.err != nil {
		return nil, noteFailure(req.Context(), f.err)
	}
	return f.response(req), nil
}

// join returns the fetch under way for req's URL, starting it if needed.
func (t *keyFetcher) join(req *http.Request) *keyFlight {
	url := req.URL.String()
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.flights[url]
	if !ok {
		f = &keyFlight{done: make(chan struct{})}
		t.flights[url] = f
		go t.fly(url, f, req)
	}
	f.joined++
	return f
}

// fly runs f, a fetch of url like req but under a context of its own.
func (t *keyFetcher) fly(url string, f *keyFlight, req *http.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
	defer cancel()
	f.resp, f.body, f.err = t.fetch(req.Clone(ctx))
	if f.err != nil {
		t.onFailure()
	}
	t.mu.Lock()
	delete(t.flights, url)
	t.mu.Unlock()
	close(f.done)
}

// fetch fetches and checks Google's key document.
func (t *keyFetcher) fetch(req *http.Request) (*http.Response, []byte, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, nil, &keyFetchError{cause: err.Error()}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, &keyFetchError{cause: resp.Status}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBody+1))
	if err != nil || len(body) > maxKeysBody {
		return nil, nil, &keyFetchError{cause: "unreadable or oversized key document"}
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if json.Unmarshal(body, &doc) != nil || len(doc.Keys) == 0 {
		return nil, nil, &keyFetchError{cause: "key document has no keys"}
	}
	return resp, body, nil
}

// response is f's answer for one waiting request: its own copy of the
// headers and a fresh reader over the shared body.
func (f *keyFlight) response(req *http.Request) *http.Response {
	r := *f.resp
	r.Header = f.resp.Header.Clone()
	r.Body = io.NopCloser(bytes.NewReader(f.body))
	r.ContentLength = int64(len(f.body))
	r.Request = req
	return &r
}
