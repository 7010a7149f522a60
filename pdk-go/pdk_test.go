package pdk

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sluice-gw/sluice/pdk-go/bridge"
	"github.com/sluice-gw/sluice/pdk-go/client"
	"github.com/sluice-gw/sluice/pdk-go/entities"
	. "github.com/sluice-gw/sluice/pdk-go/internal/pdktest"
	"github.com/sluice-gw/sluice/pdk-go/node"
)

// wireCase runs one PDK function and checks the single call it makes.
type wireCase struct {
	name string
	run  func(k *PDK) (interface{}, error)
	x    Exchange
	want interface{}
}

func (c wireCase) check(t *testing.T) {
	t.Helper()
	var got interface{}
	var err error
	Run(t, func(b bridge.PdkBridge) { got, err = c.run(Init(b)) }, c.x)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if !reflect.DeepEqual(got, c.want) {
		t.Fatalf("%s: got %#v, want %#v", c.name, got, c.want)
	}
}

func str(s string, err error) (interface{}, error)  { return s, err }
func num(i int, err error) (interface{}, error)     { return i, err }
func flt(f float64, err error) (interface{}, error) { return f, err }
func none(err error) (interface{}, error)           { return nil, err }
func args(a ...interface{}) []interface{}           { return a }

func TestWireNamesAndEncodings(t *testing.T) {
	mm := map[string]interface{}{"accept": []interface{}{"a/b", "c/d"}, "host": "x"}
	wantMM := map[string][]string{"accept": {"a/b", "c/d"}, "host": {"x"}}
	cases := []wireCase{
		{"Client.GetIp", func(k *PDK) (interface{}, error) { return str(k.Client.GetIp()) },
			Exchange{Method: "kong.client.get_ip", Reply: "10.0.0.1"}, "10.0.0.1"},
		{"Client.GetForwardedIp", func(k *PDK) (interface{}, error) { return str(k.Client.GetForwardedIp()) },
			Exchange{Method: "kong.client.get_forwarded_ip", Reply: "1.2.3.4"}, "1.2.3.4"},
		{"Client.GetPort", func(k *PDK) (interface{}, error) { return num(k.Client.GetPort()) },
			Exchange{Method: "kong.client.get_port", Reply: int64(5555)}, 5555},
		{"Client.GetForwardedPort", func(k *PDK) (interface{}, error) { return num(k.Client.GetForwardedPort()) },
			Exchange{Method: "kong.client.get_forwarded_port", Reply: int64(443)}, 443},
		{"Client.GetProtocol", func(k *PDK) (interface{}, error) { return str(k.Client.GetProtocol(true)) },
			Exchange{Method: "kong.client.get_protocol", Args: args(true), Reply: "https"}, "https"},
		{"Client.GetCredential", func(k *PDK) (interface{}, error) { return k.Client.GetCredential() },
			Exchange{Method: "kong.client.get_credential", Reply: map[string]interface{}{"id": "cr", "consumer_id": "co", "key": "secret"}},
			client.AuthenticatedCredential{Id: "cr", ConsumerId: "co"}},
		{"Client.LoadConsumer", func(k *PDK) (interface{}, error) { return k.Client.LoadConsumer("alice", true) },
			Exchange{Method: "kong.client.load_consumer", Args: args("alice", true), Reply: map[string]interface{}{"id": "c1", "username": "alice", "created_at": int64(5)}},
			entities.Consumer{Id: "c1", Username: "alice", CreatedAt: 5}},
		{"Client.GetConsumer", func(k *PDK) (interface{}, error) { return k.Client.GetConsumer() },
			Exchange{Method: "kong.client.get_consumer", Reply: nil}, entities.Consumer{}},
		{"Client.Authenticate", func(k *PDK) (interface{}, error) {
			return none(k.Client.Authenticate(&entities.Consumer{Id: "c1", Username: "alice"}, nil))
		}, Exchange{Method: "kong.client.authenticate", Args: args(map[string]interface{}{
			"id": "c1", "created_at": int64(0), "username": "alice", "custom_id": "", "tags": nil,
		}, nil)}, nil},

		{"Ctx.SetShared", func(k *PDK) (interface{}, error) {
			return none(k.Ctx.SetShared("seen", map[string]int{"n": 1}))
		}, Exchange{Method: "kong.ctx.shared.set", Args: args("seen", map[string]interface{}{"n": int64(1)})}, nil},
		{"Ctx.GetSharedAny", func(k *PDK) (interface{}, error) { return k.Ctx.GetSharedAny("t") },
			Exchange{Method: "kong.ctx.shared.get", Args: args("t"), Reply: []interface{}{"x"}}, []interface{}{"x"}},
		{"Ctx.GetSharedString", func(k *PDK) (interface{}, error) { return str(k.Ctx.GetSharedString("s")) },
			Exchange{Method: "kong.ctx.shared.get", Args: args("s"), Reply: "lua"}, "lua"},
		{"Ctx.GetSharedFloat", func(k *PDK) (interface{}, error) { return flt(k.Ctx.GetSharedFloat("f")) },
			Exchange{Method: "kong.ctx.shared.get", Args: args("f"), Reply: int64(2)}, 2.0},
		{"Ctx.GetSharedInt", func(k *PDK) (interface{}, error) { return num(k.Ctx.GetSharedInt("i")) },
			Exchange{Method: "kong.ctx.shared.get", Args: args("i"), Reply: 7.0}, 7},

		{"Log.Err", func(k *PDK) (interface{}, error) {
			return none(k.Log.Err("failed:", errors.New("boom"), 3, nil, []int{1}))
		}, Exchange{Method: "kong.log.err", Args: args("failed:", "boom", int64(3), nil, "[1]")}, nil},
		{"Log.Alert", func(k *PDK) (interface{}, error) { return none(k.Log.Alert("a")) }, Exchange{Method: "kong.log.alert", Args: args("a")}, nil},
		{"Log.Crit", func(k *PDK) (interface{}, error) { return none(k.Log.Crit("c")) }, Exchange{Method: "kong.log.crit", Args: args("c")}, nil},
		{"Log.Warn", func(k *PDK) (interface{}, error) { return none(k.Log.Warn("w")) }, Exchange{Method: "kong.log.warn", Args: args("w")}, nil},
		{"Log.Notice", func(k *PDK) (interface{}, error) { return none(k.Log.Notice("n")) }, Exchange{Method: "kong.log.notice", Args: args("n")}, nil},
		{"Log.Info", func(k *PDK) (interface{}, error) { return none(k.Log.Info("i", 1.5)) }, Exchange{Method: "kong.log.info", Args: args("i", 1.5)}, nil},
		{"Log.Debug", func(k *PDK) (interface{}, error) { return none(k.Log.Debug()) }, Exchange{Method: "kong.log.debug"}, nil},
		{"Log.Serialize", func(k *PDK) (interface{}, error) { return str(k.Log.Serialize()) },
			Exchange{Method: "kong.log.serialize", Reply: `{"response":{"status":200}}`}, `{"response":{"status":200}}`},
		{"Log.SetSerializeValueAdd", func(k *PDK) (interface{}, error) { return none(k.Log.SetSerializeValueAdd("a.b", 1)) },
			Exchange{Method: "kong.log.set_serialize_value", Args: args("a.b", int64(1), map[string]interface{}{"mode": "add"})}, nil},

		{"Nginx.GetVar", func(k *PDK) (interface{}, error) { return str(k.Nginx.GetVar("remote_addr")) },
			Exchange{Method: "kong.nginx.get_var", Args: args("remote_addr"), Reply: "127.0.0.1"}, "127.0.0.1"},
		{"Nginx.GetTLS1VersionStr", func(k *PDK) (interface{}, error) { return str(k.Nginx.GetTLS1VersionStr()) },
			Exchange{Method: "kong.nginx.get_tls1_version_str", Reply: "TLSv1.3"}, "TLSv1.3"},
		{"Nginx.SetCtx", func(k *PDK) (interface{}, error) { return none(k.Nginx.SetCtx("k", true)) },
			Exchange{Method: "kong.nginx.set_ctx", Args: args("k", true)}, nil},
		{"Nginx.GetCtxInt", func(k *PDK) (interface{}, error) { return num(k.Nginx.GetCtxInt("k")) },
			Exchange{Method: "kong.nginx.get_ctx", Args: args("k"), Reply: int64(-4)}, -4},
		{"Nginx.ReqStartTime", func(k *PDK) (interface{}, error) { return flt(k.Nginx.ReqStartTime()) },
			Exchange{Method: "kong.nginx.req_start_time", Reply: 1700000000.123}, 1700000000.123},
		{"Nginx.GetSubsystem", func(k *PDK) (interface{}, error) { return str(k.Nginx.GetSubsystem()) },
			Exchange{Method: "kong.nginx.get_subsystem", Reply: "http"}, "http"},

		{"Request.GetHeader missing", func(k *PDK) (interface{}, error) { return str(k.Request.GetHeader("x-missing")) },
			Exchange{Method: "kong.request.get_header", Args: args("x-missing"), Reply: nil}, ""},
		{"Request.GetHeaders default", func(k *PDK) (interface{}, error) { return k.Request.GetHeaders(-1) },
			Exchange{Method: "kong.request.get_headers", Reply: mm}, wantMM},
		{"Request.GetHeaders max", func(k *PDK) (interface{}, error) { return k.Request.GetHeaders(5) },
			Exchange{Method: "kong.request.get_headers", Args: args(int64(5)), Reply: mm}, wantMM},
		{"Request.GetQuery", func(k *PDK) (interface{}, error) { return k.Request.GetQuery(-1) },
			Exchange{Method: "kong.request.get_query", Reply: map[string]interface{}{"a": "1", "flag": true}},
			map[string][]string{"a": {"1"}, "flag": {}}},
		{"Request.GetQueryArg flag", func(k *PDK) (interface{}, error) { return str(k.Request.GetQueryArg("flag")) },
			Exchange{Method: "kong.request.get_query_arg", Args: args("flag"), Reply: true}, ""},
		{"Request.GetScheme", func(k *PDK) (interface{}, error) { return str(k.Request.GetScheme()) }, Exchange{Method: "kong.request.get_scheme", Reply: "https"}, "https"},
		{"Request.GetHost", func(k *PDK) (interface{}, error) { return str(k.Request.GetHost()) }, Exchange{Method: "kong.request.get_host", Reply: "h"}, "h"},
		{"Request.GetPort", func(k *PDK) (interface{}, error) { return num(k.Request.GetPort()) }, Exchange{Method: "kong.request.get_port", Reply: int64(8000)}, 8000},
		{"Request.GetForwardedScheme", func(k *PDK) (interface{}, error) { return str(k.Request.GetForwardedScheme()) }, Exchange{Method: "kong.request.get_forwarded_scheme", Reply: "http"}, "http"},
		{"Request.GetForwardedHost", func(k *PDK) (interface{}, error) { return str(k.Request.GetForwardedHost()) }, Exchange{Method: "kong.request.get_forwarded_host", Reply: "f"}, "f"},
		{"Request.GetForwardedPort", func(k *PDK) (interface{}, error) { return num(k.Request.GetForwardedPort()) }, Exchange{Method: "kong.request.get_forwarded_port", Reply: int64(80)}, 80},
		{"Request.GetHttpVersion", func(k *PDK) (interface{}, error) { return flt(k.Request.GetHttpVersion()) }, Exchange{Method: "kong.request.get_http_version", Reply: 1.1}, 1.1},
		{"Request.GetMethod", func(k *PDK) (interface{}, error) { return str(k.Request.GetMethod()) }, Exchange{Method: "kong.request.get_method", Reply: "GET"}, "GET"},
		{"Request.GetPath", func(k *PDK) (interface{}, error) { return str(k.Request.GetPath()) }, Exchange{Method: "kong.request.get_path", Reply: "/p"}, "/p"},
		{"Request.GetPathWithQuery", func(k *PDK) (interface{}, error) { return str(k.Request.GetPathWithQuery()) }, Exchange{Method: "kong.request.get_path_with_query", Reply: "/p?a=1"}, "/p?a=1"},
		{"Request.GetRawQuery", func(k *PDK) (interface{}, error) { return str(k.Request.GetRawQuery()) }, Exchange{Method: "kong.request.get_raw_query", Reply: "a=1"}, "a=1"},
		{"Request.GetRawBody", func(k *PDK) (interface{}, error) { return k.Request.GetRawBody() },
			Exchange{Method: "kong.request.get_raw_body", Reply: "body"}, []byte("body")},

		{"Response.Exit", func(k *PDK) (interface{}, error) {
			k.Response.Exit(401, []byte(`{"message":"no"}`), map[string][]string{"WWW-Authenticate": {`Key realm="kong"`}})
			return nil, nil
		}, Exchange{Method: "kong.response.exit", Args: args(int64(401), []byte(`{"message":"no"}`),
			map[string]interface{}{"WWW-Authenticate": []interface{}{`Key realm="kong"`}})}, nil},
		{"Response.ExitStatus", func(k *PDK) (interface{}, error) { k.Response.ExitStatus(204); return nil, nil },
			Exchange{Method: "kong.response.exit", Args: args(int64(204))}, nil},
		{"Response.SetHeader", func(k *PDK) (interface{}, error) { return none(k.Response.SetHeader("x-a", "1")) },
			Exchange{Method: "kong.response.set_header", Args: args("x-a", "1")}, nil},
		{"Response.AddHeader", func(k *PDK) (interface{}, error) { return none(k.Response.AddHeader("x-a", "2")) },
			Exchange{Method: "kong.response.add_header", Args: args("x-a", "2")}, nil},
		{"Response.ClearHeader", func(k *PDK) (interface{}, error) { return none(k.Response.ClearHeader("x-a")) },
			Exchange{Method: "kong.response.clear_header", Args: args("x-a")}, nil},
		{"Response.SetHeaders nil", func(k *PDK) (interface{}, error) { return none(k.Response.SetHeaders(nil)) },
			Exchange{Method: "kong.response.set_headers", Args: args(map[string]interface{}{})}, nil},
		{"Response.SetStatus", func(k *PDK) (interface{}, error) { return none(k.Response.SetStatus(418)) },
			Exchange{Method: "kong.response.set_status", Args: args(int64(418))}, nil},
		{"Response.GetStatus", func(k *PDK) (interface{}, error) { return num(k.Response.GetStatus()) },
			Exchange{Method: "kong.response.get_status", Reply: int64(200)}, 200},
		{"Response.GetHeader", func(k *PDK) (interface{}, error) { return str(k.Response.GetHeader("via")) },
			Exchange{Method: "kong.response.get_header", Args: args("via"), Reply: "sluice"}, "sluice"},
		{"Response.GetHeaders", func(k *PDK) (interface{}, error) { return k.Response.GetHeaders(-1) },
			Exchange{Method: "kong.response.get_headers", Reply: []interface{}{}}, map[string][]string{}},
		{"Response.GetSource", func(k *PDK) (interface{}, error) { return str(k.Response.GetSource()) },
			Exchange{Method: "kong.response.get_source", Reply: "service"}, "service"},
		{"Response.GetRawBody", func(k *PDK) (interface{}, error) { return k.Response.GetRawBody() },
			Exchange{Method: "kong.response.get_raw_body", Reply: []byte("chunk")}, []byte("chunk")},
		{"Response.SetRawBody", func(k *PDK) (interface{}, error) { return none(k.Response.SetRawBody([]byte("new"))) },
			Exchange{Method: "kong.response.set_raw_body", Args: args([]byte("new"))}, nil},

		{"Router.GetRoute", func(k *PDK) (interface{}, error) { return k.Router.GetRoute() },
			Exchange{Method: "kong.router.get_route", Reply: map[string]interface{}{"id": "r1", "paths": []interface{}{"/a"}, "service": map[string]interface{}{"id": "s1"}}},
			entities.Route{Id: "r1", Paths: []string{"/a"}, Service: entities.ServiceKey{Id: "s1"}}},
		{"Router.GetService", func(k *PDK) (interface{}, error) { return k.Router.GetService() },
			Exchange{Method: "kong.router.get_service", Reply: map[string]interface{}{"id": "s1", "port": int64(80)}},
			entities.Service{Id: "s1", Port: 80}},

		{"IP.IsTrusted", func(k *PDK) (interface{}, error) { return k.IP.IsTrusted("10.0.0.1") },
			Exchange{Method: "kong.ip.is_trusted", Args: args("10.0.0.1"), Reply: true}, true},
		{"Node.GetId", func(k *PDK) (interface{}, error) { return str(k.Node.GetId()) },
			Exchange{Method: "kong.node.get_id", Reply: "uuid"}, "uuid"},

		{"Service.SetUpstream", func(k *PDK) (interface{}, error) { return none(k.Service.SetUpstream("up")) },
			Exchange{Method: "kong.service.set_upstream", Args: args("up"), Reply: true}, nil},
		{"Service.SetTarget", func(k *PDK) (interface{}, error) { return none(k.Service.SetTarget("h", 8080)) },
			Exchange{Method: "kong.service.set_target", Args: args("h", int64(8080))}, nil},

		{"ServiceRequest.SetScheme", func(k *PDK) (interface{}, error) { return none(k.ServiceRequest.SetScheme("https")) },
			Exchange{Method: "kong.service.request.set_scheme", Args: args("https")}, nil},
		{"ServiceRequest.SetPath", func(k *PDK) (interface{}, error) { return none(k.ServiceRequest.SetPath("/x")) },
			Exchange{Method: "kong.service.request.set_path", Args: args("/x")}, nil},
		{"ServiceRequest.SetRawQuery", func(k *PDK) (interface{}, error) { return none(k.ServiceRequest.SetRawQuery("a=1")) },
			Exchange{Method: "kong.service.request.set_raw_query", Args: args("a=1")}, nil},
		{"ServiceRequest.SetMethod", func(k *PDK) (interface{}, error) { return none(k.ServiceRequest.SetMethod("POST")) },
			Exchange{Method: "kong.service.request.set_method", Args: args("POST")}, nil},
		{"ServiceRequest.SetQuery", func(k *PDK) (interface{}, error) {
			return none(k.ServiceRequest.SetQuery(map[string][]string{"a": {"1", "2"}}))
		}, Exchange{Method: "kong.service.request.set_query", Args: args(map[string]interface{}{"a": []interface{}{"1", "2"}})}, nil},
		{"ServiceRequest.SetHeader", func(k *PDK) (interface{}, error) { return none(k.ServiceRequest.SetHeader("x-go", "1")) },
			Exchange{Method: "kong.service.request.set_header", Args: args("x-go", "1")}, nil},
		{"ServiceRequest.AddHeader", func(k *PDK) (interface{}, error) { return none(k.ServiceRequest.AddHeader("x-go", "2")) },
			Exchange{Method: "kong.service.request.add_header", Args: args("x-go", "2")}, nil},
		{"ServiceRequest.ClearHeader", func(k *PDK) (interface{}, error) { return none(k.ServiceRequest.ClearHeader("apikey")) },
			Exchange{Method: "kong.service.request.clear_header", Args: args("apikey")}, nil},
		{"ServiceRequest.SetHeaders", func(k *PDK) (interface{}, error) {
			return none(k.ServiceRequest.SetHeaders(map[string][]string{"a": {"b"}}))
		}, Exchange{Method: "kong.service.request.set_headers", Args: args(map[string]interface{}{"a": []interface{}{"b"}})}, nil},
		{"ServiceRequest.SetRawBody", func(k *PDK) (interface{}, error) { return none(k.ServiceRequest.SetRawBody(nil)) },
			Exchange{Method: "kong.service.request.set_raw_body", Args: args([]byte{})}, nil},

		{"ServiceResponse.GetStatus", func(k *PDK) (interface{}, error) { return num(k.ServiceResponse.GetStatus()) },
			Exchange{Method: "kong.service.response.get_status", Reply: int64(502)}, 502},
		{"ServiceResponse.GetHeader", func(k *PDK) (interface{}, error) { return str(k.ServiceResponse.GetHeader("server")) },
			Exchange{Method: "kong.service.response.get_header", Args: args("server"), Reply: "up"}, "up"},
		{"ServiceResponse.GetHeaders", func(k *PDK) (interface{}, error) { return k.ServiceResponse.GetHeaders(10) },
			Exchange{Method: "kong.service.response.get_headers", Args: args(int64(10)), Reply: mm}, wantMM},
		{"ServiceResponse.GetRawBody", func(k *PDK) (interface{}, error) { return k.ServiceResponse.GetRawBody() },
			Exchange{Method: "kong.service.response.get_raw_body", Reply: []byte{0, 1}}, []byte{0, 1}},
	}
	for _, c := range cases {
		c.check(t)
	}
}

