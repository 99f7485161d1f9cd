package proxy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxSecretFile bounds the size of a file a secret is read from, as the gateway does.
const maxSecretFile = 64 << 10

// secretValue resolves a secret of the configuration as the gateway does: inline, "env:NAME" (the
// variable must be set and non-empty) or "file:PATH" (relative to the file's directory; one trailing
// newline removed; not empty). Absent means "". Messages never contain the secret.
func (f *file) secretValue(v any, key string) (string, error) {
	if v == nil {
		return "", nil
	}
	raw, ok := v.(string)
	if !ok {
		return "", f.errorf(key, `expected a secret string (inline, "env:NAME" or "file:PATH"), got %s`, typeName(v))
	}
	switch {
	case strings.HasPrefix(raw, "env:"):
		name := strings.TrimPrefix(raw, "env:")
		if name == "" || strings.ContainsAny(name, "= \t\n\x00") {
			return "", f.errorf(key, `invalid environment variable name %q in "env:NAME"`, name)
		}
		val, ok := os.LookupEnv(name)
		if !ok {
			return "", f.errorf(key, "environment variable %s is not set", name)
		}
		if val == "" {
			return "", f.errorf(key, "environment variable %s is empty", name)
		}
		return val, nil
	case strings.HasPrefix(raw, "file:"):
		p := strings.TrimPrefix(raw, "file:")
		if p == "" {
			return "", f.errorf(key, `"file:" needs a path, e.g. "file:/run/secrets/key"`)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(f.dir, p)
		}
		val, err := readSecretFile(p)
		if err != nil {
			return "", f.errorf(key, "%v", err)
		}
		return val, nil
	}
	return raw, nil
}

// readSecretFile reads a small regular file and strips one trailing newline ("\n" or "\r\n").
func readSecretFile(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("cannot read secret file %s: %v", p, pathCause(err))
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("secret file %s is not a regular file", p)
	}
	fh, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("cannot read secret file %s: %v", p, pathCause(err))
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read secret file %s: %v", p, pathCause(err))
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("secret file %s is larger than 64KiB", p)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", p)
	}
	return s, nil
}

// pathCause strips the path from a *fs.PathError (the message names the path already).
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
