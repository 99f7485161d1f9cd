package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// parseDuration reads a duration: a Go duration string ("10s", "1m30s", "250ms") or the integer 0.
func parseDuration(n *node) (time.Duration, error) {
	switch n.kind {
	case kindInteger:
		if n.i == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf(`invalid duration %s: write it as a string with a unit, e.g. "%ds"`, n.raw, n.i)
	case kindString:
	default:
		return 0, fmt.Errorf(`expected a duration string such as "10s", got %s`, n.describe())
	}
	d, err := time.ParseDuration(strings.TrimSpace(n.raw))
	if err != nil {
		return 0, fmt.Errorf(`invalid duration %q: use a number with a unit ns, us, ms, s, m or h, e.g. "10s" or "1m30s"`, n.raw)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", n.raw)
	}
	return d, nil
}

// Size units accepted in configuration files.
const (
	KiB = 1 << 10
	MiB = 1 << 20
	GiB = 1 << 30
)

var sizeUnits = []struct {
	name string
	mult int64
}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1}}

const sizeHint = "use a number of bytes or a unit B, KiB, MiB, GiB"

// parseSize reads a byte size: a non-negative integer, or a string "<integer><unit>" such as
// "16MiB" (an optional space before the unit is allowed).
func parseSize(n *node) (int64, error) {
	switch n.kind {
	case kindInteger:
		if n.i < 0 {
			return 0, fmt.Errorf("invalid size %d: must not be negative", n.i)
		}
		return n.i, nil
	case kindString:
	default:
		return 0, fmt.Errorf(`expected a size such as "16MiB" or a number of bytes, got %s`, n.describe())
	}
	bad := fmt.Errorf("invalid size %q: %s", n.raw, sizeHint)
	s := strings.TrimSpace(n.raw)
	mult := int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(s, u.name); ok {
			s, mult = strings.TrimSuffix(rest, " "), u.mult
			break
		}
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, bad
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("invalid size %q: too large", n.raw)
		}
		return 0, bad
	}
	if v > (1<<63-1)/mult {
		return 0, fmt.Errorf("invalid size %q: too large", n.raw)
	}
	return v * mult, nil
}

// formatSize writes n bytes with the largest unit that divides it: 16777216 -> "16MiB".
func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// parseFileMode reads permission bits: an octal string ("0660", "660") or an integer (0o660).
func parseFileMode(n *node) (fs.FileMode, error) {
	var v int64
	switch n.kind {
	case kindInteger:
		v = n.i
	case kindString:
		s := strings.TrimPrefix(strings.TrimPrefix(n.raw, "0o"), "0O")
		u, err := strconv.ParseUint(s, 8, 32)
		if err != nil || s == "" {
			return 0, fmt.Errorf(`invalid file mode %q: use octal permission bits such as "0660"`, n.raw)
		}
		v = int64(u)
	default:
		return 0, fmt.Errorf(`expected an octal file mode such as "0660", got %s`, n.describe())
	}
	if v < 0 || v > 0o777 {
		return 0, fmt.Errorf(`invalid file mode %s: only permission bits 0000..0777 are allowed; write octal as "0660" or 0o660`, n.raw)
	}
	return fs.FileMode(v), nil
}

// parseLevel reads a log level name.
func parseLevel(n *node) (slog.Level, error) {
	if n.kind != kindString {
		return 0, fmt.Errorf("expected one of debug, info, warn, error, got %s", n.describe())
	}
	switch strings.ToLower(n.raw) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("invalid log level %q: use debug, info, warn or error", n.raw)
}

// checkURI reports why s is not a valid WAMP URI (without empty components): under the loose
// rules a component is any non-empty text without ".", "#" or whitespace; under the strict rules
// it consists of lower-case letters, digits and "_" only (the spec's strict component regex).
func checkURI(s string, strict bool) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	for i, comp := range strings.Split(s, ".") {
		if comp == "" {
			return fmt.Errorf("component %d is empty", i+1)
		}
		for _, r := range comp {
			switch {
			case r == '#':
				return errors.New(`contains "#"`)
			case unicode.IsSpace(r):
				return errors.New("contains whitespace")
			case unicode.IsControl(r):
				return errors.New("contains a control character")
			case strict && !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_'):
				return fmt.Errorf("contains %q, which strict URIs do not allow (only a-z, 0-9, _)", r)
			}
		}
	}
	return nil
}
