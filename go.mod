module github.com/gateway-dev/gateway

go 1.26.8

require (
	github.com/fxamacker/cbor/v2 v2.10.0
	github.com/gammazero/nexus/v3 v3.3.0
	github.com/gobwas/ws v1.5.0
	github.com/pelletier/go-toml/v2 v2.4.3
	github.com/tinylib/msgp v1.6.5
	go.uber.org/goleak v1.3.0
)

require (
	github.com/gammazero/deque v1.2.1 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/ugorji/go/codec v1.3.1 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	golang.org/x/crypto v0.48.0 // indirect
)
