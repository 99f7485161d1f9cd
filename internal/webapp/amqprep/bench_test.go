package amqprep

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// BenchmarkAMQPPublish measures messages per second through the local RabbitMQ: published
// (transient, no confirms), consumed, invoked on a fake Invoker and acknowledged. Concurrency 1.
func BenchmarkAMQPPublish(b *testing.B) {
	conn, err := amqp.Dial(brokerURL())
	if err != nil {
		b.Fatalf("RabbitMQ is needed at %s: %v", brokerURL(), err)
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	queue := "gwbench." + randomSuffix()
	defer func() {
		c, err := conn.Channel()
		if err == nil {
			_, _ = c.QueueDelete(queue, false, false, false)
			_, _ = c.QueueDelete(queue+".dead", false, false, false)
			_ = c.ExchangeDelete(queue+".dlx", false, false)
		}
	}()
	inv := newFake(nil)
	r, err := Start(context.Background(), inv, Config{URL: brokerURL(), Queue: queue, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	for !r.Stats().Connected {
		if time.Now().After(deadline) {
			b.Fatal("the representative did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	body := []byte(`{"op":"publish","topic":"bench.topic","args":[1,2,3]}`)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := ch.PublishWithContext(context.Background(), "", queue, false, false, amqp.Publishing{Body: body}); err != nil {
			b.Fatal(err)
		}
	}
	for r.Stats().Processed < uint64(b.N) {
		if time.Since(start) > time.Minute {
			b.Fatalf("only %d of %d processed", r.Stats().Processed, b.N)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
