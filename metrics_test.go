package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetricsOnlyOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wl := writeFile(t, dir, "whitelist.txt", "alice@example.com\n", 0o644)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs, logw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0", "--client-id=x",
			"--whitelist=" + wl, "--secret-file=" + filepath.Join(dir, "k"), "--store=" + filepath.Join(dir, "doorman.db")}, fakeEnv(nil), io.Discard, logw)
		logw.Close()
	}()
	addr, metricsAddr := startedAddrs(t, logs)
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("http://" + addr + "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the main listener = %d, want 404", code)
	}
	if code, body := get("http://" + metricsAddr + "/metrics"); code != http.StatusOK || !strings.Contains(body, "doorman_whitelist_entries") {
		t.Errorf("/metrics on the metrics listener = %d, want 200 with doorman metrics", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run() = %v", err)
	}
}
