package bench

import (
	"strings"
	"testing"
)

func TestOptionsValidate(t *testing.T) {
	ok := Options{Scenario: Fanout, URL: "ws://127.0.0.1:8080/ws"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	d, _ := ok.withDefaults()
	if d.Subscribers != 1000 || d.Topics != 1 || d.PayloadSize != 100 || d.Realm != "realm1" || d.InFlight != 64 {
		t.Errorf("defaults = %+v", d)
	}
	bad := []struct {
		edit func(*Options)
		msg  string
	}{
		{func(o *Options) { o.Scenario = "" }, "no scenario"},
		{func(o *Options) { o.Scenario = "flood" }, `unknown scenario "flood"`},
		{func(o *Options) { o.URL = "" }, "no router URL"},
		{func(o *Options) { o.URL = "http://x:1/ws" }, "scheme must be ws or rs"},
		{func(o *Options) { o.URL = "wss://x:1/ws" }, "scheme must be ws or rs"},
		{func(o *Options) { o.URL = "rs://localhost" }, "needs host:port"},
		{func(o *Options) { o.Serializer = "xml" }, `unknown serializer "xml"`},
		{func(o *Options) { o.PayloadSize = 20 }, "payload size must be at least 47"},
		{func(o *Options) { o.Subscribers = -1 }, "subscribers must be positive"},
		{func(o *Options) { o.Rate = -3 }, "rate must be positive"},
		{func(o *Options) { o.Ramp = []float64{10, 0} }, "ramp rates must be positive"},
		{func(o *Options) { o.Scenario = RPC; o.Callers = 100 }, "callers (100) must not exceed calls in flight (64)"},
		{func(o *Options) { o.ChurnPercent = 150 }, "churn percent"},
		{func(o *Options) { o.StableFraction = 2 }, "stable fraction"},
		{func(o *Options) { o.ServerCores = []int{-1} }, "must not be negative"},
	}
	for _, tt := range bad {
		o := ok
		tt.edit(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("error = %v, want one containing %q", err, tt.msg)
		}
	}
}
