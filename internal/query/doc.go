// Package query implements the event filter language and the subscription filter index.
//
// A filter is a subset of CEL (comparisons, in [...], &&, ||, !, has(), startsWith, endsWith,
// contains) over an event's kwargs fields (nested objects with dots) and its metadata (_topic,
// _class, _publisher), or the equivalent JSON tree. Compile and CompileJSON parse and type-check it
// (with cel-go for CEL, against an optional Schema) and lower it to a canonical disjunction of
// conjunctions of typed predicates; cel-go is not used to evaluate.
//
// An Index holds many (Filter, subscriber) pairs. Identical filters share one entry; each
// conjunction is found through its most selective predicate (a hash on one or two equality
// predicates with in-lists expanded, an interval list for numeric ranges, a prefix hash for
// startsWith, a per-field list for presence, else a budgeted scan list), and its other predicates
// are checked on the candidates. Match extracts the attributes the index refers to from an Event
// once, does not allocate, and may run concurrently with Add and Remove.
//
// Semantics: a comparison (==, !=, <, <=, >, >=, in, startsWith, endsWith, contains) on a missing
// field, on a value of another type, or on a non-scalar (null, list, object) is false; ! negates
// the result, so !(x == 1) is true when x is missing while x != 1 is false. has(x) is true for any
// present value. Numbers compare exactly across ints and floats. docs/EVENTS.md is the user guide.
package query
