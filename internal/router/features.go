package router

import "github.com/gateway-dev/gateway/wamp"

// brokerFeatures and dealerFeatures are announced in WELCOME.Details.roles: exactly the Advanced Profile
// features this router implements, with the spec's key names.
var brokerFeatures = []string{
	"pattern_based_subscription",
	"subscriber_blackwhite_listing",
	"publisher_exclusion",
	"publisher_identification",
	"subscription_meta_api",
	"session_meta_api",
	"payload_passthru_mode",
	"event_retention",
	"event_history",
}

var dealerFeatures = []string{
	"pattern_based_registration",
	"progressive_call_results",
	"progressive_call_invocations",
	"call_timeout",
	"call_canceling",
	"caller_identification",
	"shared_registration",
	"registration_meta_api",
	"session_meta_api",
	"testament_meta_api",
	"payload_passthru_mode",
}

// routerRoles builds a fresh WELCOME.Details.roles dictionary.
func routerRoles() wamp.Dict {
	feat := func(names []string) wamp.Dict {
		f := make(wamp.Dict, len(names))
		for _, n := range names {
			f[n] = true
		}
		return wamp.Dict{"features": f}
	}
	return wamp.Dict{"broker": feat(brokerFeatures), "dealer": feat(dealerFeatures)}
}

// clientFeatures records what a client announced in HELLO.Details.roles.
type clientFeatures struct {
	callerProgressiveInvocations bool
	calleeProgressiveResults     bool
	calleeProgressiveInvocations bool
	calleeCanceling              bool
	publisherPassthru            bool // payload_passthru_mode announced per role
	callerPassthru               bool
	calleePassthru               bool
}

// parseRoles checks HELLO.Details.roles and extracts the features the router acts on.
func parseRoles(v any) (clientFeatures, bool) {
	var f clientFeatures
	roles, ok := v.(map[string]any)
	if !ok {
		return f, false
	}
	known := 0
	for _, r := range [...]string{"publisher", "subscriber", "caller", "callee"} {
		rv, ok := roles[r]
		if !ok {
			continue
		}
		if _, isDict := rv.(map[string]any); !isDict {
			return f, false
		}
		known++
	}
	if known == 0 {
		return f, false
	}
	has := func(role, feature string) bool {
		r, _ := roles[role].(map[string]any)
		fs, _ := r["features"].(map[string]any)
		b, _ := fs[feature].(bool)
		return b
	}
	f.callerProgressiveInvocations = has("caller", "progressive_call_invocations")
	f.calleeProgressiveResults = has("callee", "progressive_call_results")
	f.calleeProgressiveInvocations = has("callee", "progressive_call_invocations")
	// The spec spells it call_canceling; some text and clients use call_cancelling.
	f.calleeCanceling = has("callee", "call_canceling") || has("callee", "call_cancelling")
	f.publisherPassthru = has("publisher", "payload_passthru_mode")
	f.callerPassthru = has("caller", "payload_passthru_mode")
	f.calleePassthru = has("callee", "payload_passthru_mode")
	return f, true
}
