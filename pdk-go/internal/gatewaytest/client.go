// Package gatewaytest is a gateway-side MsgPack:1 client written from
// PLUGIN-PROTOCOL.md, speaking to a plugin server as the Sluice gateway
// (and Kong's mp_rpc.lua) does. Test support only.
package gatewaytest

import (
	"fmt"
	"net"
	"time"

	"github.com/sluice-gw/sluice/pdk-go/bridge"
	"github.com/sluice-gw/sluice/pdk-go/msgpack"
)

// RemoteError is an error the plugin server answered with.
type RemoteError string

func (e RemoteError) Error() string { return string(e) }

// Client is one connection to a plugin server.
type Client struct {
	conn   net.Conn
	dec    *msgpack.Decoder
	nextID int64
	// Pids holds every serverPid notification received, in order.
	Pids []int64
	// Deferred makes Event ask for deferred calls, as Sluice does.
	Deferred bool
	// RequestHeaders, if set, go with HandleEvent, as Sluice sends them in
	// rewrite and access.
	RequestHeaders map[string]interface{}
}

// Dial connects to the server's socket.
func Dial(socketPath string) (*Client, error) {
	c, err := net.DialTimeout("unix", socketPath, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &Client{conn: c, dec: msgpack.NewDecoder(c)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// WriteRaw writes bytes as they are, for malformed-input tests.
func (c *Client) WriteRaw(b []byte) error {
	_, err := c.conn.Write(b)
	return err
}

// ReadMessage reads the next message, whatever it is.
func (c *Client) ReadMessage() (interface{}, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	return c.dec.Decode()
}

// Call sends [0, msgid, method, [arg]] and returns the result of the
// matching [1, msgid, err, result], skipping serverPid notifications.
func (c *Client) Call(method string, arg interface{}) (interface{}, error) {
	c.nextID++
	id := c.nextID
	req, err := msgpack.Marshal([]interface{}{0, id, method, []interface{}{arg}})
	if err != nil {
		return nil, err
	}
	if _, err := c.conn.Write(req); err != nil {
		return nil, err
	}
	for {
		v, err := c.ReadMessage()
		if err != nil {
			return nil, err
		}
		msg, ok := v.([]interface{})
		if !ok || len(msg) < 3 {
			return nil, fmt.Errorf("malformed message %#v", v)
		}
		if msg[0] == int64(2) {
			if msg[1] == "serverPid" {
				pid, _ := msg[2].(int64)
				c.Pids = append(c.Pids, pid)
			}
			continue
		}
		if len(msg) != 4 || msg[0] != int64(1) || msg[1] != id {
			return nil, fmt.Errorf("expected the response to request %d, got %#v", id, v)
		}
		if msg[2] != nil {
			return nil, RemoteError(fmt.Sprint(msg[2]))
		}
		return msg[3], nil
	}
}

// PDKCall is a PDK call the plugin made during an event.
type PDKCall struct {
	Method string
	Args   []interface{}
	// Deferred marks a call that came with a step result, unanswered.
	Deferred bool
}

// Answer is the gateway's reply to a PDK call: the Step method and its
// Data.
type Answer struct {
	Step string
	Data interface{}
}

// StepFor is Kong's choice of Step method for a successful PDK result
// (get_step_method in mp_rpc.lua).
func StepFor(method string) string {
	switch method {
	case "kong.client.get_credential", "kong.client.authenticate":
		return "plugin.StepCredential"
	case "kong.client.load_consumer", "kong.client.get_consumer":
		return "plugin.StepConsumer"
	case "kong.node.get_memory_stats":
		return "plugin.StepMemoryStats"
	case "kong.router.get_route":
		return "plugin.StepRoute"
	case "kong.router.get_service":
		return "plugin.StepService"
	case "kong.request.get_query", "kong.request.get_headers", "kong.response.get_headers", "kong.service.response.get_headers":
		return "plugin.StepMultiMap"
	}
	return "plugin.Step"
}

// Reply answers a call with data, using Kong's Step method for it.
func Reply(call PDKCall, data interface{}) Answer {
	return Answer{Step: StepFor(call.Method), Data: data}
}

// StepData splits a HandleEvent/Step result into the event id and either
// the PDK call the plugin makes or nil when the event returned ("ret").
func StepData(res interface{}) (int64, *PDKCall, error) {
	m, ok := res.(map[string]interface{})
	if !ok {
		return 0, nil, fmt.Errorf("step result %#v is not a map", res)
	}
	id, ok := m["EventId"].(int64)
	if !ok {
		return 0, nil, fmt.Errorf("step result %#v has no EventId", res)
	}
	if m["Data"] == "ret" {
		return id, nil, nil
	}
	data, ok := m["Data"].(map[string]interface{})
	if !ok {
		return 0, nil, fmt.Errorf("step result %#v: Data is neither \"ret\" nor a call", res)
	}
	call, err := pdkCall(data)
	if err != nil {
		return 0, nil, fmt.Errorf("step result %#v: %v", res, err)
	}
	return id, &call, nil
}

func pdkCall(data map[string]interface{}) (PDKCall, error) {
	method, _ := data["Method"].(string)
	args, ok := data["Args"].([]interface{})
	if !ok && data["Args"] != nil {
		return PDKCall{}, fmt.Errorf("Args is not an array")
	}
	return PDKCall{Method: method, Args: args}, nil
}

// DeferredCalls lists the deferred calls of a HandleEvent/Step result.
func DeferredCalls(res interface{}) ([]PDKCall, error) {
	m, _ := res.(map[string]interface{})
	list, ok := m["Deferred"].([]interface{})
	if !ok && m["Deferred"] != nil {
		return nil, fmt.Errorf("step result %#v: Deferred is not an array", res)
	}
	var calls []PDKCall
	for _, item := range list {
		data, _ := item.(map[string]interface{})
		call, err := pdkCall(data)
		if err != nil {
			return nil, fmt.Errorf("deferred call %#v: %v", item, err)
		}
		call.Deferred = true
		calls = append(calls, call)
	}
	return calls, nil
}

// Event runs one event as the gateway's bridge loop does: HandleEvent,
// then a Step per PDK call, answered by answer, until "ret" — or until a
// terminal call (kong.response.exit), which gets no Step. It returns the
// PDK calls made, deferred ones included.
func (c *Client) Event(instanceID int64, name string, answer func(PDKCall) Answer) ([]PDKCall, error) {
	arg := map[string]interface{}{"InstanceId": instanceID, "EventName": name}
	if c.Deferred {
		arg["Deferred"] = true
	}
	if c.RequestHeaders != nil {
		arg["RequestHeaders"] = c.RequestHeaders
	}
	res, err := c.Call("plugin.HandleEvent", arg)
	var calls []PDKCall
	for {
		if err != nil {
			return calls, err
		}
		deferred, err := DeferredCalls(res)
		if err != nil {
			return calls, err
		}
		calls = append(calls, deferred...)
		id, call, err := StepData(res)
		if err != nil || call == nil {
			return calls, err
		}
		calls = append(calls, *call)
		if (bridge.Call{Method: call.Method}).Terminal() {
			return calls, nil
		}
		a := answer(*call)
		res, err = c.Call(a.Step, map[string]interface{}{"EventId": id, "Data": a.Data})
	}
}

// StartInstance starts an instance of plugin name with the JSON config
// text and returns its id.
func (c *Client) StartInstance(name, configJSON string) (int64, error) {
	res, err := c.Call("plugin.StartInstance", map[string]interface{}{"Name": name, "Config": configJSON})
	if err != nil {
		return 0, err
	}
	m, _ := res.(map[string]interface{})
	id, ok := m["Id"].(int64)
	if !ok {
		return 0, fmt.Errorf("StartInstance result %#v has no Id", res)
	}
	return id, nil
}
