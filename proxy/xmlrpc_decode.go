package proxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxValues bounds the number of values in one XML-RPC answer.
const maxValues = 1 << 20

// errNotXMLRPC wraps every decoding error: the answer is not a well-formed XML-RPC response.
var errNotXMLRPC = errors.New("not an XML-RPC response")

// xmlDecoder reads one <methodResponse>.
type xmlDecoder struct {
	d      *xml.Decoder
	values int
}

// decodeResponse decodes a <methodResponse>: its result as a generic JSON value (strings, bools,
// json.Number, []any, map[string]any, nil; base64 as a base64 string, dateTime as an RFC 3339
// string), or its fault as an *Error.
func decodeResponse(data []byte) (result any, fault *Error, err error) {
	x := &xmlDecoder{d: xml.NewDecoder(bytes.NewReader(data))}
	x.d.Strict = true
	if err := x.open("methodResponse"); err != nil {
		return nil, nil, err
	}
	el, err := x.child("methodResponse")
	if err != nil {
		return nil, nil, err
	}
	switch el.Name.Local {
	case "params":
		if err := x.open("param"); err != nil {
			return nil, nil, err
		}
		if err := x.open("value"); err != nil {
			return nil, nil, err
		}
		if result, err = x.value(0); err != nil {
			return nil, nil, err
		}
		for _, name := range []string{"param", "params"} {
			if err := x.close(name); err != nil {
				return nil, nil, err
			}
		}
	case "fault":
		if err := x.open("value"); err != nil {
			return nil, nil, err
		}
		v, err := x.value(0)
		if err != nil {
			return nil, nil, err
		}
		if fault, err = faultOf(v); err != nil {
			return nil, nil, err
		}
		if err := x.close("fault"); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, x.invalid("<methodResponse> holds <%s>, want <params> or <fault>", el.Name.Local)
	}
	if err := x.close("methodResponse"); err != nil {
		return nil, nil, err
	}
	if err := x.end(); err != nil {
		return nil, nil, err
	}
	return result, fault, nil
}

// faultOf reads the fault struct {faultCode: int, faultString: string}.
func faultOf(v any) (*Error, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the fault is not a struct", errNotXMLRPC)
	}
	code, ok1 := m["faultCode"].(json.Number)
	msg, ok2 := m["faultString"].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: the fault lacks an integer faultCode and a string faultString", errNotXMLRPC)
	}
	c, err := code.Int64()
	if err != nil {
		return nil, fmt.Errorf("%w: faultCode %s is not an integer", errNotXMLRPC, code)
	}
	return faultError(c, msg), nil
}

// value reads the rest of a <value> at nesting depth depth.
func (x *xmlDecoder) value(depth int) (any, error) {
	if x.values++; x.values > maxValues {
		return nil, x.invalid("more than %d values", maxValues)
	}
	var text []byte
	for {
		tok, err := x.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement: // no type element: a string
			return string(text), nil
		case xml.StartElement:
			if len(bytes.TrimSpace(text)) > 0 {
				return nil, x.invalid("text and <%s> mixed in a <value>", t.Name.Local)
			}
			v, err := x.typed(t.Name.Local, depth)
			if err != nil {
				return nil, err
			}
			return v, x.close("value")
		}
	}
}

// typed reads the rest of a <value>'s type element name.
func (x *xmlDecoder) typed(name string, depth int) (any, error) {
	switch name {
	case "struct", "array":
		if depth >= maxDepth {
			return nil, x.invalid("values nested deeper than %d levels", maxDepth)
		}
		if name == "struct" {
			return x.structValue(depth + 1)
		}
		return x.arrayValue(depth + 1)
	case "nil":
		_, err := x.text(name)
		return nil, err
	}
	raw, err := x.text(name)
	if err != nil {
		return nil, err
	}
	return x.scalar(name, raw)
}

// scalar converts the text of a scalar type element.
func (x *xmlDecoder) scalar(name, raw string) (any, error) {
	s := strings.TrimSpace(raw)
	switch name {
	case "string":
		return raw, nil
	case "int", "i4", "i8", "i1", "i2", "biginteger":
		if _, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64); err != nil {
			return nil, x.invalid("<%s>%s</%s> is not a 64-bit integer", name, clip(s), name)
		}
		return json.Number(strings.TrimPrefix(s, "+")), nil
	case "double", "float":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, x.invalid("<%s>%s</%s> is not a finite number", name, clip(s), name)
		}
		out := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(out, ".e") {
			out += ".0" // stays a float through JSON
		}
		return json.Number(out), nil
	case "boolean":
		switch s {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
		return nil, x.invalid("<boolean>%s</boolean> is not 0 or 1", clip(s))
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, x.invalid("<base64> is not valid base64")
		}
		return base64.StdEncoding.EncodeToString(b), nil
	case "dateTime.iso8601":
		t, err := parseISO8601(s)
		if err != nil {
			return nil, x.invalid("<dateTime.iso8601>%s</dateTime.iso8601> is not a date and time", clip(s))
		}
		return t.Format(time.RFC3339Nano), nil
	}
	return nil, x.invalid("unknown value type <%s>", name)
}

