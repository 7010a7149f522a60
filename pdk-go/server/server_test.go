package server

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/pdk-go"
	gw "github.com/sluice-gw/sluice/pdk-go/internal/gatewaytest"
)

type testConfig struct {
	Message string `json:"message"`
	Mode    string `json:"mode"`
}

// rewriteDone receives the error of Rewrite's PDK call in mode "report".
var rewriteDone = make(chan error, 1)

func (c *testConfig) Access(kong *pdk.PDK) {
	host, _ := kong.Request.GetHeader("host")
	headers, _ := kong.Request.GetHeaders(-1)
	_, err := kong.Request.GetHeader("x-missing")
	kong.Log.Err("host=", host, " accept=", strings.Join(headers["accept"], ","), " err=", err)
	kong.Ctx.SetShared("go_test", c.Message)
	kong.ServiceRequest.SetHeader("x-go-test", c.Message)
	if host == "deny.example" {
		kong.Response.Exit(403, []byte("denied"), map[string][]string{"x-why": {"go-test"}})
		return
	}
	kong.Response.SetHeader("x-hello", "hi "+host)
}

func (c *testConfig) Rewrite(kong *pdk.PDK) {
	v, err := kong.Request.GetHeader("x-step-error")
	if c.Mode == "report" {
		rewriteDone <- err
		return
	}
	kong.Log.Err("v=", v, " err=", err)
}

func (c *testConfig) Log(kong *pdk.PDK) {
	if c.Mode == "panic" {
		panic("log handler exploded")
	}
	s, _ := kong.Log.Serialize()
	kong.Log.Info("serialize len=", len(s))
}

func (c *testConfig) HeaderFilter(kong *pdk.PDK) {
	kong.Response.SetHeader("x-phase", "header_filter")
}

func (c *testConfig) BodyFilter(kong *pdk.PDK) {
	b, _ := kong.Response.GetRawBody()
	kong.Response.SetRawBody(bytes.ToUpper(b))
}

func newTestConfig() interface{} { return &testConfig{} }

const testConfigJSON = `{"message":"hi","mode":"","route_id":null,"service_id":null,"consumer_id":null,` +
	`"plugin_instance_name":null,"__plugin_id":"6a1f0a2e","__key__":"plugins:go-test::::","__seq__":7}`

// startServer serves the test plugin on a socket in a temporary directory.
func startServer(t *testing.T) (*server, string) {
	t.Helper()
	p, err := newPlugin("go-test", newTestConfig, "1.2.3", 1000)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(p)
	path := filepath.Join(t.TempDir(), "go-test.socket")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.serve(l) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, path
}

