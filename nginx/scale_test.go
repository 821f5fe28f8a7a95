package nginx_test

// The scale test (README "Performance"): doorman on a store that holds a
// million sessions, a tenth of them ended, and 100,000 tokens, on SQLite
// and on Redis, beside the same doorman on an empty store. It measures how
// long doorman takes to start (process start to /readyz 200, which doorman
// answers only once it has read the ended sessions and the tokens into
// memory), its CPU time idle for a minute (in which it reads that view
// again), what the view costs in memory (the live heap from gctrace, the
// heap in use, RSS), and /auth straight at each sidecar with wrk: a live
// session, an ended one and a token.
//
// Full run (some minutes per backend; prints the table; not under -race):
//
//	go test ./nginx/ -run '^TestScale$' -count=1 -v -timeout 30m -args -scale
//	DOORMAN_SCALE=1 go test ./nginx/ -run '^TestScale$' -count=1 -v -timeout 30m
//
// with -scale.rounds, -scale.duration and -scale.conns after -args to change
// the wrk rounds (3 interleaved rounds × 3 s per case, 2 threads, 8
// connections). Without -scale it seeds 10,000 sessions, 1,000 of them
// ended, and 1,000 tokens, and checks only the answers — never a timing.

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"doorman/auth/googletest"
	"doorman/auth/store"
	"doorman/auth/store/redistest"
)

var (
	scaleFlag     = flag.Bool("scale", false, "run TestScale at full size and measure (or set DOORMAN_SCALE=1)")
	scaleRounds   = flag.Int("scale.rounds", 3, "TestScale: interleaved wrk rounds")
	scaleDuration = flag.Duration("scale.duration", 3*time.Second, "TestScale: wrk duration per case and round (whole seconds)")
	scaleConns    = flag.Int("scale.conns", 8, "TestScale: wrk connections")
)

// scaleSize is what the seeded store holds besides the probes.
type scaleSize struct {
	sessions int // session records, ended ones included
	ended    int // of them ended; sessions must be a multiple of sessions/ended
	tokens   int // live tokens
}

var (
	fullScale  = scaleSize{sessions: 1_000_000, ended: 100_000, tokens: 100_000}
	smallScale = scaleSize{sessions: 10_000, ended: 1_000, tokens: 1_000}
)

// The probes: people whose sessions are signed in through doorman before
// the store is seeded, and whose cookies the test sends.
const (
	liveProbe   = "live@example.com"  // stays signed in
	endedProbe  = "ended@example.com" // ended by the import (on the empty store: by EndSession)
	tokenProbe  = "token@example.com" // owns the empty store's token
	scaleDomain = "example.com"
)

// scaleWhitelist admits everyone at scaleDomain on the main list: the
// seeded people and the probes.
const scaleWhitelist = "@" + scaleDomain + "\n"

// TestScale is the scale test; see the top of this file.
func TestScale(t *testing.T) {
	full := *scaleFlag || os.Getenv("DOORMAN_SCALE") != ""
	if full && raceEnabled {
		t.Skip("the full scale test measures nothing useful under -race")
	}
	size := smallScale
	if full {
		size = fullScale
	} else {
		t.Parallel()
	}
	var rows []scaleRow // appended to at full size only, where the backends run one at a time
	t.Run("backends", func(t *testing.T) {
		for _, kind := range []string{"sqlite", "redis"} {
			t.Run(kind, func(t *testing.T) {
				if !full {
					t.Parallel()
				}
				b := newScaleBench(t, kind, size, full)
				b.check(t)
				if full {
					rows = append(rows, b.measure(t))
				}
			})
		}
	})
	if full && !t.Failed() {
		printScale(t.Output(), size, rows)
	}
}

// scaleBench is one backend's pair of doormen: one on the seeded store,
// one on an empty store, sharing a key file.
type scaleBench struct {
	kind        string
	size        scaleSize
	measured    bool // the full run: doormen trace their garbage collections
	stack       *loadStack
	fullDSN     string
	emptyDSN    string
	seeded      seedResult
	full, empty *scaleDoorman
	live        string // Cookie header: liveProbe's session, valid at both
	ended       string // Cookie: endedProbe's session, signed in on the seeded store and ended by the import
	endedEmpty  string // Cookie: endedProbe's session on the empty store, ended there
	tokenEmpty  string // tokenProbe's token in the empty store
	seededStore store.Store
}

// scaleDoorman is a doorman started for the scale test.
type scaleDoorman struct {
	*sidecar
	metrics string        // its --metrics-listen address
	startup time.Duration // from process start to /readyz 200
}

