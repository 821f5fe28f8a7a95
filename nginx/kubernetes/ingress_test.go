package kubernetes_test

import (
	"cmp"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// doormanService is the doorman Service, its namespace and the Service port
// that leads to the container port of DOORMAN_LISTEN.
type doormanService struct {
	name, namespace string
	port            int    // the Service port
	portName        string // its name
}

func loadDoormanService(t *testing.T) doormanService {
	t.Helper()
	d := loadDeployment(t)
	obj := mustFind(t, d.objs, "Service", "doorman")
	listen := mustListenPort(t, d.doorman, "DOORMAN_LISTEN")
	for _, p := range specOf[serviceSpec](t, obj).Ports {
		if mustPort(t, d.doorman, p.TargetPort) == listen {
			return doormanService{obj.Metadata.Name, obj.Metadata.Namespace, p.Port, p.Name}
		}
	}
	t.Fatalf("Service doorman has no port that targets DOORMAN_LISTEN's port %d", listen)
	return doormanService{}
}

func TestProtectedIngresses(t *testing.T) {
	t.Parallel()
	objs := mustLoad(t, ingressFile)
	svc := loadDoormanService(t)
	lists := whitelistSections(t)
	tests := []struct{ name, host, list string }{
		{"chat", "chat.example.com", ""},
		{"gpt4", "gpt4.example.com", "gpt4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ing := mustFind(t, objs, "Ingress", tt.name)
			if got := ingressHosts(t, ing); !slices.Equal(got, []string{tt.host}) {
				t.Errorf("hosts = %q, want [%s]", got, tt.host)
			}
			ann := ing.Metadata.Annotations
			checkAuthURL(t, ann[annPrefix+"auth-url"], svc, tt.list)
			checkAuthSignin(t, ann[annPrefix+"auth-signin"], tt.list)
			if tt.list != "" && !lists[tt.list] {
				t.Errorf("list %q: the whitelist ConfigMap has no [%s] section", tt.list, tt.list)
			}
			headers := strings.Split(strings.ReplaceAll(ann[annPrefix+"auth-response-headers"], " ", ""), ",")
			if !slices.Contains(headers, "X-Auth-Request-Email") {
				t.Errorf("auth-response-headers = %q, want X-Auth-Request-Email among them", headers)
			}
			if _, ok := ann[annPrefix+"auth-cache-key"]; ok && cachesUnauthorized(ann[annPrefix+"auth-cache-duration"]) {
				t.Errorf("auth-cache-key is set and auth-cache-duration %q caches 401", ann[annPrefix+"auth-cache-duration"])
			}
		})
	}
}

// checkAuthURL checks that raw is doorman's /auth through the Service's
// cluster DNS name, asking about list.
func checkAuthURL(t *testing.T, raw string, svc doormanService, list string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("auth-url %q: %v", raw, err)
	}
	wantHost := svc.name + "." + svc.namespace + ".svc.cluster.local"
	port := cmp.Or(u.Port(), "80")
	if u.Scheme != "http" || u.Hostname() != wantHost || port != strconv.Itoa(svc.port) || u.Path != "/auth" {
		t.Errorf("auth-url = %q, want http://%s:%d/auth (Service port %q)", raw, wantHost, svc.port, svc.portName)
	}
	if got := u.Query().Get("list"); got != list {
		t.Errorf("auth-url %q list = %q, want %q", raw, got, list)
	}
}

// checkAuthSignin checks that raw is doorman's https sign-in page with the
// site's list and an unescaped rd as its last parameter (README "Kubernetes": the
// half-escaped rd that ingress-nginx appends on its own is not accepted).
func checkAuthSignin(t *testing.T, raw, list string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("auth-signin %q: %v", raw, err)
	}
	if u.Scheme != "https" || u.Path != "/login" {
		t.Errorf("auth-signin = %q, want https://…/login", raw)
	}
	params := strings.Split(u.RawQuery, "&")
	if last := params[len(params)-1]; !strings.HasPrefix(last, "rd=https://") {
		t.Errorf("auth-signin %q ends with %q, want rd=https://… last", raw, last)
	}
	q, _ := url.ParseQuery(strings.Join(params[:len(params)-1], "&"))
	if got := q.Get("list"); got != list {
		t.Errorf("auth-signin %q list = %q, want %q", raw, got, list)
	}
}

