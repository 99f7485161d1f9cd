package typo

import "testing"

func TestClosest(t *testing.T) {
	known := []string{"color", "max_age", "websocket_path", "tls_cert"}
	for _, tc := range []struct{ in, want string }{
		{"colour", "color"},
		{"Color", "color"},
		{"max-age", "max_age"},
		{"websocket_paht", "websocket_path"},
		{"tls_crt", "tls_cert"},
		{"zebra", ""},
		{"x", ""},
	} {
		if got := Closest(tc.in, known); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
