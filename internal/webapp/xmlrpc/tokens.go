package xmlrpc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// root skips the prolog and reads the root element, which must be named name.
func (d *decoder) root(name string) error {
	tok, err := d.element()
	if err != nil {
		return err
	}
	start, ok := tok.(xml.StartElement)
	if !ok || start.Name.Local != name {
		return d.invalid("the document is not a <%s>", name)
	}
	return nil
}

// finish checks that nothing but white space, comments and processing instructions follows the root.
func (d *decoder) finish() error {
	tok, err := d.token()
	for err == nil {
		switch t := tok.(type) {
		case xml.StartElement:
			return d.invalid("<%s> after the root element", t.Name.Local)
		case xml.CharData:
			if !isSpace(t) {
				return d.invalid("text after the root element")
			}
		}
		tok, err = d.token()
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// open reads the next element, which must be the start of name.
func (d *decoder) open(name string) error {
	tok, err := d.element()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if t.Name.Local != name {
			return d.invalid("unexpected <%s> (want <%s>)", t.Name.Local, name)
		}
	case xml.EndElement:
		return d.invalid("</%s> where <%s> was expected", t.Name.Local, name)
	}
	return nil
}

// child reads the next element inside parent, which must be a start element.
func (d *decoder) child(parent string) (xml.StartElement, error) {
	tok, err := d.element()
	if err != nil {
		return xml.StartElement{}, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return xml.StartElement{}, d.invalid("empty <%s>", parent)
	}
	return start, nil
}

// close reads the next element, which must be the end of the open element name.
func (d *decoder) close(name string) error {
	tok, err := d.element()
	if err != nil {
		return err
	}
	if start, ok := tok.(xml.StartElement); ok {
		return d.invalid("unexpected <%s> before </%s>", start.Name.Local, name)
	}
	return nil
}

// element returns the next start or end element, skipping white space; other text is an error.
func (d *decoder) element() (xml.Token, error) {
	for {
		tok, err := d.token()
		if err != nil {
			return nil, d.unexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.StartElement, xml.EndElement:
			return tok, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, d.invalid("unexpected text %q", truncate(t))
			}
		}
	}
}

// text reads character data up to the end of the open element name; child elements are errors. The
// returned bytes are valid until the next call.
func (d *decoder) text(name string) ([]byte, error) {
	d.buf = d.buf[:0]
	for {
		tok, err := d.token()
		if err != nil {
			return nil, d.unexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			d.buf = append(d.buf, t...)
		case xml.StartElement:
			return nil, d.invalid("unexpected <%s> inside <%s>", t.Name.Local, name)
		case xml.EndElement:
			return d.buf, nil
		}
	}
}

// token returns the next start element, end element or character data, skipping comments and
// processing instructions. Directives (DOCTYPE and the like) are refused. It reads raw tokens (no
// namespace translation: names keep their prefix in Space, and only Local matters here) and checks
// itself that every end element closes the open element.
func (d *decoder) token() (xml.Token, error) {
	for {
		tok, err := d.x.RawToken()
		if err != nil {
			if errors.Is(err, io.EOF) && len(d.stack) > 0 {
				err = &xml.SyntaxError{Msg: "unexpected EOF", Line: d.line()}
			}
			return nil, d.wrapXML(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			d.stack = append(d.stack, t.Name)
			return tok, nil
		case xml.EndElement:
			if len(d.stack) == 0 {
				return nil, fmt.Errorf("%w: line %d: unexpected end element </%s>", ErrNotWellFormed, d.line(), rawName(t.Name))
			}
			if top := d.stack[len(d.stack)-1]; top != t.Name {
				return nil, fmt.Errorf("%w: line %d: element <%s> closed by </%s>", ErrNotWellFormed, d.line(), rawName(top), rawName(t.Name))
			}
			d.stack = d.stack[:len(d.stack)-1]
			return tok, nil
		case xml.CharData:
			return tok, nil
		case xml.Directive:
			return nil, d.invalid("<!%s> is not allowed (no DOCTYPE or entity declarations)", firstWord(t))
		}
	}
}

// wrapXML classifies an error of encoding/xml.
func (d *decoder) wrapXML(err error) error {
	if errors.Is(err, io.EOF) {
		return err
	}
	if d.charset != "" {
		return fmt.Errorf("%w: charset %q is not supported (send UTF-8)", ErrInvalid, d.charset)
	}
	var syn *xml.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("%w: line %d: %s", ErrNotWellFormed, syn.Line, syn.Msg)
	}
	return fmt.Errorf("%w: %v", ErrNotWellFormed, err)
}

// unexpectedEOF turns the end of input inside the root element into a well-formedness error.
func (d *decoder) unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: line %d: unexpected end of document", ErrNotWellFormed, d.line())
	}
	return err
}

// line is the current line of the input.
func (d *decoder) line() int {
	line, _ := d.x.InputPos()
	return line
}

// rawName writes a raw element name as it appeared: prefix:local.
func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// invalid returns an ErrInvalid error at the current line.
func (d *decoder) invalid(format string, a ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrInvalid, d.line(), fmt.Sprintf(format, a...))
}

// limit returns an ErrLimit error at the current line.
func (d *decoder) limit(format string, a ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrLimit, d.line(), fmt.Sprintf(format, a...))
}

// isSpace reports whether b is only XML white space.
func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// truncate shortens text quoted in an error message.
func truncate(b []byte) string {
	const max = 32
	if len(b) > max {
		return string(bytes.ToValidUTF8(b[:max], nil)) + "…"
	}
	return string(b)
}

// firstWord is the keyword of a directive (DOCTYPE, ENTITY, …).
func firstWord(b []byte) string {
	word, _, _ := strings.Cut(string(bytes.TrimSpace(b)), " ")
	return truncate([]byte(word))
}
