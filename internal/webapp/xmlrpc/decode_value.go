package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"strconv"
)

// value reads the rest of a <value> element at nesting depth depth. A value with no type element is
// a string (its text, white space included).
func (d *decoder) value(depth int) (any, error) {
	d.values++
	if d.values > d.lim.MaxValues {
		return nil, d.limit("more than %d values", d.lim.MaxValues)
	}
	var text []byte
	for {
		tok, err := d.token()
		if err != nil {
			return nil, d.unexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			return string(text), nil
		case xml.StartElement:
			if !isSpace(text) {
				return nil, d.invalid("text and <%s> mixed in one <value>", t.Name.Local)
			}
			v, err := d.typed(t.Name.Local, depth)
			if err != nil {
				return nil, err
			}
			return v, d.close("value")
		}
	}
}

// typed reads the rest of the type element name inside a <value>.
func (d *decoder) typed(name string, depth int) (any, error) {
	switch name {
	case "struct":
		if depth >= d.lim.MaxDepth {
			return nil, d.limit("values nested deeper than %d levels", d.lim.MaxDepth)
		}
		return d.structValue(depth + 1)
	case "array":
		if depth >= d.lim.MaxDepth {
			return nil, d.limit("values nested deeper than %d levels", d.lim.MaxDepth)
		}
		return d.arrayValue(depth + 1)
	case "string":
		text, err := d.text(name)
		return string(text), err
	}
	text, err := d.text(name)
	if err != nil {
		return nil, err
	}
	return d.scalar(name, text)
}

// scalar converts the text of a scalar type element.
func (d *decoder) scalar(name string, text []byte) (any, error) {
	switch name {
	case "int", "i4", "i8":
		n, err := strconv.ParseInt(string(bytes.TrimSpace(text)), 10, 64)
		if err != nil {
			return nil, d.invalid("<%s>%s</%s> is not a 64-bit integer", name, truncate(text), name)
		}
		return n, nil
	case "boolean":
		switch string(bytes.TrimSpace(text)) {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return nil, d.invalid("<boolean>%s</boolean> is not 0 or 1", truncate(text))
	case "double":
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(text)), 64)
		if err != nil {
			return nil, d.invalid("<double>%s</double> is not a number", truncate(text))
		}
		return f, nil
	case "base64":
		b, err := decodeBase64(text)
		if err != nil {
			return nil, d.invalid("<base64> holds invalid base64: %v", err)
		}
		return b, nil
	case "dateTime.iso8601":
		t, err := parseDateTime(string(bytes.TrimSpace(text)))
		if err != nil {
			return nil, d.invalid("<dateTime.iso8601>%s</dateTime.iso8601>: %v", truncate(text), err)
		}
		return t, nil
	case "nil":
		if !isSpace(text) {
			return nil, d.invalid("<nil> has content")
		}
		return nil, nil
	}
	return nil, d.invalid("unknown value type <%s> (want struct, array, string, int, i4, i8, "+
		"double, boolean, base64, dateTime.iso8601 or nil)", name)
}

// structValue reads the rest of a <struct>: <member><name>…</name><value>…</value></member>…
func (d *decoder) structValue(depth int) (map[string]any, error) {
	m := map[string]any{}
	for {
		tok, err := d.element()
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			return m, nil
		}
		if start.Name.Local != "member" {
			return nil, d.invalid("unexpected <%s> in <struct> (want <member>)", start.Name.Local)
		}
		if err := d.open("name"); err != nil {
			return nil, err
		}
		name, err := d.text("name")
		if err != nil {
			return nil, err
		}
		key := string(name)
		if _, dup := m[key]; dup {
			return nil, d.invalid("struct member %q appears twice", truncate(name))
		}
		if err := d.open("value"); err != nil {
			return nil, err
		}
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		if err := d.close("member"); err != nil {
			return nil, err
		}
		m[key] = v
	}
}

// arrayValue reads the rest of an <array>: <data><value>…</value>…</data></array>.
func (d *decoder) arrayValue(depth int) ([]any, error) {
	if err := d.open("data"); err != nil {
		return nil, err
	}
	items := []any{}
	for {
		tok, err := d.element()
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			break
		}
		if start.Name.Local != "value" {
			return nil, d.invalid("unexpected <%s> in <data> (want <value>)", start.Name.Local)
		}
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	return items, d.close("array")
}

// decodeBase64 decodes standard base64, ignoring the white space encoders put between lines;
// padding is optional.
func decodeBase64(text []byte) ([]byte, error) {
	clean := make([]byte, 0, len(text))
	for _, c := range text {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			clean = append(clean, c)
		}
	}
	enc := base64.StdEncoding
	if len(clean)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	out := make([]byte, enc.DecodedLen(len(clean)))
	n, err := enc.Decode(out, clean)
	return out[:n], err
}
