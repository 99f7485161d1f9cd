package wamp

// Standard error URIs (WAMP spec, "Predefined URIs").
const (
	ErrInvalidURI               URI = "wamp.error.invalid_uri"
	ErrNoSuchProcedure          URI = "wamp.error.no_such_procedure"
	ErrProcedureAlreadyExists   URI = "wamp.error.procedure_already_exists"
	ErrNoSuchRegistration       URI = "wamp.error.no_such_registration"
	ErrNoSuchSubscription       URI = "wamp.error.no_such_subscription"
	ErrNoSuchSession            URI = "wamp.error.no_such_session"
	ErrInvalidArgument          URI = "wamp.error.invalid_argument"
	ErrSystemShutdown           URI = "wamp.close.system_shutdown"
	ErrCloseRealm               URI = "wamp.close.close_realm"
	ErrGoodbyeAndOut            URI = "wamp.close.goodbye_and_out"
	ErrKilled                   URI = "wamp.close.killed"
	ErrProtocolViolation        URI = "wamp.error.protocol_violation"
	ErrNotAuthorized            URI = "wamp.error.not_authorized"
	ErrAuthorizationFailed      URI = "wamp.error.authorization_failed"
	ErrAuthenticationFailed     URI = "wamp.error.authentication_failed"
	ErrNoAuthMethod             URI = "wamp.error.no_auth_method"
	ErrNoSuchRealm              URI = "wamp.error.no_such_realm"
	ErrNoSuchRole               URI = "wamp.error.no_such_role"
	ErrCanceled                 URI = "wamp.error.canceled"
	ErrTimeout                  URI = "wamp.error.timeout"
	ErrOptionNotAllowed         URI = "wamp.error.option_not_allowed"
	ErrNoEligibleCallee         URI = "wamp.error.no_eligible_callee"
	ErrOptionDisallowedDisclose URI = "wamp.error.option_disallowed.disclose_me"
	ErrNetworkFailure           URI = "wamp.error.network_failure"
	ErrUnavailable              URI = "wamp.error.unavailable"
	ErrFeatureNotSupported      URI = "wamp.error.feature_not_supported"
	ErrPayloadSizeExceeded      URI = "wamp.error.payload_size_exceeded"
)

// CloseNormal is the reason a peer sends with GOODBYE to close a session normally.
const CloseNormal URI = "wamp.close.normal"
