package nginx_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// carol is taken off the whitelist and put back by each edit of the chaos
// test, while her cookie and token are in use.
const carol = "carol@example.com"

// chaosWorkers are the people of the chaos traffic's workers.
func chaosWorkers() []string {
	return []string{"worker0@example.com", "worker1@example.com", "worker2@example.com", "worker3@example.com"}
}

// chaosBudgets are the workers' budgets on gpt4, per day: the section's
// (sectionBudget) for worker0, so small that it is reached in the first
// second and every fault after is met at the ceiling; larger ones reached
// later, or (worker3) never, so that counted checks are admitted across
// every fault.
func chaosBudgets() map[string]int64 {
	return map[string]int64{"worker0@example.com": sectionBudget, "worker1@example.com": 40, "worker2@example.com": 150, "worker3@example.com": 1_000_000}
}

// sectionBudget is the budget line of the whitelist's [gpt4] section, per day.
const sectionBudget = 5

// editStyles are the ways the chaos test rewrites the whitelist, all that
// the README's "2. The whitelist" supports, in the order of each cycle. A
// ConfigMap swap on a plain file first turns it into the ConfigMap's
// symlink (by an atomic rename); a rename turns it back.
func editStyles() []string {
	return []string{"rename", "in place", "delete and recreate", "ConfigMap swap", "ConfigMap swap"}
}

// chaosWhitelist is the whitelist of a chaos run, in a directory of its own.
type chaosWhitelist struct {
	dir, path string
	version   int
	carolOn   bool
}

// content is the whitelist as it stands: everyone on the main list, the
// workers and bob on gpt4 under the section's budget, which entries of
// their own replace (bob's is "none").
func (w *chaosWhitelist) content() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# doorman chaos test, version %d\n%s\n", w.version, bob)
	if w.carolOn {
		b.WriteString(carol + "\n")
	}
	fmt.Fprintf(&b, "%s\n\n[gpt4]\nbudget %d/day\n%s budget none\n", strings.Join(chaosWorkers(), "\n"), sectionBudget, bob)
	for _, email := range chaosWorkers() {
		if n := chaosBudgets()[email]; n != sectionBudget {
			fmt.Fprintf(&b, "%s budget %d/day\n", email, n)
		} else {
			b.WriteString(email + "\n")
		}
	}
	return b.String()
}

// toggle writes the next version, carol taken off or put back, in style.
func (w *chaosWhitelist) toggle(style string) error {
	w.version++
	w.carolOn = !w.carolOn
	data := []byte(w.content())
	switch style {
	case "in place":
		return os.WriteFile(w.path, data, 0o600)
	case "rename":
		return w.replace(w.path, func(tmp string) error { return os.WriteFile(tmp, data, 0o600) })
	case "delete and recreate":
		if err := os.Remove(w.path); err != nil {
			return err
		}
		return os.WriteFile(w.path, data, 0o600)
	case "ConfigMap swap":
		return w.swap(data)
	}
	return fmt.Errorf("unknown edit style %q", style)
}

// replace makes a new file with create and renames it over path.
func (w *chaosWhitelist) replace(path string, create func(tmp string) error) error {
	tmp := filepath.Join(w.dir, ".chaos.tmp")
	if err := create(tmp); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// swap updates the whitelist as Kubernetes updates a ConfigMap: the data
// in a new directory, a new ..data symlink renamed over the old one, the
// old directory removed. whitelist.txt is a symlink to ..data/whitelist.txt.
func (w *chaosWhitelist) swap(data []byte) error {
	name := fmt.Sprintf("..chaos_%06d", w.version)
	if err := os.Mkdir(filepath.Join(w.dir, name), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(w.dir, name, "whitelist.txt"), data, 0o600); err != nil {
		return err
	}
	dataLink := filepath.Join(w.dir, "..data")
	old, _ := os.Readlink(dataLink)
	if err := w.replace(dataLink, func(tmp string) error { return os.Symlink(name, tmp) }); err != nil {
		return err
	}
	const target = "..data/whitelist.txt"
	if got, err := os.Readlink(w.path); err != nil || got != target {
		err := w.replace(w.path, func(tmp string) error { return os.Symlink(target, tmp) })
		if err != nil {
			return err
		}
	}
	if old == "" {
		return nil
	}
	return os.RemoveAll(filepath.Join(w.dir, old))
}
