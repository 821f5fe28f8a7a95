package kubernetes_test

import (
	"cmp"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// deployment is doorman.yaml with its Deployment's pod and doorman container.
type deployment struct {
	objs    []object
	deploy  object
	spec    deploymentSpec
	pod     podSpec
	doorman container
}

func loadDeployment(t *testing.T) deployment {
	t.Helper()
	d := deployment{objs: mustLoad(t, doormanFile)}
	d.deploy = mustFind(t, d.objs, "Deployment", "doorman")
	d.spec = specOf[deploymentSpec](t, d.deploy)
	d.pod = d.spec.Template.Spec
	i := slices.IndexFunc(d.pod.Containers, func(c container) bool { return c.Name == "doorman" })
	if i < 0 {
		t.Fatal("the Deployment has no container named doorman")
	}
	d.doorman = d.pod.Containers[i]
	return d
}

// mustEnv returns the value of the environment variable name in c.
func mustEnv(t *testing.T, c container, name string) string {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	t.Fatalf("container %s does not set %s", c.Name, name)
	return ""
}

// mustPort resolves a port number or name to one of c's container ports.
func mustPort(t *testing.T, c container, p intOrString) int {
	t.Helper()
	for _, cp := range c.Ports {
		if string(p) == cp.Name || string(p) == strconv.Itoa(cp.ContainerPort) {
			return cp.ContainerPort
		}
	}
	t.Fatalf("container %s has no port %q", c.Name, p)
	return 0
}

// mustMountAt returns c's volume mount at dir and the volume it mounts.
func (d deployment) mustMountAt(t *testing.T, c container, dir string) (volumeMount, volume) {
	t.Helper()
	i := slices.IndexFunc(c.VolumeMounts, func(m volumeMount) bool { return path.Clean(m.MountPath) == dir })
	if i < 0 {
		t.Fatalf("container %s mounts nothing at %s", c.Name, dir)
	}
	m := c.VolumeMounts[i]
	j := slices.IndexFunc(d.pod.Volumes, func(v volume) bool { return v.Name == m.Name })
	if j < 0 {
		t.Fatalf("container %s mounts volume %q, which the pod does not define", c.Name, m.Name)
	}
	return m, d.pod.Volumes[j]
}

func mounts(c container, vol string) bool {
	return slices.ContainsFunc(c.VolumeMounts, func(m volumeMount) bool { return m.Name == vol })
}

func TestProbes(t *testing.T) {
	t.Parallel()
	d := loadDeployment(t)
	listenPort := mustListenPort(t, d.doorman, "DOORMAN_LISTEN")
	tests := []struct {
		name     string
		probe    *probe
		wantPath string
	}{
		{"readinessProbe", d.doorman.ReadinessProbe, "/readyz"},
		{"livenessProbe", d.doorman.LivenessProbe, "/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.probe == nil || tt.probe.HTTPGet == nil {
				t.Fatalf("%s: want an httpGet probe", tt.name)
			}
			if got := tt.probe.HTTPGet.Path; got != tt.wantPath {
				t.Errorf("%s path = %q, want %q", tt.name, got, tt.wantPath)
			}
			if got := mustPort(t, d.doorman, tt.probe.HTTPGet.Port); got != listenPort {
				t.Errorf("%s port = %d, want %d (DOORMAN_LISTEN)", tt.name, got, listenPort)
			}
		})
	}
}

// mustListenPort returns the port of the listen address in env, which must
// be a container port of c and listen on every address (not loopback: the
// kubelet and the Service reach the pod's IP).
func mustListenPort(t *testing.T, c container, env string) int {
	t.Helper()
	host, port, err := net.SplitHostPort(mustEnv(t, c, env))
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		t.Errorf("%s host = %q, want 0.0.0.0, :: or empty", env, host)
	}
	return mustPort(t, c, intOrString(port))
}

func TestListenAddresses(t *testing.T) {
	t.Parallel()
	d := loadDeployment(t)
	tests := []struct{ env, portName string }{
		{"DOORMAN_LISTEN", "http"},
		{"DOORMAN_METRICS_LISTEN", "metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Parallel()
			got := mustListenPort(t, d.doorman, tt.env)
			if want := mustPort(t, d.doorman, intOrString(tt.portName)); got != want {
				t.Errorf("%s port = %d, want %d (container port %q)", tt.env, got, want, tt.portName)
			}
		})
	}
}

