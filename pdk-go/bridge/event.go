// Package bridge carries PDK calls between a plugin's handler and the
// gateway: Event and PdkBridge are the two ends of one running handler's
// HandleEvent → Step loop, and Conn frames the msgpack-RPC messages on the
// plugin server's unix socket.
package bridge

import (
	"errors"
	"fmt"
	"log"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/sluice-gw/sluice/pdk-go/msgpack"
)

// Call is one PDK call on its way to the gateway: the Lua PDK function's
// name (e.g. "kong.request.get_header") and its arguments, already encoded
// as a msgpack array.
type Call struct {
	Method string
	Args   msgpack.Raw
	// Deferred are the calls made with Tell since the previous call, which
	// the gateway runs, in order, before this one (or before the handler's
	// return, when Next reports done).
	Deferred []Call
}

// Terminal reports whether the gateway never answers the call: Kong ends
// the plugin's event at kong.response.exit and kong.response.error.
func (c Call) Terminal() bool {
	return c.Method == "kong.response.exit" || c.Method == "kong.response.error"
}

// ErrEventFinished is returned by PDK calls made after kong.response.exit
// (or after the handler returned): the gateway is no longer listening.
var ErrEventFinished = errors.New("the event has finished; no more PDK calls are possible")

// ErrAbandoned is returned by PDK calls of an event the gateway stopped
// stepping (see Event.Abandon).
var ErrAbandoned = errors.New("the gateway abandoned this event")

// Event connects the plugin server with one running handler. The server
// starts the handler with Start, then alternates Next (wait for the
// handler's next PDK call, or its end) and Reply (the gateway's answer).
type Event struct {
	calls     chan Call  // handler → server; closed when the handler returns
	replies   chan reply // server → handler
	abandoned chan struct{}
	abandon   sync.Once

	// deferring is set by Defer before Start: the gateway runs deferred
	// calls, so Tell queues instead of asking.
	deferring bool

	mu       sync.Mutex // serialises PDK calls and guards the fields below
	finished bool       // after a terminal call or the handler's return
	err      error      // the handler's panic, read after calls is closed
	deferred []Call     // told, not yet handed to the server
	// headers are the request's headers as the gateway sent them with the
	// event, until the handler calls kong.service.request (which may change
	// them); nil when it sent none.
	headers map[string]interface{}
}

type reply struct {
	value interface{}
	err   error
}

// NewEvent returns an Event ready to Start.
func NewEvent() *Event {
	return &Event{
		calls:     make(chan Call),
		replies:   make(chan reply),
		abandoned: make(chan struct{}),
	}
}

// Defer lets Tell queue its calls for the gateway to run with the next call
// or the handler's return (Sluice's extension of Kong's protocol: the
// gateway asks for it in plugin.HandleEvent). Call it before Start.
func (e *Event) Defer() {
	e.deferring = true
}

// SetRequestHeaders gives the event the request's headers the gateway sent
// with plugin.HandleEvent (Sluice's extension), shaped as
// kong.request.get_headers returns them, so that reading them needs no
// round trip. Call it before Start.
func (e *Event) SetRequestHeaders(headers map[string]interface{}) {
	e.headers = headers
}

// Start runs handler in its own goroutine with a PdkBridge on this event.
// A panic in the handler ends the event with an error instead of killing
// the plugin server.
func (e *Event) Start(handler func(PdkBridge)) {
	spawn(func() {
		defer func() {
			r := recover()
			e.mu.Lock()
			defer e.mu.Unlock()
			if r != nil {
				log.Printf("panic in plugin handler: %v\n%s", r, debug.Stack())
				e.err = fmt.Errorf("panic in plugin handler: %v", r)
			}
			e.finished = true
			close(e.calls)
		}()
		handler(PdkBridge{event: e})
	})
}

// idleRunners hands a handler to a goroutine that finished one, if any waits:
// a new goroutine's stack starts small and is copied each time it grows, on
// every event.
var idleRunners = make(chan func())

// spawn runs f on an idle runner goroutine or a new one. Runners wait for
// work forever; there are never more than the most handlers run at once.
func spawn(f func()) {
	select {
	case idleRunners <- f:
	default:
		go func() {
			for {
				f()
				f = <-idleRunners
			}
		}()
	}
}

