package templates

import (
	"html/template"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template/parse"
)

func TestMessagesComplete(t *testing.T) {
	t.Parallel()
	langs := Languages()
	want := slices.Sorted(maps.Keys(langs[0].msgs))
	for _, l := range langs {
		t.Run(l.Tag, func(t *testing.T) {
			t.Parallel()
			got := slices.Sorted(maps.Keys(l.msgs))
			for _, k := range want {
				if _, ok := l.msgs[k]; !ok {
					t.Errorf("%s lacks key %q", l.Tag, k)
				}
			}
			for _, k := range got {
				if _, ok := langs[0].msgs[k]; !ok {
					t.Errorf("%s has key %q, which English lacks", l.Tag, k)
				}
			}
			for _, k := range got {
				if strings.TrimSpace(l.msgs[k]) == "" {
					t.Errorf("%s %q is empty", l.Tag, k)
				}
				if gotPH, wantPH := placeholders(l.msgs[k]), placeholders(langs[0].msgs[k]); !slices.Equal(gotPH, wantPH) {
					t.Errorf("%s %q has placeholders %v, English %v", l.Tag, k, gotPH, wantPH)
				}
			}
		})
	}
}

var placeholderRE = regexp.MustCompile(`\{[0-9]+\}`)

// placeholders returns the sorted distinct placeholders in msg.
func placeholders(msg string) []string {
	return slices.Compact(slices.Sorted(slices.Values(placeholderRE.FindAllString(msg, -1))))
}

// TestTemplateKeys checks that every literal key a template passes to "t"
// or "tb" exists (in every language, by TestMessagesComplete), and that
// every key built with printf follows a pattern whose keys all exist.
func TestTemplateKeys(t *testing.T) {
	t.Parallel()
	pages, err := Parse()
	if err != nil {
		t.Fatal(err)
	}
	en := Languages()[0].msgs
	var keys []string
	for _, tmpl := range pages.Templates() {
		if tmpl.Tree == nil {
			continue
		}
		keys = append(keys, messageKeys(tmpl.Tree.Root)...)
	}
	if len(keys) < 40 {
		t.Fatalf("found only %d key references; is the walker broken?", len(keys))
	}
	for _, k := range keys {
		if strings.Contains(k, "%s") {
			for _, kind := range keyParts(k) {
				if _, ok := en[strings.Replace(k, "%s", kind, 1)]; !ok {
					t.Errorf("templates build key %q, but %q does not exist", k, strings.Replace(k, "%s", kind, 1))
				}
			}
			continue
		}
		if _, ok := en[k]; !ok {
			t.Errorf("a template uses key %q, which does not exist", k)
		}
	}
}

// keyParts returns what a template may put for %s in a key it builds
// with printf: a budget's units in budget keys, else error kinds.
func keyParts(key string) []string {
	if strings.HasPrefix(key, "budget.") {
		return []string{"minute", "hour", "day", "week", "month"}
	}
	return []string{"400", "401", "404", "429", "500", "503", "503store"}
}

// messageKeys returns the string literal keys under n passed to t, tb or
// .Titled, or given to printf to build such a key.
func messageKeys(n parse.Node) []string {
	var out []string
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.TemplateNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			out = append(out, commandKeys(n)...)
			for _, a := range n.Args {
				walk(a)
			}
		}
	}
	walk(n)
	return out
}

