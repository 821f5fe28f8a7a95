package whitelist

import "github.com/prometheus/client_golang/prometheus"

// whitelistCollector reads the whitelist's counters at scrape time, so
// reloads cost nothing extra.
type whitelistCollector struct {
	wl                                     *Watcher
	reloads, failures, last, entries, skip *prometheus.Desc
}

// Collector returns the whitelist's Prometheus metrics: loads, failures,
// the time of the last load, entries per list and skipped lines.
func (w *Watcher) Collector() prometheus.Collector { return newCollector(w) }

// newCollector describes the whitelist metrics.
func newCollector(wl *Watcher) *whitelistCollector {
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