// parseISO8601 reads the XML-RPC date forms 20060102T15:04:05 and 2006-01-02T15:04:05 (optional
// fraction and zone; no zone means UTC).
func parseISO8601(s string) (time.Time, error) {
	for _, layout := range []string{"20060102T15:04:05.999999999Z07:00", "20060102T15:04:05.999999999",
		"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a date")
}

// structValue reads the members of a <struct>.
func (x *xmlDecoder) structValue(depth int) (map[string]any, error) {
	m := map[string]any{}
	for {
		el, ok, err := x.childOrEnd("struct")
		if err != nil || !ok {
			return m, err
		}
		if el.Name.Local != "member" {
			return nil, x.invalid("<struct> holds <%s>, want <member>", el.Name.Local)
		}
		if err := x.open("name"); err != nil {
			return nil, err
		}
		name, err := x.text("name")
		if err != nil {
			return nil, err
		}
		if err := x.open("value"); err != nil {
			return nil, err
		}
		v, err := x.value(depth)
		if err != nil {
			return nil, err
		}
		m[name] = v
		if err := x.close("member"); err != nil {
			return nil, err
		}
	}
}

// arrayValue reads the items of an <array>'s <data>.
func (x *xmlDecoder) arrayValue(depth int) ([]any, error) {
	if err := x.open("data"); err != nil {
		return nil, err
	}
	items := []any{}
	for {
		el, ok, err := x.childOrEnd("data")
		if err != nil {
			return nil, err
		}
		if !ok {
			return items, x.close("array")
		}
		if el.Name.Local != "value" {
			return nil, x.invalid("<data> holds <%s>, want <value>", el.Name.Local)
		}
		v, err := x.value(depth)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
}

// token returns the next token that is not a comment, processing instruction or directive.
func (x *xmlDecoder) token() (xml.Token, error) {
	for {
		tok, err := x.d.Token()
		if err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("%w: unexpected end of the document", errNotXMLRPC)
			}
			return nil, fmt.Errorf("%w: %v", errNotXMLRPC, err)
		}
		switch tok.(type) {
		case xml.Comment, xml.ProcInst, xml.Directive:
			continue
		}
		return tok, nil
	}
}

// element returns the next start or end element, refusing non-blank text.
func (x *xmlDecoder) element() (xml.Token, error) {
	for {
		tok, err := x.token()
		if err != nil {
			return nil, err
		}
		if cd, ok := tok.(xml.CharData); ok {
			if len(bytes.TrimSpace(cd)) > 0 {
				return nil, x.invalid("unexpected text %s", clip(string(cd)))
			}
			continue
		}
		return tok, nil
	}
}

// open reads the start of element name.
func (x *xmlDecoder) open(name string) error {
	tok, err := x.element()
	if err != nil {
		return err
	}
	if st, ok := tok.(xml.StartElement); !ok || st.Name.Local != name {
		return x.invalid("expected <%s>, got %s", name, describe(tok))
	}
	return nil
}

// child reads the start of a child element of parent.
func (x *xmlDecoder) child(parent string) (xml.StartElement, error) {
	el, ok, err := x.childOrEnd(parent)
	if err == nil && !ok {
		err = x.invalid("<%s> is empty", parent)
	}
	return el, err
}

// childOrEnd reads the start of a child element of parent (ok), or parent's end (!ok).
func (x *xmlDecoder) childOrEnd(parent string) (xml.StartElement, bool, error) {
	tok, err := x.element()
	if err != nil {
		return xml.StartElement{}, false, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		return t, true, nil
	case xml.EndElement:
		return xml.StartElement{}, false, nil // the decoder checked that it closes parent
	}
	return xml.StartElement{}, false, x.invalid("unexpected %s in <%s>", describe(tok), parent)
}

// close reads the end of element name.
func (x *xmlDecoder) close(name string) error {
	tok, err := x.element()
	if err != nil {
		return err
	}
	if _, ok := tok.(xml.EndElement); !ok {
		return x.invalid("expected </%s>, got %s", name, describe(tok))
	}
	return nil // Strict mode checked the name
}

// text reads the character data of element name up to its end.
func (x *xmlDecoder) text(name string) (string, error) {
	var b []byte
	for {
		tok, err := x.token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b = append(b, t...)
		case xml.EndElement:
			return string(b), nil
		default:
			return "", x.invalid("<%s> holds %s, want text", name, describe(tok))
		}
	}
}

// end checks that nothing but white space and comments follows the document element.
func (x *xmlDecoder) end() error {
	for {
		tok, err := x.d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errNotXMLRPC, err)
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return x.invalid("text after </methodResponse>")
			}
		default:
			return x.invalid("%s after </methodResponse>", describe(tok))
		}
	}
}

// invalid returns a decoding error at the current line.
func (x *xmlDecoder) invalid(format string, a ...any) error {
	line, _ := x.d.InputPos()
	return fmt.Errorf("%w: line %d: %s", errNotXMLRPC, line, fmt.Sprintf(format, a...))
}

// describe names a token for messages.
func describe(tok xml.Token) string {
	switch t := tok.(type) {
	case xml.StartElement:
		return "<" + t.Name.Local + ">"
	case xml.EndElement:
		return "</" + t.Name.Local + ">"
	case xml.CharData:
		return "text " + clip(string(t))
	}
	return fmt.Sprintf("%T", tok)
}

// clip quotes at most 40 bytes of s.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}
