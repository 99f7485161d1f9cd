package interop

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// djangoConfig is the gateway side of examples/django: one-time tickets for the shop's users, the
// order.created event class, and the HTTP representative with the signing key the Django proxy
// uses (the proxy reads this same file).
const djangoConfig = `
[webapp.http]
[[webapp.http.hmac_keys]]
id = "django"
secret = "django-shared-secret-0123456789"

[webapp.proxy]
transport = "http"
key_id = "django"

[[realms]]
name = "realm1"

[realms.auth]
methods = ["ticket"]

[realms.auth.ticket]
accept = ["one_time"]

[[realms.roles]]
name = "user"
[[realms.roles.permissions]]
uri = "com.shop."
match = "prefix"
allow = ["subscribe"]

[[realms.event_classes]]
name = "order.created"
topic = "com.shop.order.created"
fields = { order = "int", amount = "int", customer = "string" }
`

// TestDjangoExample runs the example Django project's tests (Debian's python3-django) against a
// gateway: the ticket view lets a browser join as the logged-in user, and an order saved in Django
// reaches that user's WAMP session, and no one else's.
func TestDjangoExample(t *testing.T) {
	if err := exec.Command(python, "-c", "import django, autobahn, twisted").Run(); err != nil {
		need(t, "python3-django, python3-autobahn", err)
	}
	r := startConfiguredGateway(t, djangoConfig)
	dir := filepath.Join(moduleRoot, "examples", "django")
	out, err := runCommand(3*time.Minute, dir, []string{
		"GATEWAY_CONFIG=" + r.cfgPath, "GATEWAY_WS_URL=" + r.wsURL, "GATEWAY_REALM=realm1", "PYTHONDONTWRITEBYTECODE=1",
	}, python, "manage.py", "test", "--noinput", "-v", "2", "orders")
	if err != nil {
		t.Fatalf("Django tests failed: %v\n%s\n--- gateway output (tail) ---\n%s", err, out, r.log.tail(4096))
	}
	t.Logf("%s", out)
}
