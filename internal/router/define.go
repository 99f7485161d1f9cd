package router

import (
	"fmt"
	"slices"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/events"
)

// EventClassContext returns the realm as the configuration's event class rules see it: its name,
// URI rules, roles and current class definitions (those of the configuration and those defined
// since). config.ParseEventClass validates a new definition against it.
func (rl *Realm) EventClassContext() *config.Realm {
	rl.classMu.Lock()
	defer rl.classMu.Unlock()
	return rl.classContextLocked()
}

func (rl *Realm) classContextLocked() *config.Realm {
	r := &config.Realm{Name: string(rl.cfg.Name), StrictURIs: rl.cfg.StrictURIs, EventClasses: slices.Clone(rl.classDefs)}
	for _, name := range rl.cfg.Roles {
		r.Roles = append(r.Roles, config.Role{Name: name})
	}
	return r
}

// DefineEventClass defines event class def in the realm at run time, replacing the class of the
// same name (replaced is then true). def is validated by the configuration's rules in the context
// of the realm (config.ValidateEventClass); on success the realm's registry is rebuilt from its
// definitions plus def and swapped in at once, and the error is nil.
//
// Publications after the swap are validated against the new class; sessions and subscriptions
// are untouched. A subscription filter compiled earlier keeps the schema it was compiled with
// (its field types are checked only at SUBSCRIBE), and a narrowed visibility applies to existing
// subscribers at delivery. The definition lasts as long as the router: it is not persisted.
func (rl *Realm) DefineEventClass(def config.EventClass) (replaced bool, err error) {
	rl.classMu.Lock()
	defer rl.classMu.Unlock()
	if err := config.ValidateEventClass(rl.classContextLocked(), def); err != nil {
		return false, fmt.Errorf("event class %q: %w", def.Name, err)
	}
	defs := slices.Clone(rl.classDefs)
	if i := slices.IndexFunc(defs, func(c config.EventClass) bool { return c.Name == def.Name }); i >= 0 {
		defs[i], replaced = def, true
	} else {
		defs = append(defs, def)
	}
	reg, err := events.NewRegistry(defs)
	if err != nil {
		return false, fmt.Errorf("event class %q: %w", def.Name, err)
	}
	rl.classDefs = defs
	rl.events.Store(reg)
	return replaced, nil
}
