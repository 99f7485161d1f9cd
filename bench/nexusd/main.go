// Command nexusd runs a gammazero/nexus v3 WAMP router for the comparison in bench/compare: one
// anonymous realm, a WebSocket server, optionally a RawSocket server, and Go's profiler
// (net/http/pprof) on a debug address so that the load tool can read the router's heap and stacks
// after a forced GC, exactly as it does for the gateway.
//
// It lives in its own module so that the gateway's module does not depend on it:
//
//	cd bench/nexusd && go build -o /tmp/nexusd . && /tmp/nexusd -ws 127.0.0.1:8090 -debug 127.0.0.1:6070
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // profiling endpoints on -debug
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/wamp"
)

func main() {
	wsAddr := flag.String("ws", "127.0.0.1:8090", "WebSocket listen address (any path is accepted)")
	rsAddr := flag.String("rs", "", "RawSocket listen address (optional)")
	debugAddr := flag.String("debug", "", "net/http/pprof listen address (optional)")
	realm := flag.String("realm", "realm1", "realm URI (anonymous)")
	queue := flag.Int("queue", 0, "outbound queue size per client in messages (0: nexus's default)")
	quiet := flag.Bool("quiet", false, "discard nexus's log (it logs every dropped message)")
	flag.Parse()

	logOut := io.Writer(os.Stderr)
	if *quiet {
		logOut = io.Discard
	}
	logger := log.New(logOut, "nexusd ", log.LstdFlags)
	cfg := &router.Config{RealmConfigs: []*router.RealmConfig{{
		URI:           wamp.URI(*realm),
		AnonymousAuth: true,
		AllowDisclose: true,
	}}}
	r, err := router.NewRouter(cfg, logger)
	if err != nil {
		fail(err)
	}
	var closers []io.Closer
	wss := router.NewWebsocketServer(r)
	if *queue > 0 {
		wss.OutQueueSize = *queue
	}
	c, err := wss.ListenAndServe(*wsAddr)
	if err != nil {
		fail(fmt.Errorf("websocket listener: %w", err))
	}
	closers = append(closers, c)
	fmt.Printf("nexusd (nexus %s) listening on ws://%s/ws", nexusVersion(), *wsAddr)
	if *rsAddr != "" {
		rss := router.NewRawSocketServer(r)
		if *queue > 0 {
			rss.OutQueueSize = *queue
		}
		c, err := rss.ListenAndServe("tcp", *rsAddr)
		if err != nil {
			fail(fmt.Errorf("rawsocket listener: %w", err))
		}
		closers = append(closers, c)
		fmt.Printf(" and rs://%s", *rsAddr)
	}
	fmt.Printf("; realm %s\n", *realm)
	if *debugAddr != "" {
		ln, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			fail(fmt.Errorf("debug listener: %w", err))
		}
		srv := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		closers = append(closers, srv)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	for _, c := range closers {
		c.Close()
	}
	r.Close()
}

// nexusVersion returns the version of the nexus module this binary was built with.
func nexusVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/gammazero/nexus/v3" {
				return m.Version
			}
		}
	}
	return "unknown version"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "nexusd:", err)
	os.Exit(1)
}