// Next waits for the handler's next PDK call. done is true when the handler
// has returned instead; err is then set if it panicked, and call carries
// only the calls deferred before the return.
func (e *Event) Next() (call Call, done bool, err error) {
	call, ok := <-e.calls
	if !ok {
		return Call{Deferred: e.deferred}, true, e.err
	}
	return call, false, nil
}

// Reply hands the gateway's answer to the handler's pending PDK call.
func (e *Event) Reply(value interface{}) {
	e.replies <- reply{value: value}
}

// ReplyError hands the gateway's error (plugin.StepError) to the handler's
// pending PDK call.
func (e *Event) ReplyError(msg string) {
	e.replies <- reply{err: errors.New(msg)}
}

// Abandon releases a handler whose event the gateway stopped stepping: its
// pending and later PDK calls fail with ErrAbandoned, so its goroutine can
// end. It must not be called while the server waits in Next or Reply.
func (e *Event) Abandon() {
	e.abandon.Do(func() { close(e.abandoned) })
}

// PdkBridge is the handler's end of an Event; every PDK namespace embeds
// it, as in Kong's go-pdk. Calls from one event are serialised.
type PdkBridge struct {
	event *Event
}

// Ask makes a PDK call and waits for the gateway's answer. Terminal calls
// (kong.response.exit, kong.response.error) return at once with nil: the
// gateway never answers them.
func (b PdkBridge) Ask(method string, args ...interface{}) (interface{}, error) {
	if b.event == nil {
		return nil, errors.New("PDK used outside of a plugin event")
	}
	raw, err := encodeArgs(args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	call := Call{Method: method, Args: raw}

	e := b.event
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished {
		return nil, ErrEventFinished
	}
	e.noteCall(method)
	call.Deferred, e.deferred = e.deferred, nil
	select {
	case e.calls <- call:
	case <-e.abandoned:
		return nil, ErrAbandoned
	}
	if call.Terminal() {
		e.finished = true
		return nil, nil
	}
	select {
	case r := <-e.replies:
		return r.value, r.err
	case <-e.abandoned:
		return nil, ErrAbandoned
	}
}

// Tell makes a PDK call that returns nothing but may raise: setters and
// logging. When the gateway runs deferred calls (see Event.Defer) the call
// is queued and travels with the handler's next call or its return, which
// saves a round trip to the gateway per call; Tell then returns nil at once,
// and a call the gateway's PDK rejects ends the event there, as a raised
// error does in Kong. Otherwise Tell is Ask.
func (b PdkBridge) Tell(method string, args ...interface{}) error {
	e := b.event
	if e == nil || !e.deferring {
		_, err := b.Ask(method, args...)
		return err
	}
	raw, err := encodeArgs(args)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished {
		return ErrEventFinished
	}
	e.noteCall(method)
	e.deferred = append(e.deferred, Call{Method: method, Args: raw})
	return nil
}

// noteCall forgets the headers sent with the event once the handler calls
// kong.service.request, whose setters change what kong.request.get_header
// returns. The caller holds e.mu.
func (e *Event) noteCall(method string) {
	if e.headers != nil && strings.HasPrefix(method, "kong.service.request.") {
		e.headers = nil
	}
}

// RequestHeaders returns the request's headers the gateway sent with the
// event, as kong.request.get_headers would return them now; ok is false
// when it sent none or the handler may have changed them since (then ask).
func (b PdkBridge) RequestHeaders() (headers map[string]interface{}, ok bool) {
	e := b.event
	if e == nil {
		return nil, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.headers, e.headers != nil && !e.finished
}

// encodeArgs encodes the positional arguments as one msgpack array; no
// arguments is an empty array, which Kong unpacks to no arguments.
func encodeArgs(args []interface{}) (msgpack.Raw, error) {
	buf := msgpack.AppendArrayHeader(nil, len(args))
	for _, a := range args {
		var err error
		if buf, err = msgpack.Append(buf, a); err != nil {
			return nil, err
		}
	}
	return buf, nil
}