// whitelistSections returns the [name] sections of the whitelist ConfigMap.
func whitelistSections(t *testing.T) map[string]bool {
	t.Helper()
	d := loadDeployment(t)
	file := mustEnv(t, d.doorman, "DOORMAN_WHITELIST")
	_, v := d.mustMountAt(t, d.doorman, path.Dir(file))
	text := mustFind(t, d.objs, "ConfigMap", v.ConfigMap.Name).Data[path.Base(file)]
	sections := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^[ \t]*\[([A-Za-z0-9._-]+)\][ \t]*$`).FindAllStringSubmatch(text, -1) {
		sections[m[1]] = true
	}
	return sections
}

func ingressHosts(t *testing.T, ing object) []string {
	t.Helper()
	var hosts []string
	for _, r := range specOf[ingressSpec](t, ing).Rules {
		hosts = append(hosts, r.Host)
	}
	return hosts
}

func TestAuthHostIngress(t *testing.T) {
	t.Parallel()
	ing := mustFind(t, mustLoad(t, ingressFile), "Ingress", "doorman")
	svc := loadDoormanService(t)
	if ing.Metadata.Namespace != svc.namespace {
		t.Errorf("namespace = %q, want the doorman Service's %q", ing.Metadata.Namespace, svc.namespace)
	}
	if _, ok := ing.Metadata.Annotations[annPrefix+"auth-url"]; ok {
		t.Error("auth-url is set: the sign-in pages must be reachable signed out")
	}
	var got []string
	for _, r := range specOf[ingressSpec](t, ing).Rules {
		for _, p := range r.HTTP.Paths {
			got = append(got, p.PathType+" "+p.Path)
			checkAuthHostPath(t, p, svc)
		}
	}
	want := []string{"Exact /login", "Exact /callback", "Exact /logout", "Exact /", "Prefix /static/"}
	if !slices.Equal(got, want) {
		t.Errorf("paths = %q, want %q", got, want)
	}
}

// checkAuthHostPath checks that p leads to the doorman Service and exposes
// none of doorman's internal endpoints.
func checkAuthHostPath(t *testing.T, p ingressPath, svc doormanService) {
	t.Helper()
	be := p.Backend.Service
	if be.Name != svc.name || (be.Port.Name != svc.portName && be.Port.Number != svc.port) {
		t.Errorf("path %s → service %s port %q/%d, want %s port %q or %d",
			p.Path, be.Name, be.Port.Name, be.Port.Number, svc.name, svc.portName, svc.port)
	}
	for _, internal := range []string{"/auth", "/metrics", "/healthz", "/readyz"} {
		if pathMatches(p, internal) {
			t.Errorf("%s path %s exposes %s", p.PathType, p.Path, internal)
		}
	}
}

// pathMatches reports whether an Ingress path matches the request path
// target. ingress-nginx treats ImplementationSpecific as Prefix.
func pathMatches(p ingressPath, target string) bool {
	if p.PathType == "Exact" {
		return p.Path == target
	}
	prefix := strings.TrimSuffix(p.Path, "/")
	return target == prefix || strings.HasPrefix(target, prefix+"/")
}

func TestIngressAnnotations(t *testing.T) {
	t.Parallel()
	// ingress-nginx's validators for these annotations (parser/validators.go,
	// authreq): a value outside its character set gets the Ingress rejected.
	urlWithVariables := regexp.MustCompile(`^[-._~a-zA-Z0-9/:, ?&=$]*$`)
	validators := map[string]*regexp.Regexp{
		"auth-url":              urlWithVariables,
		"auth-signin":           urlWithVariables,
		"auth-response-headers": regexp.MustCompile(`^[A-Za-z0-9-_, ]*$`),
		"auth-cache-key":        regexp.MustCompile(`^[A-Za-z0-9\-_${}]*$`),
		"auth-cache-duration":   regexp.MustCompile(`^[/\-._~a-zA-Z0-9:, ]*$`),
	}
	for _, ing := range mustLoad(t, ingressFile) {
		t.Run(ing.Metadata.Name, func(t *testing.T) {
			t.Parallel()
			for _, key := range slices.Sorted(maps.Keys(ing.Metadata.Annotations)) {
				if strings.Contains(key, "snippet") {
					t.Errorf("annotation %s: no snippet annotations (disabled by default, Critical risk)", key)
				}
				re, ok := validators[strings.TrimPrefix(key, annPrefix)]
				if v := ing.Metadata.Annotations[key]; ok && !re.MatchString(v) {
					t.Errorf("annotation %s = %q: ingress-nginx accepts only %s", key, v, re)
				}
			}
		})
	}
}

func TestIngressTLS(t *testing.T) {
	t.Parallel()
	for _, ing := range mustLoad(t, ingressFile) {
		t.Run(ing.Metadata.Name, func(t *testing.T) {
			t.Parallel()
			covered := map[string]bool{}
			for _, tls := range specOf[ingressSpec](t, ing).TLS {
				for _, h := range tls.Hosts {
					covered[h] = tls.SecretName != ""
				}
			}
			for _, h := range ingressHosts(t, ing) {
				if !covered[h] {
					t.Errorf("host %s: no tls entry with a secretName", h)
				}
			}
		})
	}
}

// cachesUnauthorized reports whether ingress-nginx caches doorman's 401s
// under auth-cache-duration value d. Empty means ingress-nginx's default,
// "200 202 401 5m". Each comma-separated entry is proxy_cache_valid's
// "[code ...] time": "any" covers every code; no code means 200, 301, 302.
func cachesUnauthorized(d string) bool {
	if strings.TrimSpace(d) == "" {
		d = "200 202 401 5m"
	}
	for _, entry := range strings.Split(d, ",") {
		for _, f := range strings.Fields(entry) {
			if f == "401" || f == "any" {
				return true
			}
		}
	}
	return false
}

func TestCachesUnauthorized(t *testing.T) {
	t.Parallel()
	tests := []struct {
		duration string
		want     bool
	}{
		{"", true}, // ingress-nginx's default
		{"200 202 401 5m", true},
		{"200 1s", false},
		{"200 202 30m", false},
		{"1m", false},
		{"any 1s", true},
		{"200 1s, 401 1s", true},
		{"200 1s,401 10s", true},
	}
	for _, tt := range tests {
		if got := cachesUnauthorized(tt.duration); got != tt.want {
			t.Errorf("cachesUnauthorized(%q) = %v, want %v", tt.duration, got, tt.want)
		}
	}
}