func TestWhitelistMount(t *testing.T) {
	t.Parallel()
	d := loadDeployment(t)
	file := mustEnv(t, d.doorman, "DOORMAN_WHITELIST")
	_, v := d.mustMountAt(t, d.doorman, path.Dir(file))
	if v.ConfigMap == nil {
		t.Fatalf("volume %q at %s is not a ConfigMap", v.Name, path.Dir(file))
	}
	cm := mustFind(t, d.objs, "ConfigMap", v.ConfigMap.Name)
	if _, ok := cm.Data[path.Base(file)]; !ok {
		t.Errorf("ConfigMap %s has no key %q (DOORMAN_WHITELIST)", cm.Metadata.Name, path.Base(file))
	}
	for _, c := range slices.Concat(d.pod.InitContainers, d.pod.Containers) {
		for _, m := range c.VolumeMounts {
			if m.Name == v.Name && m.SubPath != "" {
				t.Errorf("container %s mounts the whitelist with subPath %q: kubelet never updates it", c.Name, m.SubPath)
			}
		}
	}
}

func TestSecretFileMount(t *testing.T) {
	t.Parallel()
	d := loadDeployment(t)
	file := mustEnv(t, d.doorman, "DOORMAN_SECRET_FILE")
	m, keys := d.mustMountAt(t, d.doorman, path.Dir(file))
	if keys.EmptyDir == nil || keys.EmptyDir.Medium != "Memory" {
		t.Errorf("volume %q at %s: want an emptyDir with medium Memory", keys.Name, path.Dir(file))
	}
	if !m.ReadOnly {
		t.Errorf("doorman mounts %q read-write, want readOnly (no per-pod key of its own)", keys.Name)
	}
	i := slices.IndexFunc(d.pod.InitContainers, func(c container) bool { return mounts(c, keys.Name) })
	if i < 0 {
		t.Fatalf("no init container writes volume %q", keys.Name)
	}
	checkInstall(t, d, d.pod.InitContainers[i], keys.Name, path.Base(file))
	for _, v := range d.pod.Volumes {
		if v.Secret != nil && mounts(d.doorman, v.Name) {
			t.Errorf("doorman mounts Secret volume %q: its files are root's (or group-readable with fsGroup)", v.Name)
		}
	}
}

// checkInstall checks that init copies a key of the Secret in doorman.yaml to
// base in the volume keys, as mode 0400.
func checkInstall(t *testing.T, d deployment, init container, keys, base string) {
	t.Helper()
	argv := slices.Concat(init.Command, init.Args)
	if len(argv) < 3 || !slices.Contains(argv, "0400") {
		t.Fatalf("init container %s runs %q, want install -m 0400 SRC DST", init.Name, argv)
	}
	src, dst := argv[len(argv)-2], argv[len(argv)-1]
	dm, _ := d.mustMountAt(t, init, path.Dir(dst))
	if dm.Name != keys || path.Base(dst) != base {
		t.Errorf("init container writes %s (volume %q), want %s in volume %q", dst, dm.Name, base, keys)
	}
	_, sv := d.mustMountAt(t, init, path.Dir(src))
	if sv.Secret == nil {
		t.Fatalf("init container reads %s from volume %q, which is not a Secret", src, sv.Name)
	}
	secret := mustFind(t, d.objs, "Secret", sv.Secret.SecretName)
	if _, ok := secret.StringData[path.Base(src)]; !ok {
		t.Errorf("Secret %s has no key %q", secret.Metadata.Name, path.Base(src))
	}
	// Without fsGroup the Secret's files are root's: a non-root copier reads
	// them through the "others" bits.
	if mode := sv.Secret.DefaultMode; mode != nil && *mode&0o004 == 0 {
		t.Errorf("Secret volume defaultMode = %#o, want others-readable (the init container is not root)", *mode)
	}
}

func TestPodSecurity(t *testing.T) {
	t.Parallel()
	d := loadDeployment(t)
	psc := d.pod.SecurityContext
	if psc.FSGroup != nil {
		t.Errorf("pod fsGroup = %d, want none: it makes Secret files group-readable, which doorman refuses", *psc.FSGroup)
	}
	if psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
		t.Errorf("pod runAsUser = %v, want 65532 (the image's user)", deref(psc.RunAsUser))
	}
	for _, c := range slices.Concat(d.pod.InitContainers, d.pod.Containers) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			checkContainerSecurity(t, c, psc.RunAsNonRoot, psc.RunAsUser)
		})
	}
}

