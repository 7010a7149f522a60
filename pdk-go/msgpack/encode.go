// Package msgpack is the small MessagePack codec the plugin server needs to
// speak Kong's MsgPack:1 protocol: it writes and reads nil, booleans,
// integers, floats, str, bin, arrays and maps, and skips ext values.
// It is hand-written on the standard library so the module builds offline.
package msgpack

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// Raw is an already encoded MessagePack object, written verbatim. The PDK
// encodes call arguments in the plugin's goroutine with it, so an
// unencodable argument is reported to the plugin, not to the gateway.
type Raw []byte

// Appender is a value that encodes itself, sparing the reflection structs
// otherwise take: the plugin server's step results, one per PDK call, are.
type Appender interface {
	AppendMsgpack(buf []byte) ([]byte, error)
}

// maxDepth bounds nesting on both sides, so cyclic values and hostile input
// end in an error instead of a stack overflow.
const maxDepth = 256

// Marshal encodes v as one MessagePack object.
func Marshal(v interface{}) ([]byte, error) {
	return Append(nil, v)
}

// Append appends the encoding of v to buf.
//
// Go values map to MessagePack as: nil and nil pointers, slices and maps to
// nil; bool; all integer kinds to the shortest int/uint form; float32 and
// float64; string to str; []byte to bin; slices and arrays to array; maps
// with string or integer keys to map (in sorted key order, so output is
// deterministic); structs to a map of their exported fields, named by the
// `json` tag when there is one (Kong's entities are snake_case tables) and
// left out when the tag says omitempty and the field is a zero value.
func Append(buf []byte, v interface{}) ([]byte, error) {
	return appendValue(buf, v, 0)
}

