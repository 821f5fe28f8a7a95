// Package kubernetes_test checks the Kubernetes example (doorman.yaml and
// ingress.yaml) for consistency: with itself, with ingress-nginx's rules for
// annotations, and with the settings doorman knows (../../config.go).
package kubernetes_test

import (
	"errors"
	"io"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	doormanFile = "doorman.yaml"
	ingressFile = "ingress.yaml"
	annPrefix   = "nginx.ingress.kubernetes.io/"
)

// object is the part of any Kubernetes object the tests read; Spec is
// decoded per kind with specOf.
type object struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   metadata          `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       yaml.Node         `yaml:"spec"`
}

type metadata struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// intOrString is a Kubernetes IntOrString (a port number or a port name),
// kept as written.
type intOrString string

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	*v = intOrString(n.Value)
	return nil
}

type deploymentSpec struct {
	Replicas int           `yaml:"replicas"`
	Selector labelSelector `yaml:"selector"`
	Template struct {
		Metadata metadata `yaml:"metadata"`
		Spec     podSpec  `yaml:"spec"`
	} `yaml:"template"`
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    *int  `yaml:"runAsUser"`
		FSGroup      *int  `yaml:"fsGroup"`
	} `yaml:"securityContext"`
	InitContainers []container `yaml:"initContainers"`
	Containers     []container `yaml:"containers"`
	Volumes        []volume    `yaml:"volumes"`
}

// envVar is one environment variable of a container: a value, or one
// taken from a Secret.
type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom struct {
		SecretKeyRef struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type container struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []envVar `yaml:"env"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	VolumeMounts    []volumeMount   `yaml:"volumeMounts"`
	ReadinessProbe  *probe          `yaml:"readinessProbe"`
	LivenessProbe   *probe          `yaml:"livenessProbe"`
	SecurityContext securityContext `yaml:"securityContext"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	SubPath   string `yaml:"subPath"`
	ReadOnly  bool   `yaml:"readOnly"`
}

type probe struct {
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
}

type securityContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	RunAsUser                *int  `yaml:"runAsUser"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
		Add  []string `yaml:"add"`
	} `yaml:"capabilities"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName  string `yaml:"secretName"`
		DefaultMode *int   `yaml:"defaultMode"`
	} `yaml:"secret"`
	EmptyDir *struct {
		Medium string `yaml:"medium"`
	} `yaml:"emptyDir"`
}

type serviceSpec struct {
	Selector map[string]string `yaml:"selector"`
	Ports    []struct {
		Name       string      `yaml:"name"`
		Port       int         `yaml:"port"`
		TargetPort intOrString `yaml:"targetPort"`
	} `yaml:"ports"`
}

type selectorSpec struct { // PodDisruptionBudget
	Selector labelSelector `yaml:"selector"`
}

type networkPolicySpec struct {
	PodSelector labelSelector `yaml:"podSelector"`
	Ingress     []struct {
		Ports []struct {
			Port intOrString `yaml:"port"`
		} `yaml:"ports"`
	} `yaml:"ingress"`
}

type ingressSpec struct {
	TLS []struct {
		Hosts      []string `yaml:"hosts"`
		SecretName string   `yaml:"secretName"`
	} `yaml:"tls"`
	Rules []struct {
		Host string `yaml:"host"`
		HTTP struct {
			Paths []ingressPath `yaml:"paths"`
		} `yaml:"http"`
	} `yaml:"rules"`
}

type ingressPath struct {
	Path     string `yaml:"path"`
	PathType string `yaml:"pathType"`
	Backend  struct {
		Service struct {
			Name string `yaml:"name"`
			Port struct {
				Name   string `yaml:"name"`
				Number int    `yaml:"number"`
			} `yaml:"port"`
		} `yaml:"service"`
	} `yaml:"backend"`
}

// mustLoad decodes every YAML document in file.
func mustLoad(t *testing.T, file string) []object {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var objs []object
	for i := 1; ; i++ {
		var obj object
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", file, i, err)
		}
		objs = append(objs, obj)
	}
}

// mustFind returns the one object of kind and name in objs.
func mustFind(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	var found []object
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("found %d %s objects named %q, want 1", len(found), kind, name)
	}
	return found[0]
}

// specOf decodes obj's spec as a T.
func specOf[T any](t *testing.T, obj object) T {
	t.Helper()
	var spec T
	if err := obj.Spec.Decode(&spec); err != nil {
		t.Fatalf("%s %s: spec: %v", obj.Kind, obj.Metadata.Name, err)
	}
	return spec
}

func TestDocumentsAreObjects(t *testing.T) {
	t.Parallel()
	for _, file := range []string{doormanFile, ingressFile} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			seen := map[string]bool{}
			for i, o := range mustLoad(t, file) {
				if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
					t.Errorf("document %d: apiVersion %q, kind %q, metadata.name %q; want all three",
						i+1, o.APIVersion, o.Kind, o.Metadata.Name)
				}
				id := o.Kind + " " + o.Metadata.Namespace + "/" + o.Metadata.Name
				if seen[id] {
					t.Errorf("document %d: %s is defined twice", i+1, id)
				}
				seen[id] = true
			}
		})
	}
}
