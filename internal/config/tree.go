package config

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// kind is the TOML type of a value in the tree.
type kind uint8

const (
	kindString kind = iota
	kindInteger
	kindFloat
	kindBool
	kindDatetime
	kindArray
	kindTable
)

// node is a TOML value that remembers the line it was defined on.
type node struct {
	kind kind
	line int    // line of the key (or array element) that defined the value
	raw  string // scalar text: the decoded string, or the literal for other scalars
	i    int64  // kindInteger
	b    bool   // kindBool

	keys   []string         // kindTable: keys in document order
	fields map[string]*node // kindTable
	elems  []*node          // kindArray
	aot    bool             // kindArray: an array of tables built from [[header]] sections
}

func newTable(line int) *node {
	return &node{kind: kindTable, line: line, fields: map[string]*node{}}
}

func (n *node) set(key string, v *node) {
	if _, ok := n.fields[key]; !ok {
		n.keys = append(n.keys, key)
	}
	n.fields[key] = v
}

// typeName names the TOML type for error messages.
func (n *node) typeName() string {
	switch n.kind {
	case kindString:
		return "string"
	case kindInteger:
		return "integer"
	case kindFloat:
		return "float"
	case kindBool:
		return "boolean"
	case kindDatetime:
		return "datetime"
	case kindArray:
		return "array"
	default:
		return "table"
	}
}

// describe names the value's type and, for scalars, the value itself: `integer 5`, `string "x"`.
func (n *node) describe() string {
	switch n.kind {
	case kindString:
		return "string " + strconv.Quote(n.raw)
	case kindInteger, kindFloat, kindBool, kindDatetime:
		return n.typeName() + " " + n.raw
	default:
		return n.typeName()
	}
}

// parseTree parses a TOML document into a tree of nodes carrying line numbers. TOML's semantic
// rules (no key defined twice, no table redefined) are checked by go-toml's decoder first, so
// the tree builder can trust the document's structure.
func parseTree(file string, data []byte) (*node, *Error) {
	var generic map[string]any
	if err := toml.Unmarshal(data, &generic); err != nil {
		e := &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			// The error's key is only relative to the current table, so the message (which names
			// the key) is clearer on its own.
			e.Line, _ = de.Position()
		}
		e.Msg = "invalid TOML: " + e.Msg + unquotedHint(data, e.Line, e.Msg)
		return nil, e
	}
	b := treeBuilder{lines: lineStarts(data)}
	var p unstable.Parser
	p.Reset(data)
	root := newTable(0)
	cur := root
	for p.NextExpression() {
		expr := p.Expression()
		switch expr.Kind {
		case unstable.KeyValue:
			b.keyValue(cur, expr)
		case unstable.Table:
			cur = b.header(root, expr, false)
		case unstable.ArrayTable:
			cur = b.header(root, expr, true)
		}
	}
	if err := p.Error(); err != nil {
		// Unreachable when go-toml's decoder accepted the document; kept as a safety net.
		return nil, &Error{File: file, Msg: "invalid TOML: " + err.Error()}
	}
	return root, nil
}

// unquotedRe matches a line `key = word` whose value is a bare word, a common mistake for a string.
var unquotedRe = regexp.MustCompile(`^\s*([A-Za-z0-9_.-]+)\s*=\s*([A-Za-z][A-Za-z0-9_.-]*)\s*(#.*)?$`)

// unquotedHint suggests quotes when line n of data assigns a bare word, which go-toml reports
// with confusing messages (`log_format = info` is "expected newline but got 'o'", after "inf").
func unquotedHint(data []byte, n int, msg string) string {
	if n < 1 || strings.Contains(msg, "quoted") {
		return ""
	}
	lines := bytes.SplitN(data, []byte("\n"), n+1)
	if len(lines) < n {
		return ""
	}
	m := unquotedRe.FindSubmatch(lines[n-1])
	if m == nil {
		return ""
	}
	switch string(m[2]) {
	case "true", "false", "inf", "nan":
		return ""
	}
	return fmt.Sprintf(` (strings must be quoted: %s = "%s")`, m[1], m[2])
}

