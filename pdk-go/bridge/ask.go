package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// ReturnTypeError reports a PDK result of an unexpected type; the text is
// go-pdk's ("expected type: ...").
func ReturnTypeError(expected string) error {
	return errors.New("expected type: " + expected)
}

// The typed Ask helpers below turn a nil result (Lua nil, also what Kong 3.x
// answers when the Lua PDK function failed) into the zero value without an
// error, as go-pdk's current versions do; errors come from plugin.StepError
// or from a result of the wrong type.

// AskString makes a PDK call whose result is a string (msgpack str or bin).
func (b PdkBridge) AskString(method string, args ...interface{}) (string, error) {
	v, err := b.Ask(method, args...)
	if err != nil || v == nil {
		return "", err
	}
	s, ok := ToString(v)
	if !ok {
		return "", ReturnTypeError("string")
	}
	return s, nil
}

// AskBytes makes a PDK call whose result is a byte string (str or bin).
func (b PdkBridge) AskBytes(method string, args ...interface{}) ([]byte, error) {
	v, err := b.Ask(method, args...)
	if err != nil || v == nil {
		return nil, err
	}
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	}
	return nil, ReturnTypeError("[]byte")
}

// AskInt makes a PDK call whose result is an integer. Lua numbers may
// arrive as floats; integral ones are accepted.
func (b PdkBridge) AskInt(method string, args ...interface{}) (int, error) {
	v, err := b.Ask(method, args...)
	if err != nil || v == nil {
		return 0, err
	}
	i, ok := ToInt(v)
	if !ok {
		return 0, ReturnTypeError("integer")
	}
	return i, nil
}

// AskFloat makes a PDK call whose result is a number.
func (b PdkBridge) AskFloat(method string, args ...interface{}) (float64, error) {
	v, err := b.Ask(method, args...)
	if err != nil || v == nil {
		return 0, err
	}
	switch v := v.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	}
	return 0, ReturnTypeError("float")
}

// AskBool makes a PDK call whose result is a boolean.
func (b PdkBridge) AskBool(method string, args ...interface{}) (bool, error) {
	v, err := b.Ask(method, args...)
	if err != nil || v == nil {
		return false, err
	}
	if v, ok := v.(bool); ok {
		return v, nil
	}
	return false, ReturnTypeError("boolean")
}

// AskMap makes a PDK call whose result is a header or query table, as Kong
// sends it with plugin.StepMultiMap. Values are normalised like Kong's own
// fix_mmap: a string becomes a one-element list, true (a query argument
// without a value) an empty list; an empty Lua table may arrive as an array.
func (b PdkBridge) AskMap(method string, args ...interface{}) (map[string][]string, error) {
	v, err := b.Ask(method, args...)
	if err != nil || v == nil {
		return nil, err
	}
	m, ok := ToMultiMap(v)
	if !ok {
		return nil, ReturnTypeError("map[string][]string")
	}
	return m, nil
}

// AskInto makes a PDK call whose result is a table (an entity such as a
// route, service, consumer or credential) and decodes it into out, a
// pointer to a struct with `json` tags naming the Lua table's fields.
func (b PdkBridge) AskInto(out interface{}, method string, args ...interface{}) error {
	v, err := b.Ask(method, args...)
	if err != nil || v == nil {
		return err
	}
	return Decode(v, out)
}

// Decode stores a decoded msgpack value into out through encoding/json, so
// struct fields are matched by their `json` tags (case-insensitively, as
// json does). Byte strings become strings first.
func Decode(v interface{}, out interface{}) error {
	data, err := json.Marshal(jsonCompatible(v))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding %T: %w", out, err)
	}
	return nil
}

// jsonCompatible rewrites, recursively, []byte into string (json would
// expect base64) and an empty array into nil: an empty Lua table may stand
// for an empty list or an empty record, and null decodes into either.
func jsonCompatible(v interface{}) interface{} {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case []interface{}:
		if len(v) == 0 {
			return nil // an empty Lua table: array or map, unknown
		}
		out := make([]interface{}, len(v))
		for i, e := range v {
			out[i] = jsonCompatible(e)
		}
		return out
	case map[string]interface{}:
		out := make(map[string]interface{}, len(v))
		for k, e := range v {
			out[k] = jsonCompatible(e)
		}
		return out
	}
	return v
}

// ToString converts a decoded msgpack byte string (str or bin) to string.
func ToString(v interface{}) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

// ToInt converts a decoded msgpack number to int if it is integral and in
// range.
func ToInt(v interface{}) (int, bool) {
	switch v := v.(type) {
	case int64:
		if v < math.MinInt || v > math.MaxInt {
			return 0, false
		}
		return int(v), true
	case uint64:
		if v > math.MaxInt {
			return 0, false
		}
		return int(v), true
	case float64:
		if v != math.Trunc(v) || v < math.MinInt || v > math.MaxInt {
			return 0, false
		}
		return int(v), true
	}
	return 0, false
}

// ToMultiMap converts a decoded header/query table to map[string][]string
// (see AskMap).
func ToMultiMap(v interface{}) (map[string][]string, bool) {
	switch v := v.(type) {
	case []interface{}:
		if len(v) == 0 {
			return map[string][]string{}, true
		}
		return nil, false
	case map[string]interface{}:
		out := make(map[string][]string, len(v))
		for k, e := range v {
			list, ok := toStringList(e)
			if !ok {
				return nil, false
			}
			out[k] = list
		}
		return out, true
	}
	return nil, false
}

func toStringList(v interface{}) ([]string, bool) {
	if s, ok := ToString(v); ok {
		return []string{s}, true
	}
	switch v := v.(type) {
	case bool:
		if v {
			return []string{}, true
		}
	case []interface{}:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := ToString(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}
