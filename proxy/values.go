package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// decodeGeneric decodes JSON into generic values with integers as int64 (uint64 beyond), see
// fromNumbers; nil for empty or invalid input.
func decodeGeneric(data json.RawMessage) any {
	v, err := parseJSON(data)
	if err != nil {
		return nil
	}
	return fromNumbers(v)
}

// parseJSON decodes one JSON value keeping numbers as json.Number.
func parseJSON(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// fromNumbers replaces, in place, every json.Number of v: an integer literal becomes int64 (uint64
// when it is beyond int64, float64 beyond uint64), any other number float64.
func fromNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return number(x)
	case map[string]any:
		for k, e := range x {
			x[k] = fromNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fromNumbers(e)
		}
	}
	return v
}

func number(n json.Number) any {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u
		}
	}
	f, _ := strconv.ParseFloat(s, 64) // beyond float64: ±Inf, as encoding/json would refuse
	return f
}

// generic returns v as generic JSON values (maps, slices, json.Number, strings, bools, nil) by way
// of its JSON encoding, so every transport carries exactly what encoding/json makes of v.
func generic(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return parseJSON(b)
}

// decodeInto decodes a JSON result into out (a pointer to a response struct).
func decodeInto(data json.RawMessage, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("proxy: decoding the gateway's answer: %w", err)
	}
	return nil
}

// dicts converts decoded JSON objects (held with json.Number) into generic maps.
func dicts(in []map[string]any) []map[string]any {
	out := make([]map[string]any, 0, len(in))
	for _, m := range in {
		out = append(out, fromNumbers(m).(map[string]any))
	}
	return out
}
