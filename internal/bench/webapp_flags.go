package bench

import "flag"

// WebappUsage documents the flags WebappFlags registers, for the usage text of `gateway bench`.
const WebappUsage = `webapp (publish through the web-app interface; --subscribers default 0, --rate default 0 = closed loop):
  --transport NAME           http, xmlrpc, amqp or nats (default http)
  --webapp-url URL           the HTTP representative's base URL (default http://<host:port of --url>)
  --api-key KEY              sent as Authorization: Bearer KEY (http, xmlrpc)
  --amqp-url URL             amqp: the broker, e.g. amqp://guest:guest@127.0.0.1:5672/
  --amqp-queue NAME          amqp: the queue the gateway consumes ([webapp.amqp] queue)
  --nats-url URL             nats: the server, e.g. nats://127.0.0.1:4222
  --nats-prefix SUBJECT      nats: the representative's subject prefix (default gateway.api)
  --concurrency C            publishers, each with one request in flight (default 32)
  --topic URI                topic published and subscribed (default bench.<random>.webapp)
`

// WebappFlags registers the Webapp scenario's flags (see WebappUsage) on fs, storing into o. The
// scenario also uses the common flags: --url (the subscribers' router), --subscribers, --rate,
// --payload, --duration, --warmup, --drain, --sample-every and the server observation flags.
func WebappFlags(fs *flag.FlagSet, o *WebappOptions) {
	fs.StringVar(&o.Transport, "transport", "", "")
	fs.StringVar(&o.WebappURL, "webapp-url", "", "")
	fs.StringVar(&o.APIKey, "api-key", "", "")
	fs.StringVar(&o.AMQPURL, "amqp-url", "", "")
	fs.StringVar(&o.AMQPQueue, "amqp-queue", "", "")
	fs.StringVar(&o.NATSURL, "nats-url", "", "")
	fs.StringVar(&o.NATSPrefix, "nats-prefix", "", "")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "")
	fs.StringVar(&o.Topic, "topic", "", "")
}