func dial(t *testing.T, path string) *gw.Client {
	t.Helper()
	c, err := gw.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustCall(t *testing.T, c *gw.Client, method string, arg interface{}) interface{} {
	t.Helper()
	res, err := c.Call(method, arg)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return res
}

func wantRemoteError(t *testing.T, err error, text string) {
	t.Helper()
	var re gw.RemoteError
	if !errors.As(err, &re) || !strings.Contains(string(re), text) {
		t.Fatalf("got error %v, want a remote error containing %q", err, text)
	}
}

func TestServerPidGreetsEveryConnection(t *testing.T) {
	_, path := startServer(t)
	for i := 0; i < 2; i++ {
		c := dial(t, path)
		msg, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		want := []interface{}{int64(2), "serverPid", int64(os.Getpid())}
		if !reflect.DeepEqual(msg, want) {
			t.Fatalf("first message %#v, want %#v", msg, want)
		}
	}
}

func TestInstanceLifecycle(t *testing.T) {
	_, path := startServer(t)
	c := dial(t, path)

	res := mustCall(t, c, "plugin.StartInstance", map[string]interface{}{"Name": "go-test", "Config": testConfigJSON})
	st := res.(map[string]interface{})
	if st["Name"] != "go-test" || st["Id"] != int64(0) {
		t.Fatalf("StartInstance gave %#v", st)
	}
	config := st["Config"].(map[string]interface{})
	if config["message"] != "hi" || config["__seq__"] != int64(7) || config["route_id"] != nil {
		t.Fatalf("config echo %#v", config)
	}
	if start, ok := st["StartTime"].(float64); !ok || start < 1e9 {
		t.Fatalf("StartTime %#v", st["StartTime"])
	}
	// Config may also arrive as bin; ids keep counting.
	res = mustCall(t, c, "plugin.StartInstance", map[string]interface{}{"Name": "go-test", "Config": []byte(`{"message":"two"}`)})
	if id := res.(map[string]interface{})["Id"]; id != int64(1) {
		t.Fatalf("second instance id %#v", id)
	}

	status := mustCall(t, c, "plugin.InstanceStatus", int64(1)).(map[string]interface{})
	if status["Id"] != int64(1) || status["Config"].(map[string]interface{})["message"] != "two" {
		t.Fatalf("InstanceStatus %#v", status)
	}

	all := mustCall(t, c, "plugin.GetStatus", nil).(map[string]interface{})
	if all["Pid"] != int64(os.Getpid()) {
		t.Fatalf("GetStatus Pid %#v", all["Pid"])
	}
	ps := all["Plugins"].(map[string]interface{})["go-test"].(map[string]interface{})
	if n := len(ps["Instances"].([]interface{})); n != 2 || ps["LastStartInstance"].(float64) == 0 || ps["LastCloseInstance"] != 0.0 {
		t.Fatalf("GetStatus plugin %#v", ps)
	}

	closed := mustCall(t, c, "plugin.CloseInstance", int64(0)).(map[string]interface{})
	if closed["Id"] != int64(0) || closed["Name"] != "go-test" {
		t.Fatalf("CloseInstance %#v", closed)
	}
	_, err := c.Call("plugin.InstanceStatus", int64(0))
	wantRemoteError(t, err, "no plugin instance 0")
	_, err = c.Call("plugin.CloseInstance", int64(0))
	wantRemoteError(t, err, "no plugin instance 0")
	_, err = c.Event(0, "access", nil)
	wantRemoteError(t, err, "no plugin instance 0")
}

func TestStartInstanceErrors(t *testing.T) {
	_, path := startServer(t)
	c := dial(t, path)
	cases := []struct {
		arg  interface{}
		want string
	}{
		{map[string]interface{}{"Name": "other", "Config": "{}"}, "other not initialized"},
		{map[string]interface{}{"Name": "go-test", "Config": `{"message":`}, "decoding config"},
		{map[string]interface{}{"Name": "go-test", "Config": `{"message":5}`}, "decoding config"},
		{map[string]interface{}{"Name": "go-test"}, "Config must be a string"},
		{"go-test", "must be a map"},
		{map[string]interface{}{"Name": "go-test", "Config": `{"message":"x"}`, "extra": 1}, ""},
	}
	for _, tc := range cases {
		_, err := c.Call("plugin.StartInstance", tc.arg)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%#v: %v", tc.arg, err)
			}
			continue
		}
		wantRemoteError(t, err, tc.want)
	}
}

// accessAnswer answers the test plugin's access-phase calls for a request
// to host.
func accessAnswer(host string) func(gw.PDKCall) gw.Answer {
	return func(call gw.PDKCall) gw.Answer {
		switch call.Method {
		case "kong.request.get_header":
			if call.Args[0] == "host" {
				return gw.Reply(call, host)
			}
			return gw.Reply(call, nil)
		case "kong.request.get_headers":
			return gw.Reply(call, map[string]interface{}{"host": host, "accept": []interface{}{"a/b", "c/d"}})
		}
		return gw.Reply(call, nil)
	}
}

// accessCalls are the test plugin's calls for example.com; with deferred,
// the ones that return nothing come deferred.
func accessCalls(deferred bool) []gw.PDKCall {
	return []gw.PDKCall{
		{Method: "kong.request.get_header", Args: []interface{}{"host"}},
		{Method: "kong.request.get_headers", Args: []interface{}{}},
		{Method: "kong.request.get_header", Args: []interface{}{"x-missing"}},
		{Method: "kong.log.err", Args: []interface{}{"host=", "example.com", " accept=", "a/b,c/d", " err=", nil}, Deferred: deferred},
		{Method: "kong.ctx.shared.set", Args: []interface{}{"go_test", "hi"}, Deferred: deferred},
		{Method: "kong.service.request.set_header", Args: []interface{}{"x-go-test", "hi"}, Deferred: deferred},
		{Method: "kong.response.set_header", Args: []interface{}{"x-hello", "hi example.com"}, Deferred: deferred},
	}
}

