// Package examples_test builds each example plugin with `go build` and runs
// the executables as the gateway will: -dump for the query command, then
// the server on its socket, driven by a gateway-side MsgPack:1 client.
package examples_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gw "github.com/sluice-gw/sluice/pdk-go/internal/gatewaytest"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// bin builds all examples once and returns the path of one.
func bin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "pdk-go-examples")
		if buildErr != nil {
			return
		}
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(goTool, "build", "-o", binDir+"/", "./go-hello", "./go-keyauth", "./go-phases")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, string(out)}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func dump(t *testing.T, name, prefix string) map[string]interface{} {
	t.Helper()
	out, err := exec.Command(bin(t, name), "-dump", "-kong-prefix", prefix).Output()
	if err != nil {
		t.Fatalf("%s -dump: %v", name, err)
	}
	var info map[string]interface{}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("%s -dump printed %q: %v", name, out, err)
	}
	return info
}

func TestDumpOfEachExample(t *testing.T) {
	cases := map[string]struct {
		phases   []interface{}
		priority float64
		fields   string
	}{
		"go-hello":   {[]interface{}{"access"}, 1, `[{"message":{"type":"string"}}]`},
		"go-keyauth": {[]interface{}{"access"}, 1250, `[{"key_name":{"type":"string"}},{"keys":{"elements":{"type":"string"},"type":"array"}},{"hide_credentials":{"type":"boolean"}}]`},
		"go-phases": {[]interface{}{"certificate", "preread", "rewrite", "access", "response", "header_filter", "body_filter", "log"},
			10, `[{"header":{"type":"string"}}]`},
	}
	for name, want := range cases {
		info := dump(t, name, "/pfx")
		if info["Protocol"] != "MsgPack:1" || info["SocketPath"] != "/pfx/"+name+".socket" {
			t.Errorf("%s: %v", name, info)
		}
		p := info["Plugins"].([]interface{})[0].(map[string]interface{})
		if p["Name"] != name || p["Version"] != "0.1.0" || p["Priority"] != want.priority || !reflect.DeepEqual(p["Phases"], want.phases) {
			t.Errorf("%s: plugin info %v", name, p)
		}
		config := p["Schema"].(map[string]interface{})["fields"].([]interface{})[0].(map[string]interface{})["config"]
		fields, _ := json.Marshal(config.(map[string]interface{})["fields"])
		if string(fields) != want.fields {
			t.Errorf("%s: config fields %s, want %s", name, fields, want.fields)
		}
	}
}

// process is a running example plugin server.
type process struct {
	cmd    *exec.Cmd
	socket string
	lines  chan string // the rest of its stderr; closed at exit
}

// start runs argv (the plugin, possibly under a wrapper) and waits for the
// server's "Listening on socket" line on stderr.
func start(t *testing.T, socket string, argv ...string) *process {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, socket: socket, lines: make(chan string, 100)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stderr)
	go func() {
		defer close(p.lines)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	p.waitFor(t, "Listening on socket: "+socket)
	return p
}

// waitFor consumes stderr lines until one contains text.
func (p *process) waitFor(t *testing.T, text string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("plugin exited before printing %q", text)
			}
			if strings.Contains(line, text) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q from the plugin", text)
		}
	}
}

