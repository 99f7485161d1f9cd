module github.com/gateway-dev/gateway

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/gammazero/nexus/v3 v3.3.0 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gobwas/ws v1.5.0 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/tinylib/msgp v1.6.5 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/mod v0.18.0 // indirect
	golang.org/x/tools v0.22.0 // indirect
)
