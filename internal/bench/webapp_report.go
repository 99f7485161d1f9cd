package bench

import (
	"fmt"
	"io"
)

// WebappResult describes a Webapp run.
type WebappResult struct {
	Transport   string  `json:"transport"`
	Target      string  `json:"target"`
	Topic       string  `json:"topic"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"offered_publications_per_s,omitempty"` // 0: closed loop
	Subscribers int     `json:"subscribers"`
	WarmupS     float64 `json:"warmup_s"`
	WindowS     float64 `json:"window_s"`

	// Publishes counts the publish requests answered with a publication id in the window.
	Publishes     uint64  `json:"publishes_in_window"`
	PublishesPerS float64 `json:"publishes_per_s"`
	// Acknowledged counts every publication answered with an id, warm-up and probe included.
	Acknowledged uint64 `json:"acknowledged"`
	Errors       uint64 `json:"errors"`
	FirstError   string `json:"first_error,omitempty"`
	// Latency is request sent to answer received, for the requests sent in the window.
	Latency *Latency `json:"publish_latency"`
	// SendLag is how late the publishers sent against the schedule (with a rate).
	SendLag *Latency `json:"send_lag,omitempty"`

	Deliveries     uint64  `json:"deliveries_in_window"`
	DeliveriesPerS float64 `json:"deliveries_per_s"`
	// DeliveryLatency is request sent to EVENT received, for publications sent in the window.
	DeliveryLatency *Latency `json:"delivery_latency,omitempty"`

	// Expected is Acknowledged x Subscribers; Received how many of those arrived; Lost the rest.
	Expected            uint64  `json:"expected"`
	Received            uint64  `json:"received"`
	Lost                uint64  `json:"lost"`
	SubscribersWithLoss int     `json:"subscribers_with_loss"`
	Duplicates          uint64  `json:"duplicates"`
	Reorders            uint64  `json:"reorders"`
	Unmarked            uint64  `json:"unmarked_messages"`
	Disconnected        int     `json:"subscribers_disconnected"`
	DrainedInS          float64 `json:"drained_in_s"`

	// Server.USPerOp is the server's CPU per answered publish.
	Server                 *ServerCPU `json:"server,omitempty"`
	PublishesPerServerCore float64    `json:"publishes_per_server_core,omitempty"`
	Client                 ClientCPU  `json:"client"`
	ClientLimited          bool       `json:"client_limited"`

	Pass    bool   `json:"pass"`
	Failure string `json:"failure,omitempty"`
}

// writeText prints the result for people.
func (res *WebappResult) writeText(w io.Writer) {
	fmt.Fprintf(w, "webapp: %d publish requests answered in %.0fs = %s publishes/s, %d errors (%d acknowledged in all)\n",
		res.Publishes, res.WindowS, fmtRate(res.PublishesPerS), res.Errors, res.Acknowledged)
	if res.FirstError != "" {
		fmt.Fprintf(w, "  first error    %s\n", res.FirstError)
	}
	fmt.Fprintf(w, "  publish        %s\n", fmtLatency(res.Latency))
	if res.SendLag != nil {
		fmt.Fprintf(w, "  send lag       %s\n", fmtLatency(res.SendLag))
	}
	if res.Subscribers > 0 {
		fmt.Fprintf(w, "  deliveries     %d in window = %s/s\n", res.Deliveries, fmtRate(res.DeliveriesPerS))
		fmt.Fprintf(w, "  delivery       %s (request sent to EVENT received)\n", fmtLatency(res.DeliveryLatency))
		verdict := "OK"
		if res.Lost+res.Duplicates+res.Reorders > 0 || res.Disconnected > 0 {
			verdict = "*** NOT ZERO ***"
		}
		fmt.Fprintf(w, "  LOSS           expected %d (%d acknowledged x %d subscribers), received %d, lost %d (%d subscribers), duplicates %d, reorders %d, disconnected %d -> %s\n",
			res.Expected, res.Acknowledged, res.Subscribers, res.Received, res.Lost, res.SubscribersWithLoss,
			res.Duplicates, res.Reorders, res.Disconnected, verdict)
	}
	writeServer(w, res.Server, "publish")
	if res.PublishesPerServerCore > 0 {
		fmt.Fprintf(w, "  per core       %s publishes/s per server core\n", fmtRate(res.PublishesPerServerCore))
	}
	writeClient(w, res.Client, res.ClientLimited)
	if res.Pass {
		fmt.Fprintf(w, "  verdict        pass (drained in %.2fs)\n", res.DrainedInS)
	} else {
		fmt.Fprintf(w, "  verdict        FAIL: %s\n", res.Failure)
	}
}