func serve(t *testing.T, name string) (*process, *gw.Client) {
	t.Helper()
	prefix := t.TempDir()
	socket := filepath.Join(prefix, name+".socket")
	p := start(t, socket, bin(t, name), "-kong-prefix", prefix)
	c, err := gw.Dial(socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c
}

func TestGoHello(t *testing.T) {
	p, c := serve(t, "go-hello")
	id, err := c.StartInstance("go-hello", `{"message":"hi","route_id":null,"__seq__":3}`)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := c.Event(id, "access", func(call gw.PDKCall) gw.Answer { return gw.Reply(call, "example.com") })
	if err != nil {
		t.Fatal(err)
	}
	want := []gw.PDKCall{
		{Method: "kong.request.get_header", Args: []interface{}{"host"}},
		{Method: "kong.response.set_header", Args: []interface{}{"x-hello-from-go", "Go says hi to example.com"}},
		{Method: "kong.service.request.set_header", Args: []interface{}{"x-go-hello", "hi"}},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls %#v", calls)
	}
	if len(c.Pids) != 1 || c.Pids[0] != int64(p.cmd.Process.Pid) {
		t.Fatalf("serverPid %v, want [%d]", c.Pids, p.cmd.Process.Pid)
	}

	// SIGTERM: the server stops, removes its socket and exits 0.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "got terminated, terminating")
	for range p.lines {
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if _, err := os.Stat(p.socket); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}

func TestGoKeyauth(t *testing.T) {
	_, c := serve(t, "go-keyauth")
	id, err := c.StartInstance("go-keyauth", `{"key_name":"x-api-key","keys":["k1","k2"],"hide_credentials":true}`)
	if err != nil {
		t.Fatal(err)
	}
	unauthorized := map[string]interface{}{
		"Content-Type":     []interface{}{"application/json; charset=utf-8"},
		"WWW-Authenticate": []interface{}{`Key realm="kong"`},
	}
	cases := []struct {
		key  interface{}
		want []gw.PDKCall
	}{
		{nil, []gw.PDKCall{
			{Method: "kong.request.get_header", Args: []interface{}{"x-api-key"}},
			{Method: "kong.response.exit", Args: []interface{}{int64(401), []byte(`{"message":"No API key found in request"}`), unauthorized}},
		}},
		{"wrong", []gw.PDKCall{
			{Method: "kong.request.get_header", Args: []interface{}{"x-api-key"}},
			{Method: "kong.response.exit", Args: []interface{}{int64(401), []byte(`{"message":"Invalid authentication credentials"}`), unauthorized}},
		}},
		{"k2", []gw.PDKCall{
			{Method: "kong.request.get_header", Args: []interface{}{"x-api-key"}},
			{Method: "kong.service.request.clear_header", Args: []interface{}{"x-api-key"}},
			{Method: "kong.ctx.shared.set", Args: []interface{}{"authenticated_key", "k2"}},
		}},
	}
	for _, tc := range cases {
		calls, err := c.Event(id, "access", func(call gw.PDKCall) gw.Answer { return gw.Reply(call, tc.key) })
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(calls, tc.want) {
			t.Errorf("key %v: calls %#v", tc.key, calls)
		}
	}
}

// TestGoPhases runs every phase of one request, answering kong.ctx.shared
// from one table as the gateway does, and checks the trace.
func TestGoPhases(t *testing.T) {
	_, c := serve(t, "go-phases")
	id, err := c.StartInstance("go-phases", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	shared := map[string]interface{}{"go_phases": "lua"} // a Lua plugin ran first
	var setHeader, setBody []interface{}
	var notice []interface{}
	answer := func(call gw.PDKCall) gw.Answer {
		switch call.Method {
		case "kong.ctx.shared.get":
			return gw.Reply(call, shared[call.Args[0].(string)])
		case "kong.ctx.shared.set":
			shared[call.Args[0].(string)] = call.Args[1]
		case "kong.response.set_header":
			setHeader = call.Args
		case "kong.response.get_raw_body":
			return gw.Reply(call, "<p>hi</p>")
		case "kong.response.set_raw_body":
			setBody = call.Args
		case "kong.log.notice":
			notice = call.Args
		}
		return gw.Reply(call, nil)
	}
	for _, phase := range []string{"rewrite", "access", "response", "header_filter", "body_filter", "log"} {
		if _, err := c.Event(id, phase, answer); err != nil {
			t.Fatalf("%s: %v", phase, err)
		}
	}
	if want := []interface{}{"x-go-phases", "lua,rewrite,access,response,header_filter"}; !reflect.DeepEqual(setHeader, want) {
		t.Errorf("header_filter set %#v", setHeader)
	}
	if want := []interface{}{[]byte("<p>hi</p><!-- go-phases -->")}; !reflect.DeepEqual(setBody, want) {
		t.Errorf("body_filter set %#v", setBody)
	}
	trace := "lua,rewrite,access,response,header_filter,body_filter,log"
	if shared["go_phases"] != trace || !reflect.DeepEqual(notice, []interface{}{"go-phases trace: ", trace}) {
		t.Errorf("trace %v, log %#v", shared["go_phases"], notice)
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	prefix := t.TempDir()
	socket := filepath.Join(prefix, "go-hello.socket")
	if err := os.WriteFile(socket, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, socket, bin(t, "go-hello"), "-kong-prefix", prefix)
	c, err := gw.Dial(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Call("plugin.GetStatus", nil); err != nil {
		t.Fatal(err)
	}
}

// TestExitsWithItsParent kills the plugin's parent (a shell standing in
// for the gateway's master): the plugin must notice and exit.
func TestExitsWithItsParent(t *testing.T) {
	prefix := t.TempDir()
	socket := filepath.Join(prefix, "go-hello.socket")
	p := start(t, socket, "/bin/sh", "-c", `"$0" -kong-prefix "$1" & wait`, bin(t, "go-hello"), prefix)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "parent process exited, terminating")
	for range p.lines { // until the plugin, the last holder of the pipe, exits
	}
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}
