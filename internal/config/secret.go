package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// maxSecretFile bounds the size of a file a secret is read from.
const maxSecretFile = 64 * KiB

// Secret is a credential from the configuration (a ticket, a WAMP-CRA secret, a JWT key, ...).
// In the file it is written inline ("s3cret"), taken from an environment variable
// ("env:NAME"), or read from a file ("file:PATH", relative to the configuration's directory;
// one trailing newline is removed). Its String, GoString, MarshalText and LogValue methods never
// reveal the value, so printing or logging a Config does not leak it.
type Secret struct {
	value  string
	source string // "inline", "env:NAME" or "file:PATH", for messages
}

// NewSecret returns a Secret holding value (for configurations built in code and tests).
func NewSecret(value string) Secret { return Secret{value: value, source: "inline"} }

// Value returns the secret itself. Never log or print it.
func (s Secret) Value() string { return s.value }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s.value != "" }

// Source says where the secret came from without revealing it: "inline", "env:NAME" or
// "file:PATH"; "" when unset.
func (s Secret) Source() string { return s.source }

// String returns a redacted placeholder.
func (s Secret) String() string {
	if s.value == "" {
		return "[unset secret]"
	}
	return "[secret from " + s.source + "]"
}

// GoString returns a redacted placeholder (for %#v).
func (s Secret) GoString() string { return "config.Secret(" + s.String() + ")" }

// MarshalText returns a redacted placeholder, so encoders never write the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue returns a redacted placeholder for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// parseSecret reads a secret value: inline, "env:NAME" or "file:PATH" (relative to dir). The
// error messages never contain the secret.
func parseSecret(n *node, dir string) (Secret, error) {
	if n.kind != kindString {
		// The value is not echoed: it may be the secret itself.
		return Secret{}, fmt.Errorf("expected a secret string (inline, \"env:NAME\" or \"file:PATH\"), got a %s", n.typeName())
	}
	raw := n.raw
	switch {
	case strings.HasPrefix(raw, "env:"):
		name := strings.TrimPrefix(raw, "env:")
		if name == "" || strings.ContainsAny(name, "= \t\n\x00") {
			return Secret{}, fmt.Errorf("invalid environment variable name %q in \"env:NAME\"", name)
		}
		v, ok := os.LookupEnv(name)
		if !ok {
			return Secret{}, fmt.Errorf("environment variable %s is not set", name)
		}
		if v == "" {
			return Secret{}, fmt.Errorf("environment variable %s is empty", name)
		}
		return Secret{value: v, source: "env:" + name}, nil
	case strings.HasPrefix(raw, "file:"):
		p := strings.TrimPrefix(raw, "file:")
		if p == "" {
			return Secret{}, errors.New(`"file:" needs a path, e.g. "file:/run/secrets/ticket"`)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		v, err := readSecretFile(p)
		if err != nil {
			return Secret{}, err
		}
		return Secret{value: v, source: "file:" + p}, nil
	}
	if raw == "" {
		return Secret{}, nil
	}
	return Secret{value: raw, source: "inline"}, nil
}

// readSecretFile reads a small regular file and strips one trailing newline.
func readSecretFile(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("cannot read secret file %s: %v", p, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("secret file %s is not a regular file", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("cannot read secret file %s: %v", p, unwrapPath(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read secret file %s: %v", p, unwrapPath(err))
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("secret file %s is larger than %s", p, formatSize(maxSecretFile))
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", p)
	}
	return s, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
