package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/server"
)

// serve runs the gateway until ctx is done (SIGINT/SIGTERM), then shuts it down within the configured
// grace period: every session gets GOODBYE wamp.close.system_shutdown and the queues are flushed.
func serve(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	return serveTo(ctx, cfg, logger, os.Stdout)
}

func serveTo(ctx context.Context, cfg *config.Config, logger *slog.Logger, out io.Writer) error {
	srv, err := server.New(cfg, logger)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	realms := make([]string, len(cfg.Realms))
	for i, r := range cfg.Realms {
		realms[i] = r.Name
	}
	for _, ep := range srv.Endpoints() {
		fmt.Fprintf(out, "gateway listening on %s (WebSocket) and %s (RawSocket); realms: %s\n",
			ep.WebSocketURL, ep.RawSocketURL, strings.Join(realms, ", "))
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-srv.Errors():
	}
	logger.Info("shutting down", "grace", cfg.Server.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown incomplete", "err", err)
	}
	return runErr
}