func appendValue(buf []byte, v interface{}, depth int) ([]byte, error) {
	if depth > maxDepth {
		return buf, fmt.Errorf("msgpack: value nested deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(buf, 0xc0), nil
	case Appender:
		return x.AppendMsgpack(buf)
	case Raw:
		if len(x) == 0 {
			return buf, fmt.Errorf("msgpack: empty Raw value")
		}
		return append(buf, x...), nil
	case bool:
		return AppendBool(buf, x), nil
	case string:
		return AppendString(buf, x), nil
	case []byte:
		if x == nil {
			return append(buf, 0xc0), nil
		}
		return AppendBin(buf, x), nil
	case int:
		return AppendInt(buf, int64(x)), nil
	case int64:
		return AppendInt(buf, x), nil
	case uint64:
		return AppendUint(buf, x), nil
	case float64:
		return AppendFloat64(buf, x), nil
	case []interface{}:
		if x == nil {
			return append(buf, 0xc0), nil
		}
		buf = AppendArrayHeader(buf, len(x))
		for _, e := range x {
			var err error
			if buf, err = appendValue(buf, e, depth+1); err != nil {
				return buf, err
			}
		}
		return buf, nil
	case map[string]interface{}:
		if x == nil {
			return append(buf, 0xc0), nil
		}
		buf = AppendMapHeader(buf, len(x))
		for _, k := range sortedKeys(x) {
			buf = AppendString(buf, k)
			var err error
			if buf, err = appendValue(buf, x[k], depth+1); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}
	return appendReflect(buf, reflect.ValueOf(v), depth)
}

func sortedKeys(m map[string]interface{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func appendReflect(buf []byte, v reflect.Value, depth int) ([]byte, error) {
	switch v.Kind() {
	case reflect.Bool:
		return AppendBool(buf, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return AppendInt(buf, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return AppendUint(buf, v.Uint()), nil
	case reflect.Float32:
		return AppendFloat32(buf, float32(v.Float())), nil
	case reflect.Float64:
		return AppendFloat64(buf, v.Float()), nil
	case reflect.String:
		return AppendString(buf, v.String()), nil
	case reflect.Ptr, reflect.Interface:
		if v.IsNil() {
			return append(buf, 0xc0), nil
		}
		return appendValue(buf, v.Elem().Interface(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			return append(buf, 0xc0), nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return AppendBin(buf, v.Bytes()), nil
		}
		return appendSeq(buf, v, depth)
	case reflect.Array:
		return appendSeq(buf, v, depth)
	case reflect.Map:
		return appendMap(buf, v, depth)
	case reflect.Struct:
		return appendStruct(buf, v, depth)
	}
	return buf, fmt.Errorf("msgpack: cannot encode a value of type %s", v.Type())
}

func appendSeq(buf []byte, v reflect.Value, depth int) ([]byte, error) {
	buf = AppendArrayHeader(buf, v.Len())
	for i := 0; i < v.Len(); i++ {
		var err error
		if buf, err = appendValue(buf, v.Index(i).Interface(), depth+1); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func appendMap(buf []byte, v reflect.Value, depth int) ([]byte, error) {
	if v.IsNil() {
		return append(buf, 0xc0), nil
	}
	keys := v.MapKeys()
	switch v.Type().Key().Kind() {
	case reflect.String:
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		sort.Slice(keys, func(i, j int) bool { return keys[i].Int() < keys[j].Int() })
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		sort.Slice(keys, func(i, j int) bool { return keys[i].Uint() < keys[j].Uint() })
	default:
		return buf, fmt.Errorf("msgpack: cannot encode map keys of type %s", v.Type().Key())
	}
	buf = AppendMapHeader(buf, len(keys))
	for _, k := range keys {
		var err error
		if buf, err = appendReflect(buf, k, depth+1); err != nil {
			return buf, err
		}
		if buf, err = appendValue(buf, v.MapIndex(k).Interface(), depth+1); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func appendStruct(buf []byte, v reflect.Value, depth int) ([]byte, error) {
	type field struct {
		name  string
		index int
	}
	t := v.Type()
	fields := make([]field, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" {
			continue // unexported
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("json"); ok {
			tagName, opts, _ := strings.Cut(tag, ",")
			if tagName == "-" || opts == "omitempty" && v.Field(i).IsZero() {
				continue
			}
			if tagName != "" {
				name = tagName
			}
		}
		fields = append(fields, field{name, i})
	}
	buf = AppendMapHeader(buf, len(fields))
	for _, f := range fields {
		buf = AppendString(buf, f.name)
		var err error
		if buf, err = appendValue(buf, v.Field(f.index).Interface(), depth+1); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// AppendBool appends true or false.
func AppendBool(buf []byte, b bool) []byte {
	if b {
		return append(buf, 0xc3)
	}
	return append(buf, 0xc2)
}

// AppendInt appends i in the shortest integer form; non-negative values use
// the unsigned forms, as msgpack implementations conventionally do.
func AppendInt(buf []byte, i int64) []byte {
	if i >= 0 {
		return AppendUint(buf, uint64(i))
	}
	switch {
	case i >= -32:
		return append(buf, byte(i))
	case i >= math.MinInt8:
		return append(buf, 0xd0, byte(i))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(buf, 0xd1), uint16(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(buf, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(buf, 0xd3), uint64(i))
}

// AppendUint appends u in the shortest unsigned form.
func AppendUint(buf []byte, u uint64) []byte {
	switch {
	case u <= 0x7f:
		return append(buf, byte(u))
	case u <= math.MaxUint8:
		return append(buf, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(buf, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(buf, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(buf, 0xcf), u)
}

// AppendFloat32 appends a float 32.
func AppendFloat32(buf []byte, f float32) []byte {
	return binary.BigEndian.AppendUint32(append(buf, 0xca), math.Float32bits(f))
}

// AppendFloat64 appends a float 64.
func AppendFloat64(buf []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(buf, 0xcb), math.Float64bits(f))
}

// AppendString appends s as str (fixstr, str 8, str 16 or str 32).
func AppendString(buf []byte, s string) []byte {
	n := len(s)
	switch {
	case n <= 31:
		buf = append(buf, 0xa0|byte(n))
	case n <= math.MaxUint8:
		buf = append(buf, 0xd9, byte(n))
	case n <= math.MaxUint16:
		buf = binary.BigEndian.AppendUint16(append(buf, 0xda), uint16(n))
	default:
		buf = binary.BigEndian.AppendUint32(append(buf, 0xdb), uint32(n))
	}
	return append(buf, s...)
}

// AppendBin appends b as bin (bin 8, bin 16 or bin 32).
func AppendBin(buf []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		buf = append(buf, 0xc4, byte(n))
	case n <= math.MaxUint16:
		buf = binary.BigEndian.AppendUint16(append(buf, 0xc5), uint16(n))
	default:
		buf = binary.BigEndian.AppendUint32(append(buf, 0xc6), uint32(n))
	}
	return append(buf, b...)
}

// AppendArrayHeader appends the header of an array of n elements; the
// caller appends the elements.
func AppendArrayHeader(buf []byte, n int) []byte {
	switch {
	case n <= 15:
		return append(buf, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(buf, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(buf, 0xdd), uint32(n))
}

// AppendMapHeader appends the header of a map of n pairs; the caller
// appends the keys and values.
func AppendMapHeader(buf []byte, n int) []byte {
	switch {
	case n <= 15:
		return append(buf, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(buf, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(buf, 0xdf), uint32(n))
}
