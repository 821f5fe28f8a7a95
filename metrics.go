package main

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"doorman/whitelist"
)

// unknownListLabel stands for every list name the whitelist does not
// define, so that clients cannot create series.
const unknownListLabel = "(unknown)"

// metrics is doorman's Prometheus registry and the auth.Observer that
// feeds it (CONTRACT §7).
type metrics struct {
	registry     *prometheus.Registry
	decisions    *prometheus.CounterVec
	latency      prometheus.Histogram
	signIns      *prometheus.CounterVec
	keyFailures  prometheus.Counter
	hasList      func(string) bool
	listCounters sync.Map // list name -> *decisionCounters
}

// decisionCounters are one list's allowed and denied counters, resolved once.
type decisionCounters struct{ allowed, denied prometheus.Counter }

// newMetrics registers doorman's metrics, the whitelist's and the Go runtime's.
func newMetrics(wl *whitelist.Watcher) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doorman_auth_requests_total", Help: "/auth decisions by result (allowed, denied) and list (\"\" is the main list).",
		}, []string{"result", "list"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "doorman_auth_duration_seconds", Help: "Time doorman spends deciding one /auth request.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 9),
		}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doorman_sign_ins_total", Help: "/callback outcomes (success, forbidden, refused) with the refusal reason.",
		}, []string{"outcome", "reason"}),
		keyFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doorman_google_key_fetch_failures_total", Help: "Failed fetches of Google's signing keys.",
		}),
		hasList: func(name string) bool { return wl.List().Has(name) },
	}
	m.registry.MustRegister(m.decisions, m.latency, m.signIns, m.keyFailures,
		newWhitelistCollector(wl), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "doorman"}))
	return m
}

// handler serves the registry in Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// AuthChecked counts one /auth decision; after a list's first request it
// is two atomic adds and a histogram observation, without locks.
func (m *metrics) AuthChecked(list string, allowed bool, elapsed time.Duration) {
	c := m.countersFor(list)
	if allowed {
		c.allowed.Inc()
	} else {
		c.denied.Inc()
	}
	m.latency.Observe(elapsed.Seconds())
}

// countersFor returns list's counters, creating them for a list the
// whitelist defines; any other name shares the unknown-list counters.
func (m *metrics) countersFor(list string) *decisionCounters {
	if c, ok := m.listCounters.Load(list); ok {
		return c.(*decisionCounters)
	}
	label := list
	if !m.hasList(list) {
		label = unknownListLabel
	}
	c := &decisionCounters{
		allowed: m.decisions.WithLabelValues("allowed", label),
		denied:  m.decisions.WithLabelValues("denied", label),
	}
	if label == list {
		m.listCounters.Store(list, c)
	}
	return c
}

// SignIn counts one /callback outcome.
func (m *metrics) SignIn(outcome, reason string) { m.signIns.WithLabelValues(outcome, reason).Inc() }

// KeyFetchFailed counts one failed fetch of Google's keys.
func (m *metrics) KeyFetchFailed() { m.keyFailures.Inc() }

// whitelistCollector reads the whitelist's counters at scrape time, so
// reloads cost nothing extra.
type whitelistCollector struct {
	wl                                     *whitelist.Watcher
	reloads, failures, last, entries, skip *prometheus.Desc
}

// newWhitelistCollector describes the whitelist metrics.
func newWhitelistCollector(wl *whitelist.Watcher) *whitelistCollector {
	return &whitelistCollector{
		wl:       wl,
		reloads:  prometheus.NewDesc("doorman_whitelist_reloads_total", "Successful whitelist loads.", nil, nil),
		failures: prometheus.NewDesc("doorman_whitelist_reload_failures_total", "Whitelist loads that could not read the file; the last good list was kept.", nil, nil),
		last:     prometheus.NewDesc("doorman_whitelist_last_reload_success_timestamp_seconds", "Unix time of the last successful whitelist load.", nil, nil),
		entries:  prometheus.NewDesc("doorman_whitelist_entries", "Entries (addresses and domain entries) per list; \"\" is the main list.", []string{"list"}, nil),
		skip:     prometheus.NewDesc("doorman_whitelist_skipped_lines", "Lines of the current whitelist that were skipped as invalid.", nil, nil),
	}
}

// Describe sends the whitelist metrics' descriptions.
func (c *whitelistCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.reloads, c.failures, c.last, c.entries, c.skip} {
		ch <- d
	}
}

// Collect sends the whitelist's current counters.
func (c *whitelistCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.wl.Stats()
	ch <- prometheus.MustNewConstMetric(c.reloads, prometheus.CounterValue, float64(s.Reloads))
	ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(s.Failures))
	ch <- prometheus.MustNewConstMetric(c.last, prometheus.GaugeValue, float64(s.LastSuccess.UnixNano())/1e9)
	ch <- prometheus.MustNewConstMetric(c.skip, prometheus.GaugeValue, float64(s.Skipped))
	for list, n := range s.Sizes {
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(n), list)
	}
}
