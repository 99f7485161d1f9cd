package xmlrpc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// decoder walks one XML-RPC message token by token, enforcing the grammar and the limits.
type decoder struct {
	x      *xml.Decoder
	lim    Limits
	values int
	// charset is the unsupported encoding the XML declaration named, if any.
	charset string
	// buf collects the text of the scalar being read.
	buf []byte
	// stack holds the names of the elements open at this point, outermost first.
	stack []xml.Name
}

func newDecoder(data []byte, lim Limits) *decoder {
	d := &decoder{lim: lim.withDefaults()}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	d.x = xml.NewDecoder(bytes.NewReader(data))
	d.x.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "us-ascii", "ascii", "utf8":
			return input, nil // ASCII is a subset of UTF-8, which the decoder still checks
		}
		d.charset = label
		return nil, errors.New("unsupported charset")
	}
	return d
}

// DecodeCall decodes a <methodCall> document. Errors wrap ErrNotWellFormed, ErrInvalid or ErrLimit.
func DecodeCall(data []byte, lim Limits) (*Call, error) {
	d := newDecoder(data, lim)
	if err := d.root("methodCall"); err != nil {
		return nil, err
	}
	call := &Call{}
	if err := d.open("methodName"); err != nil {
		return nil, err
	}
	name, err := d.text("methodName")
	if err != nil {
		return nil, err
	}
	call.Method = string(name)
	tok, err := d.element()
	if err != nil {
		return nil, err
	}
	if start, ok := tok.(xml.StartElement); ok {
		if start.Name.Local != "params" {
			return nil, d.invalid("unexpected <%s> in <methodCall> (want <params>)", start.Name.Local)
		}
		if call.Params, err = d.params(); err != nil {
			return nil, err
		}
		if tok, err = d.element(); err != nil {
			return nil, err
		}
	}
	if start, ok := tok.(xml.StartElement); ok {
		return nil, d.invalid("unexpected <%s> after <params>", start.Name.Local)
	}
	return call, d.finish()
}

// DecodeResponse decodes a <methodResponse> document: its single result, or the fault it carries
// (then the result is nil and err is a *Fault). Other errors wrap ErrNotWellFormed, ErrInvalid or
// ErrLimit.
func DecodeResponse(data []byte, lim Limits) (any, error) {
	d := newDecoder(data, lim)
	if err := d.root("methodResponse"); err != nil {
		return nil, err
	}
	start, err := d.child("methodResponse")
	if err != nil {
		return nil, err
	}
	var result any
	switch start.Name.Local {
	case "params":
		params, err := d.params()
		if err != nil {
			return nil, err
		}
		if len(params) != 1 {
			return nil, d.invalid("a response has exactly one param, not %d", len(params))
		}
		result = params[0]
	case "fault":
		if result, err = d.fault(); err != nil {
			return nil, err
		}
	default:
		return nil, d.invalid("unexpected <%s> in <methodResponse> (want <params> or <fault>)", start.Name.Local)
	}
	if err := d.close("methodResponse"); err != nil {
		return nil, err
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	if f, ok := result.(*Fault); ok {
		return nil, f
	}
	return result, nil
}

// fault reads the rest of <fault>: one value, a struct with an int faultCode and a string faultString.
func (d *decoder) fault() (*Fault, error) {
	if err := d.open("value"); err != nil {
		return nil, err
	}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if err := d.close("fault"); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	code, okCode := m["faultCode"].(int64)
	msg, okString := m["faultString"].(string)
	if !ok || !okCode || !okString {
		return nil, d.invalid("a fault is a struct with an int faultCode and a string faultString")
	}
	return &Fault{Code: int(code), String: msg}, nil
}

// params reads the rest of <params>: any number of <param><value>…</value></param>.
func (d *decoder) params() ([]any, error) {
	params := []any{}
	for {
		tok, err := d.element()
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			return params, nil
		}
		if start.Name.Local != "param" {
			return nil, d.invalid("unexpected <%s> in <params> (want <param>)", start.Name.Local)
		}
		if err := d.open("value"); err != nil {
			return nil, err
		}
		v, err := d.value(0)
		if err != nil {
			return nil, err
		}
		if err := d.close("param"); err != nil {
			return nil, err
		}
		params = append(params, v)
	}
}
