// Package log is kong.Log: writes to the gateway's error log at the given
// level, and the serialized request of the log phase (Lua's kong.log).
package log

import (
	"fmt"

	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// Log holds this module's functions. Accessible as `kong.Log`.
type Log struct {
	bridge.PdkBridge
}

// Alert logs args at alert level (kong.log.alert).
func (l Log) Alert(args ...interface{}) error { return l.write("kong.log.alert", args) }

// Crit logs args at crit level (kong.log.crit).
func (l Log) Crit(args ...interface{}) error { return l.write("kong.log.crit", args) }

// Err logs args at error level (kong.log.err).
func (l Log) Err(args ...interface{}) error { return l.write("kong.log.err", args) }

// Warn logs args at warn level (kong.log.warn).
func (l Log) Warn(args ...interface{}) error { return l.write("kong.log.warn", args) }

// Notice logs args at notice level (kong.log.notice).
func (l Log) Notice(args ...interface{}) error { return l.write("kong.log.notice", args) }

// Info logs args at info level (kong.log.info).
func (l Log) Info(args ...interface{}) error { return l.write("kong.log.info", args) }

// Debug logs args at debug level (kong.log.debug).
func (l Log) Debug(args ...interface{}) error { return l.write("kong.log.debug", args) }

// write sends the arguments as Lua's kong.log.* takes them: concatenated
// by the gateway. Scalars go as they are; anything else (errors, structs,
// maps...) as its Go text, since a Lua table would only log as "table: 0x…".
func (l Log) write(method string, args []interface{}) error {
	out := make([]interface{}, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case nil, bool, string, int, int8, int16, int32, int64,
			uint, uint8, uint16, uint32, uint64, float32, float64:
			out[i] = a
		default:
			out[i] = fmt.Sprint(a)
		}
	}
	return l.Tell(method, out...)
}

// Serialize returns the request's log serialization as a JSON string
// (kong.log.serialize); meant for the log phase.
func (l Log) Serialize() (string, error) {
	return l.AskString("kong.log.serialize")
}

// SetSerializeValue sets key (dot-separated path) in the log serialization
// (kong.log.set_serialize_value, mode "set").
func (l Log) SetSerializeValue(key string, v interface{}) error {
	return l.setSerializeValue(key, v, "set")
}

// SetSerializeValueAdd sets key only if it is not set yet (mode "add").
func (l Log) SetSerializeValueAdd(key string, v interface{}) error {
	return l.setSerializeValue(key, v, "add")
}

// SetSerializeValueReplace sets key only if it is already set (mode
// "replace").
func (l Log) SetSerializeValueReplace(key string, v interface{}) error {
	return l.setSerializeValue(key, v, "replace")
}

func (l Log) setSerializeValue(key string, v interface{}, mode string) error {
	return l.Tell("kong.log.set_serialize_value", key, v, map[string]string{"mode": mode})
}