func TestMemoryStats(t *testing.T) {
	var got node.MemoryStats
	var err error
	Run(t, func(b bridge.PdkBridge) { got, err = Init(b).Node.GetMemoryStats() }, Exchange{
		Method: "kong.node.get_memory_stats",
		Reply: map[string]interface{}{
			"lua_shared_dicts": map[string]interface{}{"kong": map[string]interface{}{"allocated_slabs": int64(12288), "capacity": int64(24576)}},
			"workers_lua_vms":  []interface{}{map[string]interface{}{"http_allocated_gc": int64(1102), "pid": int64(18004)}},
		},
	})
	var want node.MemoryStats
	want.LuaSharedDicts.Kong = node.SharedDictStats{AllocatedSlabs: 12288, Capacity: 24576}
	want.WorkersLuaVms = []node.WorkerLuaVmStats{{HttpAllocatedGc: 1102, Pid: 18004}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v (%v), want %+v", got, err, want)
	}
}

func TestErrorsReachThePlugin(t *testing.T) {
	var err1, err2 error
	Run(t, func(b bridge.PdkBridge) {
		k := Init(b)
		_, err1 = k.Request.GetHeader("host")
		_, err2 = k.Request.GetPort()
	},
		Exchange{Method: "kong.request.get_header", Args: args("host"), Err: "not available in this phase"},
		Exchange{Method: "kong.request.get_port", Reply: "eighty"},
	)
	if err1 == nil || err1.Error() != "not available in this phase" {
		t.Errorf("StepError: %v", err1)
	}
	if err2 == nil || err2.Error() != "expected type: integer" {
		t.Errorf("wrong type: %v", err2)
	}
}
