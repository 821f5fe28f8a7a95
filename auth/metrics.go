package auth

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// unknownListLabel stands for every list name the whitelist does not
// define, so that clients cannot create series.
const unknownListLabel = "(unknown)"

// Metrics is doorman's Prometheus registry and the Observer that feeds it
// (the README's "Metrics"). It is served on a listener of its own, never
// beside /auth.
type Metrics struct {
	registry     *prometheus.Registry
	decisions    *prometheus.CounterVec
	latency      prometheus.Histogram
	signIns      *prometheus.CounterVec
	keyFailures  prometheus.Counter
	budget       *prometheus.CounterVec
	hasList      func(string) bool
	listCounters sync.Map // list name -> *decisionCounters
}

// decisionCounters are one list's allowed and denied counters, resolved once.
type decisionCounters struct{ allowed, denied prometheus.Counter }

// NewMetrics registers doorman's metrics, the Go runtime's and others'
// (the whitelist's). hasList reports whether the whitelist defines a list:
// any other name a request carries shares one "(unknown)" label, so that
// clients cannot create series.
func NewMetrics(hasList func(string) bool, others ...prometheus.Collector) *Metrics {
	m := &Metrics{
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
		budget: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doorman_budget_checks_total",
			Help: "Counted /auth checks of people with a budget, by list and outcome (allowed, refused at the ceiling, unavailable: refused with the store down, fail_open: admitted uncounted).",
		}, []string{"list", "outcome"}),
		hasList: hasList,
	}
	m.registry.MustRegister(m.decisions, m.latency, m.signIns, m.keyFailures, m.budget, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "doorman"}))
	m.registry.MustRegister(others...)
	return m
}

// Handler serves the registry in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// AuthChecked counts one /auth decision; after a list's first request it
// is two atomic adds and a histogram observation, without locks.
func (m *Metrics) AuthChecked(list string, allowed bool, elapsed time.Duration) {
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
func (m *Metrics) countersFor(list string) *decisionCounters {
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
func (m *Metrics) SignIn(outcome, reason string) { m.signIns.WithLabelValues(outcome, reason).Inc() }

// KeyFetchFailed counts one failed fetch of Google's keys.
func (m *Metrics) KeyFetchFailed() { m.keyFailures.Inc() }

// BudgetChecked counts one counted check by list (never by person) and
// outcome.
func (m *Metrics) BudgetChecked(list, outcome string) {
	if !m.hasList(list) {
		list = unknownListLabel
	}
	m.budget.WithLabelValues(list, outcome).Inc()
}

// StoreCollector returns the metrics of h's store: whether it answers,
// how far behind the store h's view of it may be, and the sessions live in
// it. Register it with NewMetrics.
func (h *Handler) StoreCollector() prometheus.Collector { return storeCollector{h.states} }

// storeCollector reads a sessionStates at scrape time.
type storeCollector struct{ s *sessionStates }

var (
	storeUpDesc = prometheus.NewDesc("doorman_store_up",
		"1 while the store answers, 0 while it cannot be reached (/auth answers from memory meanwhile).", nil, nil)
	storeLagDesc = prometheus.NewDesc("doorman_store_feed_lag_seconds",
		"Seconds since this doorman last knew its view of ended sessions to be current.", nil, nil)
	sessionsLiveDesc = prometheus.NewDesc("doorman_sessions_live",
		"Sessions neither ended nor expired in the store, counted every 30 s.", nil, nil)
)

// Describe sends the store metrics' descriptions.
func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storeUpDesc
	ch <- storeLagDesc
	ch <- sessionsLiveDesc
}

// Collect sends the store metrics' current values.
func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	up := 0.0
	if c.s.up.Load() {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, up)
	if synced := c.s.synced.Load(); synced != 0 {
		ch <- prometheus.MustNewConstMetric(storeLagDesc, prometheus.GaugeValue, time.Since(time.Unix(0, synced)).Seconds())
	}
	if n := c.s.live.Load(); n >= 0 {
		ch <- prometheus.MustNewConstMetric(sessionsLiveDesc, prometheus.GaugeValue, float64(n))
	}
}

// Register adds more collectors to m's registry.
func (m *Metrics) Register(cs ...prometheus.Collector) { m.registry.MustRegister(cs...) }
