package netclient_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's guide to adding loom to an existing GTK program shows
// lines of guiloop/gtk/guide/gtkmain, a program guiloop/gtk's tests build
// and use through its window: each code block of the section must be
// lines of that program, in its order (spaces aside, "// ..." lines
// standing for the program's own code), so that the guide cannot drift
// from the program that is tested.
func TestREADMEEmbeddingGuideIsTheGuideProgram(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	program, err := os.ReadFile(filepath.Join(root, "guiloop", "gtk", "guide", "gtkmain", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	const heading = "## Adding loom to an existing GTK program"
	_, section, ok := strings.Cut(string(readme), heading+"\n")
	if !ok {
		t.Fatalf("README has no section %q", heading)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var prog []string
	for _, l := range strings.Split(string(program), "\n") {
		prog = append(prog, norm(l))
	}
	blocks := codeBlocks(section)
	if len(blocks) != 4 {
		t.Fatalf("the section has %d Go blocks, want 4 (before, and the three steps)", len(blocks))
	}
	for i, b := range blocks {
		at := 0
		for _, l := range strings.Split(b, "\n") {
			l = norm(l)
			if l == "" || strings.HasPrefix(l, "// ...") {
				continue
			}
			found := false
			for ; at < len(prog); at++ {
				if prog[at] == l {
					found, at = true, at+1
					break
				}
			}
			if !found {
				t.Errorf("block %d of the README's guide: %q is not a line of guide/gtkmain (after the lines before it)", i+1, l)
				break
			}
		}
	}
	for _, call := range []string{"reactor.New()", "gtkloop.Attach(r)", "gtk.Main()"} {
		if !strings.Contains(section, call) {
			t.Errorf("the guide does not show %s", call)
		}
	}
}

// codeBlocks returns the contents of the ```go blocks of md.
func codeBlocks(md string) []string {
	var blocks []string
	for {
		_, rest, ok := strings.Cut(md, "```go\n")
		if !ok {
			return blocks
		}
		block, after, _ := strings.Cut(rest, "```")
		blocks = append(blocks, block)
		md = after
	}
}

// norm is a line without its indentation and with runs of spaces as one.
func norm(l string) string { return strings.Join(strings.Fields(l), " ") }