func TestAccessEventLoop(t *testing.T) {
	_, path := startServer(t)
	c := dial(t, path)
	id, err := c.StartInstance("go-test", testConfigJSON)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := c.Event(id, "access", accessAnswer("example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if want := accessCalls(false); !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls\n got %#v\nwant %#v", calls, want)
	}
	// Short-circuit: the event ends at kong.response.exit without a Step.
	calls, err = c.Event(id, "access", accessAnswer("deny.example"))
	if err != nil {
		t.Fatal(err)
	}
	exit := calls[len(calls)-1]
	wantExit := gw.PDKCall{Method: "kong.response.exit", Args: []interface{}{
		int64(403), []byte("denied"), map[string]interface{}{"x-why": []interface{}{"go-test"}},
	}}
	if !reflect.DeepEqual(exit, wantExit) {
		t.Fatalf("exit call %#v", exit)
	}
	// That event (id 1) is gone: a late Step is refused.
	_, err = c.Call("plugin.Step", map[string]interface{}{"EventId": int64(1), "Data": nil})
	wantRemoteError(t, err, "no running event 1")
}

// With Deferred (a Sluice gateway) the handler's setters and logging come
// with the next step result instead of a round trip each: here with the
// "ret", or before kong.response.exit.
func TestDeferredCalls(t *testing.T) {
	_, path := startServer(t)
	c := dial(t, path)
	c.Deferred = true
	id, err := c.StartInstance("go-test", testConfigJSON)
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	answer := func(host string) func(gw.PDKCall) gw.Answer {
		return func(call gw.PDKCall) gw.Answer {
			steps++
			return accessAnswer(host)(call)
		}
	}
	calls, err := c.Event(id, "access", answer("example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if want := accessCalls(true); !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls\n got %#v\nwant %#v", calls, want)
	}
	if steps != 3 {
		t.Fatalf("%d Steps, want 3 (one per asking call)", steps)
	}

	calls, err = c.Event(id, "access", answer("deny.example"))
	if err != nil {
		t.Fatal(err)
	}
	if last := calls[len(calls)-1]; last.Method != "kong.response.exit" || last.Deferred {
		t.Fatalf("the event ends at an answered exit: %#v", calls)
	}
	if before := calls[len(calls)-2]; !before.Deferred {
		t.Fatalf("the calls told before exit come with it: %#v", calls)
	}
}

