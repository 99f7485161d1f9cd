package config

import (
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/internal/typo"
)

// The decoder fills the Config struct from the node tree by reflection, driven by `toml:"name"`
// struct tags. A new setting needs only a tagged field (and, if it has rules, a check in
// validate.go). Supported field types:
//   - string, bool, signed integers (range-checked)
//   - time.Duration: a string such as "10s" (Go duration syntax), or the integer 0
//   - int64 with the tag option ",size": an integer number of bytes or a string "16MiB"
//   - fs.FileMode: an octal string "0660" or an integer (0o660)
//   - slog.Level: "debug", "info", "warn" or "error"
//   - Secret: an inline string, "env:NAME" or "file:PATH" (never echoed in errors)
//   - *bool: an optional boolean (nil when the key is absent)
//   - structs (TOML tables), slices of structs (arrays of tables), slices of the scalars above
//   - types implementing nodeDecoder (events.go), which decode themselves
//
// A struct whose pointer has a setDefaults method gets it called before an array element is
// decoded into it, so each [[element]] starts from its defaults.

var (
	durationType = reflect.TypeFor[time.Duration]()
	fileModeType = reflect.TypeFor[fs.FileMode]()
	levelType    = reflect.TypeFor[slog.Level]()
	secretType   = reflect.TypeFor[Secret]()
)

// isLeaf reports whether values of type t are single settings rather than tables.
func isLeaf(t reflect.Type) bool {
	return t.Kind() != reflect.Struct || t == secretType || isCustom(t)
}

// defaulter is implemented by array-of-tables element types whose zero value is not the default.
type defaulter interface{ setDefaults() }

// decoder holds the state of one decoding pass.
type decoder struct {
	errs  *errorList
	lines map[string]int  // key path -> line, for every key present in the file
	bad   map[string]bool // key paths whose values could not be decoded
	dir   string          // the configuration file's directory, for "file:" secrets
}

func (d *decoder) fail(n *node, path, format string, args ...any) {
	d.bad[path] = true
	d.errs.add(n.line, path, fmt.Sprintf(format, args...))
}

// field describes one tagged struct field.
type field struct {
	name  string
	index int
	size  bool // ",size" option
	table bool // ",table" option: a pointer to a struct, a table of its own that may be absent
}

// fields lists the tagged fields of a struct type.
func fields(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("toml")
		if !ok || tag == "-" || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fs = append(fs, field{name: name, index: i, size: opts == "size", table: opts == "table"})
	}
	return fs
}

func childPath(path, key string) string {
	if path == "" {
		return quoteKey(key)
	}
	return path + "." + quoteKey(key)
}

// decodeStruct decodes table n into the struct rv, reporting keys the struct does not have.
func (d *decoder) decodeStruct(n *node, path string, rv reflect.Value) {
	fs := fields(rv.Type())
	for _, key := range n.keys {
		child := n.fields[key]
		p := childPath(path, key)
		d.lines[p] = child.line
		i := -1
		for j := range fs {
			if fs[j].name == key {
				i = j
				break
			}
		}
		if i < 0 {
			d.fail(child, p, "unknown key%s", suggest(key, path, fs))
			continue
		}
		d.decodeValue(child, p, rv.Field(fs[i].index), fs[i].size)
	}
}

// decodeValue decodes n into rv, which must be settable.
func (d *decoder) decodeValue(n *node, path string, rv reflect.Value, size bool) {
	t := rv.Type()
	if isCustom(t) {
		rv.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	}
	switch {
	case t == durationType:
		v, err := parseDuration(n)
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		rv.SetInt(int64(v))
		return
	case size && t.Kind() == reflect.Int64:
		v, err := parseSize(n)
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		rv.SetInt(v)
		return
	case t == fileModeType:
		v, err := parseFileMode(n)
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		rv.SetUint(uint64(v))
		return
	case t == levelType:
		v, err := parseLevel(n)
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		rv.SetInt(int64(v))
		return
	case t == secretType:
		v, err := parseSecret(n, d.dir)
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		rv.Set(reflect.ValueOf(v))
		return
	case t.Kind() == reflect.Pointer:
		v := reflect.New(t.Elem())
		d.decodeValue(n, path, v.Elem(), size)
		if !d.bad[path] {
			rv.Set(v)
		}
		return
	}

	switch t.Kind() {
	case reflect.String:
		if n.kind != kindString {
			d.fail(n, path, "expected a string, got %s", n.describe())
			return
		}
		rv.SetString(n.raw)
	case reflect.Bool:
		if n.kind != kindBool {
			d.fail(n, path, "expected true or false, got %s", n.describe())
			return
		}
		rv.SetBool(n.b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.kind != kindInteger {
			d.fail(n, path, "expected an integer, got %s", n.describe())
			return
		}
		if rv.OverflowInt(n.i) {
			d.fail(n, path, "integer %d is out of range", n.i)
			return
		}
		rv.SetInt(n.i)
	case reflect.Struct:
		if n.kind != kindTable {
			d.fail(n, path, "expected a table [%s], got %s", path, n.describe())
			return
		}
		d.decodeStruct(n, path, rv)
	case reflect.Slice:
		if n.kind != kindArray {
			if t.Elem().Kind() == reflect.Struct {
				d.fail(n, path, "expected an array of tables [[%s]], got %s", path, n.describe())
			} else {
				d.fail(n, path, "expected an array, got %s", n.describe())
			}
			return
		}
		s := reflect.MakeSlice(t, len(n.elems), len(n.elems))
		for i, e := range n.elems {
			p := path + "[" + strconv.Itoa(i) + "]"
			d.lines[p] = e.line
			ev := s.Index(i)
			if def, ok := ev.Addr().Interface().(defaulter); ok {
				def.setDefaults()
			}
			d.decodeValue(e, p, ev, size)
		}
		rv.Set(s)
	default:
		// A programming error in the Config struct, not a user error.
		panic(fmt.Sprintf("config: field %s has unsupported type %s", path, t))
	}
}

// suggest returns a "did you mean" hint for an unknown key: a known key of the same table with a
// similar name, or the same key in another table.
func suggest(key, path string, fs []field) string {
	if len(key) > 64 {
		return ""
	}
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	if best := typo.Closest(key, names); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	for _, p := range knownKeys(reflect.TypeFor[Config](), "") {
		if p == key || strings.HasSuffix(p, "."+key) {
			if parent, _ := splitLast(p); parent != stripIndexes(path) {
				return fmt.Sprintf(" (did you mean %q? it belongs in [%s])", p, parent)
			}
		}
	}
	return ""
}

func splitLast(p string) (parent, last string) {
	i := strings.LastIndexByte(p, '.')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// stripIndexes turns "listeners[2].x" into "listeners.x".
func stripIndexes(p string) string {
	for {
		i := strings.IndexByte(p, '[')
		if i < 0 {
			return p
		}
		j := strings.IndexByte(p[i:], ']')
		if j < 0 {
			return p
		}
		p = p[:i] + p[i+j+1:]
	}
}

// isArrayOfTables reports whether t is decoded from an array of tables ([[name]]).
func isArrayOfTables(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && !isCustom(t)
}

// knownKeys lists the dotted paths of every setting (leaf key) of struct type t, with arrays of
// tables written without index ("listeners.address").
func knownKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for _, f := range fields(t) {
		p := childPath(prefix, f.name)
		ft := t.Field(f.index).Type
		if isArrayOfTables(ft) || f.table {
			ft = ft.Elem()
		}
		if !isLeaf(ft) {
			keys = append(keys, knownKeys(ft, p)...)
		} else {
			keys = append(keys, p)
		}
	}
	return keys
}
