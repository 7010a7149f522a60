// Package pdktest drives a PDK function through a real bridge.Event the way
// the plugin server does, checking each PDK call it makes against the
// expected wire name and arguments and answering it. Test support only.
package pdktest

import (
	"reflect"
	"testing"

	"github.com/sluice-gw/sluice/pdk-go/bridge"
	"github.com/sluice-gw/sluice/pdk-go/msgpack"
)

// Exchange is one expected PDK call and the gateway's answer to it.
type Exchange struct {
	Method string
	Args   []interface{} // in decoded form: int64, string, []byte, map[string]interface{}...
	Reply  interface{}   // what plugin.Step carries back
	Err    string        // if set, answer with plugin.StepError instead
}

// Run runs fn as an event handler and checks that it makes exactly the
// expected calls, in order, then returns. Terminal calls get no answer.
func Run(t testing.TB, fn func(bridge.PdkBridge), exchanges ...Exchange) {
	t.Helper()
	RunEvent(t, bridge.NewEvent(), fn, exchanges...)
}

// RunEvent is Run on an event the caller prepared (Defer, SetRequestHeaders).
func RunEvent(t testing.TB, ev *bridge.Event, fn func(bridge.PdkBridge), exchanges ...Exchange) {
	t.Helper()
	ev.Start(fn)
	for i, want := range exchanges {
		call, done, err := ev.Next()
		if done {
			t.Fatalf("call %d: handler returned (err %v), want %s", i, err, want.Method)
		}
		if call.Method != want.Method {
			t.Fatalf("call %d: method %q, want %q", i, call.Method, want.Method)
		}
		args, err := msgpack.Unmarshal(call.Args)
		if err != nil {
			t.Fatalf("call %d (%s): undecodable args: %v", i, call.Method, err)
		}
		wantArgs := want.Args
		if wantArgs == nil {
			wantArgs = []interface{}{}
		}
		if !reflect.DeepEqual(args, wantArgs) {
			t.Fatalf("call %d (%s): args %#v, want %#v", i, call.Method, args, wantArgs)
		}
		switch {
		case call.Terminal():
		case want.Err != "":
			ev.ReplyError(want.Err)
		default:
			ev.Reply(want.Reply)
		}
	}
	call, done, err := ev.Next()
	if !done {
		t.Fatalf("unexpected extra call %s", call.Method)
	}
	if err != nil {
		t.Fatalf("handler failed: %v", err)
	}
}
