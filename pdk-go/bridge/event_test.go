package bridge

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/pdk-go/msgpack"
)

func decodeArgs(t *testing.T, c Call) interface{} {
	t.Helper()
	v, err := msgpack.Unmarshal(c.Args)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAskRoundTrip(t *testing.T) {
	ev := NewEvent()
	results := make(chan interface{}, 4)
	ev.Start(func(b PdkBridge) {
		s, err := b.AskString("kong.request.get_header", "host")
		results <- []interface{}{s, err}
		_, err = b.AskString("kong.request.get_header", "x-bad")
		results <- err
		n, err := b.AskInt("kong.request.get_port")
		results <- []interface{}{n, err}
	})

	call, done, _ := ev.Next()
	if done || call.Method != "kong.request.get_header" {
		t.Fatalf("first call: %+v done=%v", call, done)
	}
	if got := decodeArgs(t, call); !reflect.DeepEqual(got, []interface{}{"host"}) {
		t.Fatalf("args %#v", got)
	}
	ev.Reply([]byte("example.com")) // bin is as good as str
	if got := <-results; !reflect.DeepEqual(got, []interface{}{"example.com", nil}) {
		t.Fatalf("AskString gave %#v", got)
	}

	if _, _, err := ev.Next(); err != nil {
		t.Fatal(err)
	}
	ev.ReplyError("boom")
	if err := (<-results).(error); err == nil || err.Error() != "boom" {
		t.Fatalf("StepError gave %v", err)
	}

	call, _, _ = ev.Next()
	if got := decodeArgs(t, call); !reflect.DeepEqual(got, []interface{}{}) {
		t.Fatalf("no-argument call must send an empty array, got %#v", got)
	}
	ev.Reply(8000.0) // Lua numbers may arrive as floats
	if got := <-results; !reflect.DeepEqual(got, []interface{}{8000, nil}) {
		t.Fatalf("AskInt gave %#v", got)
	}
	if _, done, err := ev.Next(); !done || err != nil {
		t.Fatalf("after return: done=%v err=%v", done, err)
	}
}

func TestTerminalCallEndsTheEvent(t *testing.T) {
	ev := NewEvent()
	after := make(chan error, 1)
	ev.Start(func(b PdkBridge) {
		if _, err := b.Ask("kong.response.exit", 403, []byte("no"), nil); err != nil {
			after <- err
			return
		}
		_, err := b.Ask("kong.log.err", "after exit")
		after <- err
	})
	call, done, _ := ev.Next()
	if done || !call.Terminal() {
		t.Fatalf("want the exit call, got %+v", call)
	}
	// The server sends no reply; the handler must not block on one.
	if err := <-after; !errors.Is(err, ErrEventFinished) {
		t.Fatalf("call after exit: %v", err)
	}
	if _, done, _ := ev.Next(); !done {
		t.Fatal("event not finished")
	}
}

func TestTellIsAskUnlessDeferring(t *testing.T) {
	ev := NewEvent()
	ev.Start(func(b PdkBridge) { _ = b.Tell("kong.log.info", "hi") })
	if call, done, _ := ev.Next(); done || call.Method != "kong.log.info" {
		t.Fatalf("without Defer, Tell waits for an answer: %+v", call)
	}
	ev.Reply(nil)
	if _, done, _ := ev.Next(); !done {
		t.Fatal("the handler returns")
	}

	ev = NewEvent()
	ev.Defer()
	ev.Start(func(b PdkBridge) {
		_ = b.Tell("kong.log.info", "a")
		_ = b.Tell("kong.response.set_header", "x", "1")
		_, _ = b.Ask("kong.request.get_header", "host")
		_ = b.Tell("kong.log.info", "b")
	})
	call, done, _ := ev.Next()
	if done || call.Method != "kong.request.get_header" || len(call.Deferred) != 2 ||
		call.Deferred[0].Method != "kong.log.info" || call.Deferred[1].Method != "kong.response.set_header" {
		t.Fatalf("told calls travel with the next asked one, in order: %+v", call)
	}
	if got := decodeArgs(t, call.Deferred[1]); !reflect.DeepEqual(got, []interface{}{"x", "1"}) {
		t.Fatalf("deferred args %#v", got)
	}
	ev.Reply("example.com")
	call, done, err := ev.Next()
	if !done || err != nil || len(call.Deferred) != 1 || call.Deferred[0].Method != "kong.log.info" {
		t.Fatalf("calls told before the return come with it: %+v %v %v", call, done, err)
	}
}

func TestPanicEndsEventWithError(t *testing.T) {
	ev := NewEvent()
	ev.Start(func(b PdkBridge) { panic("kaput") })
	_, done, err := ev.Next()
	if !done || err == nil || !strings.Contains(err.Error(), "kaput") {
		t.Fatalf("done=%v err=%v", done, err)
	}
}

func TestAbandonReleasesTheHandler(t *testing.T) {
	ev := NewEvent()
	got := make(chan error, 2)
	ev.Start(func(b PdkBridge) {
		_, err := b.Ask("kong.request.get_method")
		got <- err
		_, err = b.Ask("kong.request.get_path")
		got <- err
	})
	if _, done, _ := ev.Next(); done {
		t.Fatal("no call")
	}
	ev.Abandon()
	ev.Abandon() // idempotent
	for i := 0; i < 2; i++ {
		if err := <-got; !errors.Is(err, ErrAbandoned) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func TestUnencodableArgumentStaysWithThePlugin(t *testing.T) {
	ev := NewEvent()
	ev.Start(func(b PdkBridge) {
		_, err := b.Ask("kong.ctx.shared.set", "k", make(chan int))
		if err == nil || !strings.Contains(err.Error(), "kong.ctx.shared.set") {
			panic("want an encoding error naming the method")
		}
	})
	if _, done, err := ev.Next(); !done || err != nil {
		t.Fatalf("done=%v err=%v (no call may reach the gateway)", done, err)
	}
}

func TestAskOutsideEvent(t *testing.T) {
	if _, err := (PdkBridge{}).Ask("kong.log.err"); err == nil {
		t.Fatal("zero PdkBridge must fail")
	}
}

func TestConversions(t *testing.T) {
	m, ok := ToMultiMap(map[string]interface{}{
		"accept": []interface{}{"a/b", []byte("c/d")},
		"host":   "example.com",
		"flag":   true,
	})
	want := map[string][]string{"accept": {"a/b", "c/d"}, "host": {"example.com"}, "flag": {}}
	if !ok || !reflect.DeepEqual(m, want) {
		t.Fatalf("ToMultiMap gave %#v %v", m, ok)
	}
	if m, ok := ToMultiMap([]interface{}{}); !ok || len(m) != 0 || m == nil {
		t.Fatalf("empty Lua table as array: %#v %v", m, ok)
	}
	for _, bad := range []interface{}{"x", map[string]interface{}{"a": int64(1)}, []interface{}{"a"}} {
		if _, ok := ToMultiMap(bad); ok {
			t.Errorf("ToMultiMap(%#v) accepted", bad)
		}
	}
	for in, want := range map[interface{}]bool{int64(3): true, uint64(3): true, 3.0: true, 3.5: false, "3": false} {
		if _, ok := ToInt(in); ok != want {
			t.Errorf("ToInt(%#v) ok=%v", in, ok)
		}
	}

	type consumer struct {
		ID       string   `json:"id"`
		Username string   `json:"username"`
		Tags     []string `json:"tags"`
		Extra    map[string]string
	}
	var c consumer
	err := Decode(map[string]interface{}{
		"id": []byte("c1"), "username": "alice", "tags": []interface{}{}, "Extra": []interface{}{}, "other": int64(1),
	}, &c)
	if err != nil || !reflect.DeepEqual(c, consumer{ID: "c1", Username: "alice"}) {
		t.Fatalf("Decode gave %#v, %v", c, err)
	}
	if err := Decode(map[string]interface{}{"id": int64(5)}, &c); err == nil {
		t.Fatal("wrong field type must be an error")
	}
}