// commandKeys returns the key literal of one t/tb/printf/Titled command.
func commandKeys(c *parse.CommandNode) []string {
	if len(c.Args) < 2 {
		return nil
	}
	name := ""
	switch f := c.Args[0].(type) {
	case *parse.IdentifierNode:
		name = f.Ident
	case *parse.FieldNode:
		name = f.Ident[len(f.Ident)-1]
	}
	pos := map[string]int{"t": 2, "tb": 2, "printf": 1, "Titled": 1}[name]
	if pos == 0 || len(c.Args) <= pos {
		return nil
	}
	if s, ok := c.Args[pos].(*parse.StringNode); ok {
		return []string{s.Text}
	}
	return nil
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hl, saved, accept, want string
	}{
		{"", "", "", "en"},
		{"", "", "zh-CN", "zh-CN"},
		{"", "", "zh", "zh-CN"},
		{"", "", "zh-Hans-CN", "zh-CN"},
		{"", "", "zh-SG", "zh-CN"},
		{"", "", "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"},
		{"", "", "en-US,ko;q=0.5", "en"},
		{"", "", "fr, ko;q=0.3", "ko"},
		{"", "", "de;q=0.9, zh-CN;q=0.2, ko;q=0.5", "ko"},
		{"", "", "ko;q=0, zh;q=0.5", "zh-CN"},
		{"", "", "ko;q=0", "en"},
		{"", "", "ja", "en"},
		{"", "", "*", "en"},
		{"", "", "garbage!!", "en"},
		{"", "", "ko-KR, x_bad, zh;q=0.1", "ko"},
		{"", "", "bad;;;, zh-CN;q=0.8", "zh-CN"},
		{"", "", strings.Repeat("x-", 1000), "en"},
		{"ko", "", "zh-CN", "ko"},
		{"zh-cn", "", "ko", "zh-CN"},
		{"zh_CN", "", "ko", "zh-CN"}, // x/text accepts "_" too
		{"en", "", "ko", "en"},
		{"fr", "", "ko", "ko"},
		{"%%%", "", "zh", "zh-CN"},
		// The remembered choice beats Accept-Language; ?hl= beats both.
		{"", "ko", "zh-CN,en", "ko"},
		{"", "zh-CN", "ko", "zh-CN"},
		{"", "en", "ko", "en"},
		{"zh-CN", "ko", "en", "zh-CN"},
		{"fr", "ko", "zh-CN", "ko"},
		// A saved value that names no supported language is ignored.
		{"", "fr", "ko", "ko"},
		{"", "<script>", "ko", "ko"},
		{"", "ko-" + strings.Repeat("x", 40), "zh-CN", "zh-CN"},
	}
	for _, tt := range tests {
		if got := Negotiate(tt.hl, tt.saved, tt.accept); got.Tag != tt.want {
			t.Errorf("Negotiate(%q, %q, %q) = %s, want %s", tt.hl, tt.saved, tt.accept, got.Tag, tt.want)
		}
	}
}

func TestSupported(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tag, want string // want "" means not supported
	}{
		{"en", "en"}, {"en-GB", "en"}, {"ko", "ko"}, {"ko-KR", "ko"}, {"KO", "ko"},
		{"zh-CN", "zh-CN"}, {"zh", "zh-CN"}, {"zh-Hans", "zh-CN"}, {"zh_CN", "zh-CN"},
		{"", ""}, {"fr", ""}, {"ja", ""}, {"x", ""}, {"ko;q=1", ""}, {`"><script>`, ""},
		{"en-" + strings.Repeat("a", 40), ""},
	}
	for _, tt := range tests {
		l, ok := Supported(tt.tag)
		if ok != (tt.want != "") || l.Tag != tt.want {
			t.Errorf("Supported(%q) = %q, %v; want %q, %v", tt.tag, l.Tag, ok, tt.want, tt.want != "")
		}
	}
}

func TestRichTextEscapes(t *testing.T) {
	t.Parallel()
	l := Languages()[0]
	l.msgs = map[string]string{"k": `<b> & "{0}" and {1}`}
	got, err := richText(l, "k", `<script>{1}`, "x")
	want := template.HTML(`&lt;b&gt; &amp; &#34;<strong>&lt;script&gt;{1}</strong>&#34; and <strong>x</strong>`)
	if err != nil || got != want {
		t.Errorf("richText = %q, %v; want %q", got, err, want)
	}
	if _, err := text(l, "missing"); err == nil {
		t.Error("text(missing key) succeeded, want an error")
	}
}
