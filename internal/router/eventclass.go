package router

import "github.com/gateway-dev/gateway/wamp"

// gateway.event.list and gateway.event.describe: discovery of the realm's event classes
// (docs/EVENTS.md). A caller sees only the classes whose events it may see.

func eventList(rl *Realm, caller *Session, _ wamp.List, _ wamp.Dict) metaResult {
	out := []any{}
	for _, c := range rl.Events().List() {
		if caller.sees(c) {
			out = append(out, c.Summary())
		}
	}
	return ok(out)
}

func eventDescribe(rl *Realm, caller *Session, args wamp.List, _ wamp.Dict) metaResult {
	name, bad := argString(args, 0, "name")
	if bad != nil {
		return *bad
	}
	c := rl.Events().ByName(name)
	if c == nil || !caller.sees(c) {
		return fail(wamp.ErrInvalidArgument, "no event class %q", name)
	}
	return ok(c.Describe())
}