// With the request's headers sent along (Sluice, in rewrite and access),
// reading them needs no Step: the whole event is one round trip.
func TestRequestHeadersSentWithTheEvent(t *testing.T) {
	_, path := startServer(t)
	c := dial(t, path)
	c.Deferred = true
	c.RequestHeaders = map[string]interface{}{"host": "example.com", "accept": []interface{}{"a/b", "c/d"}}
	id, err := c.StartInstance("go-test", testConfigJSON)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := c.Event(id, "access", func(call gw.PDKCall) gw.Answer {
		t.Fatalf("unexpected Step for %s", call.Method)
		return gw.Answer{}
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := accessCalls(true)[3:]; !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls\n got %#v\nwant %#v", calls, want)
	}
}

func TestStepErrorAndPhases(t *testing.T) {
	_, path := startServer(t)
	c := dial(t, path)
	id, _ := c.StartInstance("go-test", `{"message":"m"}`)

	calls, err := c.Event(id, "rewrite", func(call gw.PDKCall) gw.Answer {
		if call.Method == "kong.request.get_header" {
			return gw.Answer{Step: "plugin.StepError", Data: "not in this phase"}
		}
		return gw.Reply(call, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := calls[1].Args; !reflect.DeepEqual(got, []interface{}{"v=", "", " err=", "not in this phase"}) {
		t.Fatalf("StepError reached the plugin as %#v", got)
	}

	calls, err = c.Event(id, "header_filter", func(call gw.PDKCall) gw.Answer { return gw.Reply(call, nil) })
	if err != nil || len(calls) != 1 || calls[0].Method != "kong.response.set_header" {
		t.Fatalf("header_filter: %#v %v", calls, err)
	}
	calls, err = c.Event(id, "body_filter", func(call gw.PDKCall) gw.Answer { return gw.Reply(call, []byte("chunk")) })
	if err != nil || len(calls) != 2 || !reflect.DeepEqual(calls[1].Args, []interface{}{[]byte("CHUNK")}) {
		t.Fatalf("body_filter: %#v %v", calls, err)
	}
	calls, err = c.Event(id, "log", func(call gw.PDKCall) gw.Answer { return gw.Reply(call, `{"a":1}`) })
	if err != nil || !reflect.DeepEqual(calls[1].Args, []interface{}{"serialize len=", int64(7)}) {
		t.Fatalf("log: %#v %v", calls, err)
	}

	_, err = c.Event(id, "certificate", nil)
	wantRemoteError(t, err, "undefined method certificate")
}

func TestHandlerPanicIsAnRPCError(t *testing.T) {
	_, path := startServer(t)
	c := dial(t, path)
	id, _ := c.StartInstance("go-test", `{"mode":"panic"}`)
	_, err := c.Event(id, "log", nil)
	wantRemoteError(t, err, "panic in plugin handler: log handler exploded")
	// The server survives and serves the next event.
	if _, err := c.Event(id, "header_filter", func(call gw.PDKCall) gw.Answer { return gw.Reply(call, nil) }); err != nil {
		t.Fatal(err)
	}
}

func TestStepsOnAnotherConnection(t *testing.T) {
	_, path := startServer(t)
	a, b := dial(t, path), dial(t, path)
	id, _ := a.StartInstance("go-test", `{"message":"x"}`)
	res := mustCall(t, a, "plugin.HandleEvent", map[string]interface{}{"InstanceId": id, "EventName": "header_filter"})
	ev, call, err := gw.StepData(res)
	if err != nil || call == nil {
		t.Fatalf("%#v %v", call, err)
	}
	if m := res.(map[string]interface{}); len(m) != 2 {
		t.Fatalf("without Deferred in HandleEvent, Kong's {EventId, Data}: %#v", m)
	}
	res = mustCall(t, b, "plugin.Step", map[string]interface{}{"EventId": ev, "Data": nil})
	if _, call, err := gw.StepData(res); err != nil || call != nil {
		t.Fatalf("want ret, got %#v %v", call, err)
	}
}

func TestAbandonedEventReleasesItsHandler(t *testing.T) {
	s, path := startServer(t)
	c := dial(t, path)
	id, _ := c.StartInstance("go-test", `{"mode":"report"}`)
	res := mustCall(t, c, "plugin.HandleEvent", map[string]interface{}{"InstanceId": id, "EventName": "rewrite"})
	ev, _, _ := gw.StepData(res)

	s.abandonIdleEvents(time.Now().Add(-time.Hour)) // not idle long enough
	s.abandonIdleEvents(time.Now().Add(time.Hour))
	select {
	case err := <-rewriteDone:
		if err == nil || !strings.Contains(err.Error(), "abandoned") {
			t.Fatalf("pending PDK call ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler still blocked")
	}
	_, err := c.Call("plugin.Step", map[string]interface{}{"EventId": ev, "Data": "late"})
	wantRemoteError(t, err, "no running event")
}

func TestConcurrentEvents(t *testing.T) {
	_, path := startServer(t)
	setup := dial(t, path)
	id, _ := setup.StartInstance("go-test", `{"message":"c"}`)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := gw.Dial(path)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := 0; j < 20; j++ {
				calls, err := c.Event(id, "access", func(call gw.PDKCall) gw.Answer {
					if call.Method == "kong.request.get_headers" {
						return gw.Reply(call, map[string]interface{}{})
					}
					return gw.Reply(call, "h")
				})
				if err == nil && len(calls) != 7 {
					err = errors.New("wrong number of calls")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestUnknownMethods(t *testing.T) {
	_, path := startServer(t)
	c := dial(t, path)
	_, err := c.Call("foo.Bar", 1)
	wantRemoteError(t, err, "RPC for foo is not supported")
	_, err = c.Call("plugin.Nope", nil)
	wantRemoteError(t, err, "rpc: can't find method plugin.Nope")
	_, err = c.Call("plugin.HandleEvent", map[string]interface{}{"InstanceId": "zero", "EventName": "access"})
	wantRemoteError(t, err, "InstanceId must be an integer")
	_, err = c.Call("plugin.Step", map[string]interface{}{"EventId": int64(99)})
	wantRemoteError(t, err, "no running event 99")

	info := mustCall(t, c, "plugin.GetPluginInfo", "go-test").(map[string]interface{})
	if info["Name"] != "go-test" || info["Version"] != "1.2.3" || info["Priority"] != int64(1000) {
		t.Fatalf("GetPluginInfo %#v", info)
	}
	_, err = c.Call("plugin.GetPluginInfo", "other")
	wantRemoteError(t, err, "not initialized")
}

func TestMalformedInputClosesOnlyThatConnection(t *testing.T) {
	_, path := startServer(t)
	bad := dial(t, path)
	if err := bad.WriteRaw([]byte{0xc1}); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := bad.ReadMessage(); err != nil {
			break // the serverPid greeting, then the close
		}
	}
	good := dial(t, path)
	mustCall(t, good, "plugin.GetStatus", nil)
}