type treeBuilder struct {
	lines []int // byte offset at which each line starts
}

// line returns the 1-based line of a byte offset.
func (b *treeBuilder) line(r unstable.Range) int {
	off := int(r.Offset)
	return sort.Search(len(b.lines), func(i int) bool { return b.lines[i] > off })
}

func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// keyParts returns the parts of a (possibly dotted) key and the line of its first part.
func (b *treeBuilder) keyParts(expr *unstable.Node) ([]string, int) {
	var parts []string
	line := 0
	it := expr.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = b.line(k.Raw)
		}
		parts = append(parts, string(k.Data))
	}
	return parts, line
}

// descend returns the table named key inside t, creating it if needed. For an array of tables it
// returns the last element, as TOML specifies for headers and dotted keys.
func descend(t *node, key string, line int) *node {
	child, ok := t.fields[key]
	if !ok {
		child = newTable(line)
		t.set(key, child)
		return child
	}
	if child.kind == kindArray && len(child.elems) > 0 {
		child = child.elems[len(child.elems)-1]
	}
	if child.kind != kindTable {
		// TOML forbids this and go-toml rejected it already; never panic on it anyway.
		return newTable(line)
	}
	return child
}

// header handles [a.b] and [[a.b]] and returns the table that following key/values go into.
func (b *treeBuilder) header(root *node, expr *unstable.Node, array bool) *node {
	parts, line := b.keyParts(expr)
	t := root
	for _, p := range parts[:len(parts)-1] {
		t = descend(t, p, line)
	}
	last := parts[len(parts)-1]
	if !array {
		child, ok := t.fields[last]
		switch {
		case !ok:
			child = newTable(line)
			t.set(last, child)
		case child.kind == kindTable:
			child.line = line // an implicitly created table is now defined explicitly
		default:
			return newTable(line) // invalid TOML, rejected before (see descend)
		}
		return child
	}
	arr, ok := t.fields[last]
	switch {
	case !ok:
		arr = &node{kind: kindArray, line: line, aot: true}
		t.set(last, arr)
	case arr.kind != kindArray || !arr.aot:
		return newTable(line) // invalid TOML, rejected before (see descend)
	}
	elem := newTable(line)
	arr.elems = append(arr.elems, elem)
	return elem
}

// keyValue handles `a.b = value` inside table t.
func (b *treeBuilder) keyValue(t *node, expr *unstable.Node) {
	parts, line := b.keyParts(expr)
	for _, p := range parts[:len(parts)-1] {
		t = descend(t, p, line)
	}
	t.set(parts[len(parts)-1], b.value(expr.Value(), line))
}

// value converts an AST value. line is the line of its key, used when the value has no position.
func (b *treeBuilder) value(v *unstable.Node, line int) *node {
	if v.Raw.Length > 0 {
		line = b.line(v.Raw)
	}
	n := &node{line: line, raw: string(v.Data)}
	switch v.Kind {
	case unstable.String:
		n.kind = kindString
	case unstable.Integer:
		n.kind = kindInteger
		// go-toml validated the literal already: decimal, 0x, 0o or 0b with underscores, all of
		// which strconv accepts in base 0.
		n.i, _ = strconv.ParseInt(n.raw, 0, 64)
	case unstable.Float:
		n.kind = kindFloat
	case unstable.Bool:
		n.kind = kindBool
		n.b = n.raw == "true"
	case unstable.Array:
		n.kind = kindArray
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind != unstable.Comment {
				n.elems = append(n.elems, b.value(c, line))
			}
		}
	case unstable.InlineTable:
		n.kind = kindTable
		n.fields = map[string]*node{}
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				b.keyValue(n, c)
			}
		}
	default: // dates and times
		n.kind = kindDatetime
	}
	return n
}

// quoteKey returns k as TOML writes it: bare when possible, quoted otherwise.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return strconv.Quote(k)
		}
	}
	return k
}
