package config

import (
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a configuration file.
type Error struct {
	File string // file name as given to Load or Parse ("" for a configuration built in code)
	Line int    // 1-based line of the offending key; 0 when no line applies
	Key  string // dotted key path such as "limits.max_message_size" or "listeners[1].address"; may be ""
	Msg  string // what is wrong and, where possible, how to fix it
}

// Error formats the problem as "file:line: key: message", leaving out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors lists every problem found in a configuration. Load, Parse and Validate return it.
type Errors struct {
	List []*Error // in order of line, then of discovery
}

// Error returns one problem per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, err := range e.List {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual problems, so errors.As can find an *Error.
func (e *Errors) Unwrap() []error {
	errs := make([]error, len(e.List))
	for i, err := range e.List {
		errs[i] = err
	}
	return errs
}

// errorList collects problems while a configuration is decoded and validated.
type errorList struct {
	file string
	list []*Error
}

func (l *errorList) add(line int, key, msg string) {
	l.list = append(l.list, &Error{File: l.file, Line: line, Key: key, Msg: msg})
}

// result returns nil when there are no problems, or the problems sorted by line.
func (l *errorList) result() error {
	if len(l.list) == 0 {
		return nil
	}
	sort.SliceStable(l.list, func(i, j int) bool { return l.list[i].Line < l.list[j].Line })
	return &Errors{List: l.list}
}
