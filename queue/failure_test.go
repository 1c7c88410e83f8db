package queue

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestREADMEListsEveryFailureCode: the README's table of error.code is
// the users' copy of failure.go's codes, so the two must list the same.
func TestREADMEListsEveryFailureCode(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "failure.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			for i, name := range spec.(*ast.ValueSpec).Names {
				if !strings.HasPrefix(strings.ToLower(name.Name), "code") {
					continue
				}
				v, err := strconv.Unquote(spec.(*ast.ValueSpec).Values[i].(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				if v == codeCMSPrefix {
					v = codeCMSPrefix + "N"
				}
				codes = append(codes, v)
			}
		}
	}

	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "| `error.code` |")
	if !ok {
		t.Fatal("README.md has no table of error.code")
	}
	row := regexp.MustCompile("^\\| `([a-z_N]+)` \\|")
	var listed []string
	for _, line := range strings.Split(table, "\n")[1:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		if m := row.FindStringSubmatch(line); m != nil {
			listed = append(listed, m[1])
		}
	}
	slices.Sort(codes)
	slices.Sort(listed)
	if len(codes) < 7 || !slices.Equal(codes, listed) {
		t.Errorf("failure.go has the codes %v, README.md lists %v", codes, listed)
	}
}
