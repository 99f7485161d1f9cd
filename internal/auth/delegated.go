package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/gateway-dev/gateway/internal/config"
)

// Delegated asks the web-app who the client is. It POSTs a JSON body
//
//	{"realm": "...", "authid": "..." or null, "authmethods": [...], "authextra": {...} or null,
//	 "client_id": "..." or null, "transport": {"type": "websocket", "peer": "1.2.3.4:5678", "tls": true}}
//
// to the configured URL, with the upgrade request's Cookie header, the configured headers, and
// X-Gateway-Secret when a secret is configured. The web-app answers
//
//	200 {"authid": "alice", "authrole": "user", "authextra": {...}}   (authextra optional)
//	401, optionally {"message": "..."}: not logged in → the client's next offered method
//	     (e.g. anonymous), or wamp.error.not_authorized with the message if there is none
//	403, optionally {"message": "..."}: refused → wamp.error.not_authorized
//
// Other statuses, redirects, invalid answers, timeouts and network errors refuse the session
// with wamp.error.authentication_failed (the details go to the log, not to the client).
type Delegated struct {
	realm   string
	url     string
	headers []string
	timeout time.Duration
	secret  string
	client  *http.Client
}

// maxDelegateAnswer bounds the web-app's answer.
const maxDelegateAnswer = 64 * 1024

// NewDelegated returns the delegated method of realm. client may be nil (http.DefaultClient's
// settings); redirects are never followed.
func NewDelegated(realm string, cfg *config.DelegatedAuth, client *http.Client) *Delegated {
	c := &http.Client{}
	if client != nil {
		*c = *client
	}
	// A redirect (typically to a login page) is an answer, not something to follow.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client = c
	hs := make([]string, len(cfg.Headers))
	for i, h := range cfg.Headers {
		hs[i] = http.CanonicalHeaderKey(h)
	}
	return &Delegated{realm: realm, url: cfg.URL, headers: hs, timeout: cfg.Timeout, secret: cfg.Secret.Value(), client: client}
}

// Name returns "delegated".
func (d *Delegated) Name() string { return config.MethodDelegated }

type delegateTransport struct {
	Type string `json:"type"`
	Peer string `json:"peer,omitempty"`
	TLS  bool   `json:"tls"`
}

type delegateRequest struct {
	Realm       string            `json:"realm"`
	AuthID      *string           `json:"authid"`
	AuthMethods []string          `json:"authmethods"`
	AuthExtra   map[string]any    `json:"authextra"`
	ClientID    *string           `json:"client_id"`
	Transport   delegateTransport `json:"transport"`
}

type delegateAnswer struct {
	AuthID    *string        `json:"authid"`
	AuthRole  *string        `json:"authrole"`
	AuthExtra map[string]any `json:"authextra"`
	Message   string         `json:"message"`
}

// Authenticate calls the web-app.
func (d *Delegated) Authenticate(ctx context.Context, req *Request) (*Identity, *Challenge, error) {
	body := delegateRequest{Realm: req.Realm, AuthMethods: req.AuthMethods, AuthExtra: req.AuthExtra}
	if body.AuthMethods == nil {
		body.AuthMethods = []string{}
	}
	if req.AuthID != "" {
		body.AuthID = &req.AuthID
	}
	if req.ClientToken != nil {
		body.ClientID = &req.ClientToken.ClientID
	}
	var header http.Header
	if p := req.Peer; p != nil {
		body.Transport = delegateTransport{Type: p.Transport, TLS: p.TLS}
		if p.RemoteAddr != nil {
			body.Transport.Peer = p.RemoteAddr.String()
		}
		header = p.Header
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, nil, failed("the HELLO cannot be forwarded to the authentication service").withCause(err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(data))
	if err != nil {
		return nil, nil, failed("the authentication service is misconfigured").withCause(err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	for _, c := range header["Cookie"] {
		hreq.Header.Add("Cookie", c)
	}
	for _, h := range d.headers {
		for _, v := range header[h] {
			hreq.Header.Add(h, v)
		}
	}
	if d.secret != "" {
		hreq.Header.Set("X-Gateway-Secret", d.secret)
	}
	resp, err := d.client.Do(hreq)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return nil, nil, failed("the authentication service did not answer in time").withCause(scrubURL(err))
		}
		return nil, nil, failed("the authentication service is unreachable").withCause(scrubURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxDelegateAnswer+1))
	if err != nil {
		return nil, nil, failed("the authentication service's answer could not be read").withCause(err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		msg := "the web application refused the session"
		var a delegateAnswer
		if json.Unmarshal(raw, &a) == nil && a.Message != "" && len(a.Message) <= 200 && utf8.ValidString(a.Message) {
			msg = a.Message
		}
		if resp.StatusCode == http.StatusUnauthorized {
			// Not logged in: the client's next method (typically anonymous) may still apply.
			return nil, nil, notAuthorized(msg).withCause(ErrSkip)
		}
		return nil, nil, notAuthorized(msg)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, nil, notAuthorized("the web application refused the session").withCause(
			fmt.Errorf("delegated authentication: HTTP %d redirect (answer 401 instead of redirecting to a login page)", resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return nil, nil, failed("the authentication service failed").withCause(fmt.Errorf("delegated authentication: HTTP %d", resp.StatusCode))
	case len(raw) > maxDelegateAnswer:
		return nil, nil, failed("the authentication service gave an invalid answer").withCause(errors.New("delegated authentication: answer too large"))
	}
	var a delegateAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, nil, failed("the authentication service gave an invalid answer").withCause(fmt.Errorf("delegated authentication: %w", err))
	}
	if a.AuthID == nil || *a.AuthID == "" || a.AuthRole == nil || *a.AuthRole == "" {
		return nil, nil, failed("the authentication service gave an invalid answer").withCause(
			errors.New(`delegated authentication: the answer needs non-empty "authid" and "authrole" strings`))
	}
	id := &Identity{AuthID: *a.AuthID, AuthRole: *a.AuthRole, AuthMethod: config.MethodDelegated, AuthProvider: "delegated"}
	if a.AuthExtra != nil {
		id.AuthExtra = integralNumbers(a.AuthExtra).(map[string]any)
	}
	return id, nil, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// scrubURL drops the URL from a client error: it is in the configuration already and its query
// could hold a credential.
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("delegated authentication request: %w", ue.Err)
	}
	return err
}