// newScaleBench signs the probes in on the store to be seeded (through a
// doorman started for that and stopped), seeds it, and starts a doorman on
// an empty store and one on the seeded store.
func newScaleBench(t *testing.T, kind string, size scaleSize, measured bool) *scaleBench {
	t.Helper()
	s := &loadStack{dir: t.TempDir(), google: googletest.NewServer(t)}
	s.secret = filepath.Join(s.dir, "doorman.key")
	b := &scaleBench{kind: kind, size: size, measured: measured, stack: s,
		fullDSN: filepath.Join(s.dir, "full.db"), emptyDSN: filepath.Join(s.dir, "empty.db")}
	if kind == "redis" {
		b.fullDSN, b.emptyDSN = redistest.Start(t).URL(), redistest.Start(t).URL()
	}
	before := b.start(t, "before", b.fullDSN)
	b.live, b.ended = s.signIn(t, before.sidecar, liveProbe, ""), s.signIn(t, before.sidecar, endedProbe, "")
	if err := before.proc.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("before: exit after SIGTERM: %v, want exit 0", err)
	}
	b.seededStore = openScaleStore(t, b.fullDSN)
	b.seeded = seed(t, b.seededStore, size, onlySession(t, b.seededStore, endedProbe).ID)
	t.Logf("%s: seeded %d sessions (%d ended) and %d tokens in %v", kind, size.sessions, size.ended, size.tokens, b.seeded.took)

	b.empty = b.start(t, "empty", b.emptyDSN)
	empty := openScaleStore(t, b.emptyDSN)
	b.endedEmpty = s.signIn(t, b.empty.sidecar, endedProbe, "")
	endSession(t, empty, onlySession(t, empty, endedProbe).ID)
	b.tokenEmpty = createToken(t, empty, tokenProbe)
	waitFor(t, 2*time.Second, "the empty store's doorman refuses the ended session and takes the token", func() bool {
		return b.auth(t, b.empty, b.endedEmpty, "") == http.StatusUnauthorized &&
			b.auth(t, b.empty, "", b.tokenEmpty) == http.StatusOK
	})
	b.full = b.start(t, "full", b.fullDSN)
	t.Logf("%s: /readyz 200 after %v on the empty store, %v on the seeded one", kind, b.empty.startup, b.full.startup)
	return b
}

// start runs doorman on the store dsn with its metrics on, and waits
// until it answers /readyz with 200, noting how long that took from the
// start of the process. Cleanup requires exit status 0, unless the test
// stopped it before.
func (b *scaleBench) start(t *testing.T, name, dsn string) *scaleDoorman {
	t.Helper()
	d := &scaleDoorman{metrics: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	c, cmd := b.stack.doormanCommand(t, doormanBin, name, scaleWhitelist, "--store="+dsn, "--metrics-listen="+d.metrics)
	if b.measured {
		cmd.Env = append(cmd.Env, "GODEBUG=gctrace=1") // the live heap after each collection, for liveHeap
	}
	started := time.Now()
	c.proc = startProcess(t, name, cmd)
	d.sidecar = c
	t.Cleanup(func() {
		if c.proc.exited() {
			return
		}
		if err := c.proc.stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("%s exit after SIGTERM: %v, want exit 0", name, err)
		}
	})
	client := &http.Client{Timeout: time.Second}
	waitFor(t, 3*time.Minute, name+" /readyz 200", func() bool {
		c.proc.checkRunning(t)
		resp, err := client.Get("http://" + c.addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	d.startup = time.Since(started)
	return d
}

// check sends each probe to the doorman it concerns, right after both
// answered /readyz: that 200 means the ended sessions and tokens were
// read. It then reads the seeded store back with doorman's own admin
// commands.
func (b *scaleBench) check(t *testing.T) {
	t.Helper()
	unknown := newDoormanToken()
	tests := []struct {
		name          string
		d             *scaleDoorman
		cookie, token string
		want          int
	}{
		{"live session, seeded store", b.full, b.live, "", http.StatusOK},
		{"session ended by the import", b.full, b.ended, "", http.StatusUnauthorized},
		{"tampered live session", b.full, tampered(b.live), "", http.StatusUnauthorized},
		{"unknown token", b.full, "", unknown, http.StatusUnauthorized},
		{"empty store's token, seeded store", b.full, "", b.tokenEmpty, http.StatusUnauthorized},
		{"live session, empty store", b.empty, b.live, "", http.StatusOK},
		{"ended session, empty store", b.empty, b.endedEmpty, "", http.StatusUnauthorized},
		{"token, empty store", b.empty, "", b.tokenEmpty, http.StatusOK},
		{"seeded token, empty store", b.empty, "", b.seeded.tokens[0], http.StatusUnauthorized},
	}
	for i, tok := range b.seeded.tokens {
		tests = append(tests, struct {
			name          string
			d             *scaleDoorman
			cookie, token string
			want          int
		}{fmt.Sprintf("seeded token %d", i), b.full, "", tok, http.StatusOK})
	}
	for _, tt := range tests {
		if got := b.auth(t, tt.d, tt.cookie, tt.token); got != tt.want {
			t.Errorf("%s: /auth with %s = %d, want %d", b.kind, tt.name, got, tt.want)
		}
	}
	b.seeded.check(t, b.seededStore, b.fullDSN)
}

// auth asks d's /auth about a Cookie header and a bearer token (none when
// "") and returns the status.
func (b *scaleBench) auth(t *testing.T, d *scaleDoorman, cookie, token string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.addr+"/auth", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s /auth: %v", d.name, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
