package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/store"
)

const ticketUsage = `Usage:
  gateway ticket issue [--config FILE] --realm REALM --authid AUTHID [--role ROLE] [--ttl 5m] [--authextra JSON]

Issues a one-time ticket for the "ticket" authentication method: the client sends it once, as
its ticket, and joins REALM as AUTHID with ROLE. The realm must accept one-time tickets
(realms.auth.ticket.accept = ["one_time", ...]). Prints the ticket on the first line and its
expiry on the second:

  TICKET=$(gateway ticket issue --config gateway.toml --realm realm1 --authid alice | head -n1)

The ticket is stored in the gateway's data directory (store.data_dir), which only one process
can open: while a gateway runs on it, this command fails (issue tickets through the running
gateway instead).

Flags:
  --config FILE      configuration file (default: built-in defaults)
  --realm REALM      realm the ticket is for (required)
  --authid AUTHID    authid the session gets (required)
  --role ROLE        authrole the session gets (default "user")
  --ttl DURATION     how long the ticket can be used (default 5m)
  --authextra JSON   a JSON object the session gets as authextra
`

// runTicket implements `gateway ticket issue`.
func runTicket(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprintf(stderr, "gateway ticket: missing subcommand\n\n%s", ticketUsage)
			return 2
		}
		fmt.Fprint(stdout, ticketUsage)
		return 0
	}
	if args[0] != "issue" {
		fmt.Fprintf(stderr, "gateway ticket: unknown subcommand %q\n\n%s", args[0], ticketUsage)
		return 2
	}
	fs := flag.NewFlagSet("ticket issue", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", "", "")
	realm := fs.String("realm", "", "")
	authid := fs.String("authid", "", "")
	role := fs.String("role", "user", "")
	ttl := fs.Duration("ttl", 5*time.Minute, "")
	extraJSON := fs.String("authextra", "", "")
	usageErr := func(msg string) int {
		fmt.Fprintf(stderr, "gateway ticket issue: %s\n\n%s", msg, ticketUsage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, ticketUsage)
			return 0
		}
		return usageErr(err.Error())
	}
	switch {
	case fs.NArg() > 0:
		return usageErr(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	case *realm == "":
		return usageErr("--realm is required")
	case *authid == "":
		return usageErr("--authid is required")
	case *role == "":
		return usageErr("--role must not be empty")
	case *ttl <= 0:
		return usageErr("--ttl must be positive, e.g. 5m")
	}
	var extra map[string]any
	if *extraJSON != "" {
		if err := json.Unmarshal([]byte(*extraJSON), &extra); err != nil || extra == nil {
			return usageErr("--authextra must be a JSON object, e.g. '{\"plan\": \"gold\"}'")
		}
	}

	cfg := config.Default()
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	var rc *config.Realm
	for i := range cfg.Realms {
		if cfg.Realms[i].Name == *realm {
			rc = &cfg.Realms[i]
		}
	}
	if rc == nil {
		fmt.Fprintf(stderr, "gateway ticket issue: no realm %q in the configuration\n", *realm)
		return 1
	}
	st, err := store.Open(cfg.Store.DataDir, store.Options{})
	if errors.Is(err, store.ErrLocked) {
		fmt.Fprintf(stderr, "gateway ticket issue: the data directory %s is in use by another process, most likely a running gateway: "+
			"only one process can open it. Issue tickets through the running gateway, or stop it first.\n", cfg.Store.DataDir)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "gateway ticket issue: %v\n", err)
		return 1
	}
	defer st.Close()
	authz, err := auth.NewAuthorizer(rc.Roles, rc.StrictURIs)
	if err != nil {
		fmt.Fprintf(stderr, "gateway ticket issue: %v\n", err)
		return 1
	}
	a, err := auth.NewAuthenticator(rc, authz, auth.Deps{Store: st})
	if err != nil {
		fmt.Fprintf(stderr, "gateway ticket issue: %v\n", err)
		return 1
	}
	ticket, expires, err := a.IssueTicket(*authid, *role, *ttl, extra)
	if err != nil {
		fmt.Fprintf(stderr, "gateway ticket issue: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\nexpires %s\n", ticket, expires.UTC().Format(time.RFC3339))
	return 0
}
