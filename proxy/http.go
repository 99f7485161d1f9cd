package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxAnswer bounds an answer read from the gateway.
const maxAnswer = 64 << 20

// httpTransport is the HTTP/JSON transport: POST <URL>/api/v1/<operation>.
type httpTransport struct {
	cfg    *Config
	client *http.Client
	base   string // ends with "/api/v1/"
	owned  bool   // client was made here and its idle connections are closed by close
}

func newHTTPTransport(cfg *Config) *httpTransport {
	client, owned := httpClient(cfg)
	return &httpTransport{cfg: cfg, client: client, base: httpEndpoint(cfg.URL, "/api/v1/"), owned: owned}
}

// httpClient returns cfg's client, or a new one (owned) with a transport of its own.
func httpClient(cfg *Config) (*http.Client, bool) {
	if cfg.HTTPClient != nil {
		return cfg.HTTPClient, false
	}
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}, true
}

// httpEndpoint joins a base URL and the representative's path, unless the URL already ends with it.
func httpEndpoint(base, path string) string {
	trimmed := strings.TrimRight(base, "/")
	if p := strings.TrimRight(path, "/"); strings.HasSuffix(trimmed, p) {
		return trimmed + path[len(p):]
	}
	return trimmed + path
}

func (t *httpTransport) invoke(ctx context.Context, r *request) (json.RawMessage, error) {
	body, err := r.body()
	if err != nil {
		return nil, err
	}
	status, answer, err := post(ctx, t.client, t.cfg, t.base+r.op, "application/json", body)
	if err != nil {
		return nil, err
	}
	if status == http.StatusOK && json.Valid(answer) {
		return answer, nil
	}
	if e, ok := decodeError(answer, status); ok {
		return nil, e
	}
	return nil, unexpectedAnswer(status, answer)
}

func (t *httpTransport) close() error {
	if t.owned {
		t.client.CloseIdleConnections()
	}
	return nil
}

// post sends body to url with cfg's credentials and returns the status and answer.
func post(ctx context.Context, client *http.Client, cfg *Config, url, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", contentType)
	req.Header.Set("User-Agent", "gateway-proxy-go/1")
	cfg.authorize(req, body)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return 0, nil, fmt.Errorf("reading the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if len(answer) > maxAnswer {
		return 0, nil, fmt.Errorf("the answer exceeds %d bytes", maxAnswer)
	}
	return resp.StatusCode, answer, nil
}

// unexpectedAnswer is the error of an answer that is not the gateway's (a load balancer's error
// page, a server that does not serve the web-app interface).
func unexpectedAnswer(status int, answer []byte) error {
	return fmt.Errorf("unexpected answer (HTTP %d %s): %s", status, http.StatusText(status), excerpt(answer))
}

// excerpt quotes the beginning of an answer for an error message.
func excerpt(b []byte) string {
	const max = 200
	s := string(b)
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return fmt.Sprintf("%q", s)
}
