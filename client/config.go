package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// Config configures a Client. Only Realm is required.
type Config struct {
	// Realm is the realm to join.
	Realm string
	// Serializer is the codec to speak (codec.JSON, codec.MsgPack or codec.CBOR); 0 means JSON.
	Serializer codec.ID
	// HelloDetails are extra HELLO details, e.g. "authid", "authmethods", "authextra". Keys set here
	// override the client's own; "roles" replaces the announced roles entirely.
	HelloDetails wamp.Dict
	// Authenticate answers a CHALLENGE from the router. It is required when the router challenges.
	Authenticate func(ch *wamp.Challenge) (*wamp.Authenticate, error)
	// TLSConfig is used for wss:// and rss:// URLs; nil means the defaults with the URL's host name.
	TLSConfig *tls.Config
	// DialTimeout bounds connecting plus the transport handshake (WebSocket upgrade or RawSocket
	// handshake); 0 means no bound beyond the context given to Connect.
	DialTimeout time.Duration
	// HTTPHeader holds extra headers (e.g. Cookie, Authorization) for the WebSocket upgrade request.
	HTTPHeader http.Header
	// MaxMessageSize is the largest message, in bytes, the client accepts from the router; larger
	// ones fail the connection. For RawSocket it is rounded up to the next power of two between
	// 512 B and 16 MiB-1 (the handshake's LENGTH exponent), which is then the limit announced and
	// enforced. 0, and anything larger, means 16 MiB-1.
	MaxMessageSize int
	// WriteQueueSize is how many bytes of encoded messages may wait for the connection's writer;
	// beyond that, sending blocks until the writer catches up or the context ends. 0 means 1 MiB.
	WriteQueueSize int
	// CloseTimeout bounds how long Close waits for the router's GOODBYE. 0 means 5 seconds.
	CloseTimeout time.Duration
	// Logger receives the client's diagnostics (dropped messages, handler panics); nil discards them.
	Logger *slog.Logger
}

const (
	defaultMaxMessageSize = 1<<24 - 1
	defaultWriteQueueSize = 1 << 20
	defaultCloseTimeout   = 5 * time.Second
)

// normalize validates cfg and fills in defaults.
func (cfg *Config) normalize() error {
	if cfg.Realm == "" {
		return errors.New("wamp client: Config.Realm is empty")
	}
	if cfg.Serializer == 0 {
		cfg.Serializer = codec.JSON
	}
	if cfg.MaxMessageSize < 0 || cfg.WriteQueueSize < 0 || cfg.CloseTimeout < 0 || cfg.DialTimeout < 0 {
		return errors.New("wamp client: negative size or timeout in Config")
	}
	if cfg.MaxMessageSize == 0 || cfg.MaxMessageSize > defaultMaxMessageSize {
		cfg.MaxMessageSize = defaultMaxMessageSize
	}
	if cfg.WriteQueueSize == 0 {
		cfg.WriteQueueSize = defaultWriteQueueSize
	}
	if cfg.CloseTimeout == 0 {
		cfg.CloseTimeout = defaultCloseTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// serializer returns the codec selected by cfg.
func (cfg *Config) serializer() (codec.Serializer, error) {
	s, ok := codec.ByID(cfg.Serializer)
	if !ok {
		return nil, fmt.Errorf("wamp client: unknown serializer id %d", cfg.Serializer)
	}
	return s, nil
}

// rawSocketLength returns the RawSocket handshake LENGTH exponent for max and the limit it stands
// for: 2^(9+n), or 2^24-1 for n = 15.
func rawSocketLength(max int) (n byte, limit int) {
	for n = 0; n < 15; n++ {
		if 1<<(9+n) >= max {
			return n, 1 << (9 + n)
		}
	}
	return 15, 1<<24 - 1
}

// Feature names (HELLO.Details.roles.<role>.features) the client implements.
const (
	featPublisherIdentification    = "publisher_identification"
	featPublisherExclusion         = "publisher_exclusion"
	featSubscriberBlackWhite       = "subscriber_blackwhite_listing"
	featPatternBasedSubscription   = "pattern_based_subscription"
	featSubscriptionRevocation     = "subscription_revocation"
	featProgressiveCallResults     = "progressive_call_results"
	featProgressiveCallInvocations = "progressive_call_invocations"
	featCallCanceling              = "call_canceling"
	featCallTimeout                = "call_timeout"
	featCallerIdentification       = "caller_identification"
	featPatternBasedRegistration   = "pattern_based_registration"
	featSharedRegistration         = "shared_registration"
	featRegistrationRevocation     = "registration_revocation"
	featPayloadPassthruMode        = "payload_passthru_mode"
)

// clientRoles returns the roles and features announced in HELLO. Every feature listed is
// implemented by this package; options that need no client logic (e.g. exclude_me, disclose_me,
// match, invoke, ppt_*) are passed through unchanged in the options dictionaries.
func clientRoles() wamp.Dict {
	features := func(names ...string) wamp.Dict {
		f := make(wamp.Dict, len(names))
		for _, n := range names {
			f[n] = true
		}
		return wamp.Dict{"features": f}
	}
	return wamp.Dict{
		"publisher": features(featPublisherIdentification, featPublisherExclusion,
			featSubscriberBlackWhite, featPayloadPassthruMode),
		"subscriber": features(featPublisherIdentification, featPatternBasedSubscription,
			featSubscriptionRevocation, featPayloadPassthruMode),
		"caller": features(featProgressiveCallResults, featProgressiveCallInvocations,
			featCallCanceling, featCallTimeout, featCallerIdentification, featPayloadPassthruMode),
		"callee": features(featProgressiveCallResults, featProgressiveCallInvocations,
			featCallCanceling, featCallTimeout, featCallerIdentification, featPatternBasedRegistration,
			featSharedRegistration, featRegistrationRevocation, featPayloadPassthruMode),
	}
}

// helloDetails builds HELLO.Details from the client's roles and cfg.HelloDetails.
func (cfg *Config) helloDetails() wamp.Dict {
	d := wamp.Dict{"roles": clientRoles(), "agent": "gateway-go-client"}
	maps.Copy(d, cfg.HelloDetails)
	return d
}