// checkContainerSecurity checks c's effective security context: c's own
// setting, else the pod's.
func checkContainerSecurity(t *testing.T, c container, podNonRoot *bool, podUser *int) {
	t.Helper()
	sc := c.SecurityContext
	nonRoot, user := cmp.Or(sc.RunAsNonRoot, podNonRoot), cmp.Or(sc.RunAsUser, podUser)
	if nonRoot == nil || !*nonRoot || (user != nil && *user == 0) {
		t.Errorf("runAsNonRoot = %v, runAsUser = %v; want true and not 0", deref(nonRoot), deref(user))
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("allowPrivilegeEscalation = %v, want false", deref(sc.AllowPrivilegeEscalation))
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("readOnlyRootFilesystem = %v, want true", deref(sc.ReadOnlyRootFilesystem))
	}
	if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities drop %q add %q, want drop [ALL] and no add", sc.Capabilities.Drop, sc.Capabilities.Add)
	}
}

// deref returns *p, or "unset".
func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func TestEnvNamesKnownToDoorman(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../main.go")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`"(DOORMAN_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
		known[m[1]] = true
	}
	d := loadDeployment(t)
	seen := map[string]bool{}
	for _, e := range d.doorman.Env {
		if strings.HasPrefix(e.Name, "DOORMAN_") && !known[e.Name] {
			t.Errorf("env %s: doorman has no such setting (main.go's settings table)", e.Name)
		}
		if seen[e.Name] {
			t.Errorf("env %s is set twice", e.Name)
		}
		seen[e.Name] = true
	}
	// The settings this example relies on.
	for _, name := range []string{
		"DOORMAN_LISTEN", "DOORMAN_GOOGLE_CLIENT_ID", "DOORMAN_WHITELIST", "DOORMAN_SECRET_FILE",
		"DOORMAN_COOKIE_DOMAIN", "DOORMAN_PUBLIC_URL", "DOORMAN_METRICS_LISTEN", "DOORMAN_TRUSTED_IP_HEADER",
	} {
		if !known[name] || !seen[name] {
			t.Errorf("env %s: known to doorman %v, set %v; want both", name, known[name], seen[name])
		}
	}
}

func TestSelectorsAndPorts(t *testing.T) {
	t.Parallel()
	d := loadDeployment(t)
	labels := d.spec.Template.Metadata.Labels
	svc := specOf[serviceSpec](t, mustFind(t, d.objs, "Service", "doorman"))
	pdb := specOf[selectorSpec](t, mustFind(t, d.objs, "PodDisruptionBudget", "doorman"))
	np := specOf[networkPolicySpec](t, mustFind(t, d.objs, "NetworkPolicy", "doorman"))
	selectors := []struct {
		name string
		sel  map[string]string
	}{
		{"Deployment selector", d.spec.Selector.MatchLabels},
		{"Service selector", svc.Selector},
		{"PodDisruptionBudget selector", pdb.Selector.MatchLabels},
		{"NetworkPolicy podSelector", np.PodSelector.MatchLabels},
	}
	for _, s := range selectors {
		if len(s.sel) == 0 || !isSubset(s.sel, labels) {
			t.Errorf("%s = %v, want a non-empty subset of the pod labels %v", s.name, s.sel, labels)
		}
	}
	for _, p := range svc.Ports {
		mustPort(t, d.doorman, p.TargetPort) // every Service port reaches a container port
	}
	for _, rule := range np.Ingress {
		for _, p := range rule.Ports { // pod ports, not the Service's
			mustPort(t, d.doorman, p.Port)
		}
	}
}

func isSubset(sub, of map[string]string) bool {
	for k, v := range sub {
		if w, ok := of[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestReplicasShareTheStore: more than one replica needs one shared store,
// so DOORMAN_STORE comes from the doorman-store Secret and is a Redis URL
// (a SQLite file in each pod would give each replica sessions of its own).
func TestReplicasShareTheStore(t *testing.T) {
	t.Parallel()
	d := loadDeployment(t)
	if d.spec.Replicas < 2 {
		t.Errorf("replicas = %d, want at least 2", d.spec.Replicas)
	}
	i := slices.IndexFunc(d.doorman.Env, func(e envVar) bool { return e.Name == "DOORMAN_STORE" })
	if i < 0 {
		t.Fatal("the doorman container does not set DOORMAN_STORE")
	}
	ref := d.doorman.Env[i].ValueFrom.SecretKeyRef
	if d.doorman.Env[i].Value != "" || ref.Name == "" {
		t.Fatalf("DOORMAN_STORE = %q from secret %q; want it from a Secret (the URL may hold a password)", d.doorman.Env[i].Value, ref.Name)
	}
	secret := mustFind(t, d.objs, "Secret", ref.Name)
	if url := secret.StringData[ref.Key]; !strings.HasPrefix(url, "redis://") && !strings.HasPrefix(url, "rediss://") {
		t.Errorf("Secret %s key %s = %q, want a redis:// or rediss:// URL", ref.Name, ref.Key, url)
	}
}
