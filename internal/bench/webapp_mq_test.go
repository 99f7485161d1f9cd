package bench

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	amqp "github.com/rabbitmq/amqp091-go"
)

// runNATS starts an embedded NATS server on a free loopback port.
func runNATS(t *testing.T) string {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("the embedded NATS server did not start")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s.ClientURL()
}

func TestWebappNATSEndToEnd(t *testing.T) {
	natsURL := runNATS(t)
	s := startWebappGateway(t, fmt.Sprintf("[webapp.nats]\nurl = %q\nsubject_prefix = \"gwb.test\"\n", natsURL))
	url := s.Endpoints()[0].WebSocketURL
	const topic = "com.bench.webapp.nats"
	witness := countEvents(t, url, topic)
	rep := run(t, Options{
		Scenario: Webapp, URL: url, Subscribers: 10,
		WebappOptions: WebappOptions{Transport: TransportNATS, NATSURL: natsURL, NATSPrefix: "gwb.test", Concurrency: 4, Topic: topic},
		Warmup:        50 * time.Millisecond, Duration: 300 * time.Millisecond,
	})
	checkWebapp(t, rep, 10, publicationsAccepted(t, s), witness)
}

// amqpTestURL is the RabbitMQ the AMQP test uses: GATEWAY_TEST_AMQP_URL, or the local broker.
func amqpTestURL() string {
	if u := os.Getenv("GATEWAY_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func TestWebappAMQPEndToEnd(t *testing.T) {
	brokerURL := amqpTestURL()
	conn, err := amqp.DialConfig(brokerURL, amqp.Config{Dial: amqp.DefaultDial(time.Second)})
	if err != nil {
		t.Skipf("no RabbitMQ at %s (set GATEWAY_TEST_AMQP_URL): %v", redactedURL(brokerURL), err)
	}
	queue := "gwb-test-" + runID()
	t.Cleanup(func() { // after the gateway stopped (cleanups run last-in first-out)
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Error(err)
			return
		}
		defer ch.Close()
		for _, q := range []string{queue, queue + ".dead"} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("deleting %s: %v", q, err)
			}
		}
		if err := ch.ExchangeDelete(queue+".dlx", false, false); err != nil {
			t.Errorf("deleting %s.dlx: %v", queue, err)
		}
	})
	s := startWebappGateway(t, fmt.Sprintf("[webapp.amqp]\nurl = %q\nqueue = %q\n", brokerURL, queue))
	url := s.Endpoints()[0].WebSocketURL
	const topic = "com.bench.webapp.amqp"
	witness := countEvents(t, url, topic)
	rep := run(t, Options{
		Scenario: Webapp, URL: url, Subscribers: 10,
		WebappOptions: WebappOptions{Transport: TransportAMQP, AMQPURL: brokerURL, AMQPQueue: queue, Concurrency: 8, Topic: topic},
		Warmup:        50 * time.Millisecond, Duration: 300 * time.Millisecond,
	})
	checkWebapp(t, rep, 10, publicationsAccepted(t, s), witness)
	if strings.Contains(rep.Webapp.Target, "guest:guest") {
		t.Errorf("the target shows the broker's password: %s", rep.Webapp.Target)
	}
}
