package server

import (
	"fmt"
	"log"
	"time"

	"github.com/sluice-gw/sluice/pdk-go"
	"github.com/sluice-gw/sluice/pdk-go/bridge"
	"github.com/sluice-gw/sluice/pdk-go/msgpack"
)

// event is one running handler between HandleEvent and its "ret".
type event struct {
	id     int
	bridge *bridge.Event
	busy   bool      // a HandleEvent or Step is waiting for the handler
	idle   time.Time // when the gateway was last answered
}

// stepData is the result of HandleEvent and Step*: the next PDK call the
// handler makes, or "ret" when it has returned. Deferred (Sluice's
// extension, only when HandleEvent asked for it) lists the calls the handler
// told since, for the gateway to run first.
type stepData struct {
	EventId  int
	Data     interface{} // eventDone or a bridge.Call
	Deferred []bridge.Call
}

// AppendMsgpack encodes {EventId, Data[, Deferred]}, Deferred only when
// there are deferred calls, so that Kong's gateways see Kong's shape.
func (d stepData) AppendMsgpack(buf []byte) ([]byte, error) {
	fields := 2
	if len(d.Deferred) > 0 {
		fields = 3
	}
	buf = msgpack.AppendMapHeader(buf, fields)
	buf = msgpack.AppendString(buf, "EventId")
	buf = msgpack.AppendInt(buf, int64(d.EventId))
	buf = msgpack.AppendString(buf, "Data")
	if call, ok := d.Data.(bridge.Call); ok {
		buf = appendCall(buf, call)
	} else {
		var err error
		if buf, err = msgpack.Append(buf, d.Data); err != nil {
			return buf, err
		}
	}
	if fields == 3 {
		buf = msgpack.AppendString(buf, "Deferred")
		buf = msgpack.AppendArrayHeader(buf, len(d.Deferred))
		for _, c := range d.Deferred {
			buf = appendCall(buf, c)
		}
	}
	return buf, nil
}

// appendCall encodes a PDK call as Data carries it: {Method, Args}.
func appendCall(buf []byte, c bridge.Call) []byte {
	buf = msgpack.AppendMapHeader(buf, 2)
	buf = msgpack.AppendString(buf, "Method")
	buf = msgpack.AppendString(buf, c.Method)
	buf = msgpack.AppendString(buf, "Args")
	return append(buf, c.Args...)
}

const eventDone = "ret"

// handleEvent starts the instance's handler for {InstanceId, EventName}
// and runs it to its first PDK call or its end. A Sluice gateway adds
// Deferred: true (the handler's setters and logging travel as deferred
// calls) and, in rewrite and access, RequestHeaders (kong.request.get_header
// and get_headers answer from them).
func (s *server) handleEvent(arg interface{}) (interface{}, error) {
	const method = "plugin.HandleEvent"
	m, err := argMap(method, arg)
	if err != nil {
		return nil, err
	}
	id, err := intArg(method, "InstanceId", m["InstanceId"])
	if err != nil {
		return nil, err
	}
	name, err := stringArg(method, "EventName", m["EventName"])
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	inst, ok := s.instances[id]
	if !ok {
		s.mu.Unlock()
		return nil, noInstance(id)
	}
	h, ok := inst.handlers[name]
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("undefined method %s", name)
	}
	ev := &event{id: s.nextEventID, bridge: bridge.NewEvent(), busy: true}
	s.nextEventID++
	s.events[ev.id] = ev
	s.mu.Unlock()
	if deferred, _ := m["Deferred"].(bool); deferred {
		ev.bridge.Defer()
	}
	if headers, ok := m["RequestHeaders"].(map[string]interface{}); ok {
		ev.bridge.SetRequestHeaders(headers)
	}

	ev.bridge.Start(func(b bridge.PdkBridge) { h(pdk.Init(b)) })
	return s.advance(ev)
}

// step hands the gateway's answer {EventId, Data} to the handler's pending
// PDK call and runs the handler to its next call or its end. With isError
// (plugin.StepError), Data is the error text.
func (s *server) step(arg interface{}, isError bool) (interface{}, error) {
	const method = "plugin.Step"
	m, err := argMap(method, arg)
	if err != nil {
		return nil, err
	}
	id, err := intArg(method, "EventId", m["EventId"])
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	ev, ok := s.events[id]
	switch {
	case !ok:
		s.mu.Unlock()
		return nil, fmt.Errorf("no running event %d", id)
	case ev.busy:
		s.mu.Unlock()
		return nil, fmt.Errorf("event %d is already being stepped", id)
	}
	ev.busy = true
	s.mu.Unlock()

	if isError {
		ev.bridge.ReplyError(errorText(m["Data"]))
	} else {
		ev.bridge.Reply(m["Data"])
	}
	return s.advance(ev)
}

func errorText(v interface{}) string {
	if s, ok := bridge.ToString(v); ok {
		return s
	}
	return fmt.Sprint(v)
}

// advance waits for the handler's next PDK call or its end. The event is
// forgotten when it ends, and also at a terminal call: the gateway sends no
// Step after kong.response.exit.
func (s *server) advance(ev *event) (interface{}, error) {
	call, done, err := ev.bridge.Next()

	s.mu.Lock()
	defer s.mu.Unlock()
	ev.busy = false
	ev.idle = time.Now()
	if done || call.Terminal() {
		delete(s.events, ev.id)
	}
	if done {
		if err != nil {
			return nil, err
		}
		return stepData{EventId: ev.id, Data: eventDone, Deferred: call.Deferred}, nil
	}
	return stepData{EventId: ev.id, Data: call, Deferred: call.Deferred}, nil
}

// abandonIdleEvents releases the handlers of events the gateway has not
// stepped since before cutoff (it timed out or died mid-event), so their
// goroutines end instead of waiting forever.
func (s *server) abandonIdleEvents(cutoff time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ev := range s.events {
		if !ev.busy && ev.idle.Before(cutoff) {
			delete(s.events, id)
			ev.bridge.Abandon()
			log.Printf("event %d abandoned: no Step from the gateway for %s", id, s.eventIdle)
		}
	}
}

// reapEvents runs abandonIdleEvents periodically until stop is closed.
func (s *server) reapEvents(stop <-chan struct{}) {
	t := time.NewTicker(s.eventIdle / 4)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			s.abandonIdleEvents(now.Add(-s.eventIdle))
		case <-stop:
			return
		}
	}
}
