package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/pdk-go"
)

type Base struct {
	Shared string `json:"shared"`
}

type schemaConfig struct {
	Base
	Name     string            `json:"name"`
	Count    int               `json:"count,omitempty"`
	Ratio    float64           // no tag: lower-cased name
	Enabled  bool              `json:"enabled"`
	Limit    uint32            `json:"limit"`
	Keys     []string          `json:"keys"`
	Headers  map[string]string `json:"headers"`
	Nested   *struct{ Deep []int }
	Any      interface{} `json:"any"` // no Kong type: left out
	Ignored  string      `json:"-"`
	internal string
}

func (c *schemaConfig) Access(kong *pdk.PDK)       {}
func (c *schemaConfig) BodyFilter(kong *pdk.PDK)   {}
func (c *schemaConfig) Certificate(kong *pdk.PDK)  {}
func (c *schemaConfig) HeaderFilter(kong *pdk.PDK) {}

func TestDumpShape(t *testing.T) {
	var out bytes.Buffer
	err := run("go-schema", []string{"-dump", "-kong-prefix", "/run/sluice"}, &out,
		func() interface{} { return &schemaConfig{} }, "0.2.0", 7)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "}\n") || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("want one line of JSON, got %q", out.String())
	}
	var got interface{}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	str := map[string]interface{}{"type": "string"}
	want := map[string]interface{}{
		"Protocol":   "MsgPack:1",
		"SocketPath": "/run/sluice/go-schema.socket",
		"Extensions": []interface{}{"Deferred", "RequestHeaders"},
		"Plugins": []interface{}{map[string]interface{}{
			"Name":     "go-schema",
			"Phases":   []interface{}{"certificate", "access", "header_filter", "body_filter"},
			"Version":  "0.2.0",
			"Priority": 7.0,
			"Schema": map[string]interface{}{
				"name": "go-schema",
				"fields": []interface{}{map[string]interface{}{"config": map[string]interface{}{
					"type": "record",
					"fields": []interface{}{
						map[string]interface{}{"shared": str},
						map[string]interface{}{"name": str},
						map[string]interface{}{"count": map[string]interface{}{"type": "integer"}},
						map[string]interface{}{"ratio": map[string]interface{}{"type": "number"}},
						map[string]interface{}{"enabled": map[string]interface{}{"type": "boolean"}},
						map[string]interface{}{"limit": map[string]interface{}{"type": "integer", "between": []interface{}{0.0, 2147483648.0}}},
						map[string]interface{}{"keys": map[string]interface{}{"type": "array", "elements": str}},
						map[string]interface{}{"headers": map[string]interface{}{"type": "map", "keys": str, "values": str}},
						map[string]interface{}{"nested": map[string]interface{}{"type": "record", "fields": []interface{}{
							map[string]interface{}{"deep": map[string]interface{}{"type": "array", "elements": map[string]interface{}{"type": "integer"}}},
						}}},
					},
				}}},
			},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("dump:\n%s", g)
	}
}

type emptyConfig struct{}

func (emptyConfig) Access(kong *pdk.PDK) {}

func TestEmptyConfigAndDefaultPrefix(t *testing.T) {
	var out bytes.Buffer
	if err := run("go-empty", []string{"-dump"}, &out, func() interface{} { return &emptyConfig{} }, "1.0.0", 0); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"SocketPath":"/usr/local/kong/go-empty.socket"`,
		`"Phases":["access"]`,
		`{"config":{"fields":[],"type":"record"}}`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dump %s lacks %s", out.String(), want)
		}
	}
}

type badHandler struct{}

func (badHandler) Access(s string) {}

type noHandler struct{ A string }

func TestRunRejectsBadInput(t *testing.T) {
	good := func() interface{} { return &testConfig{} }
	cases := []struct {
		name string
		args []string
		ctor func() interface{}
		want string
	}{
		{"unknown flag", []string{"-nope"}, good, "flag provided but not defined"},
		{"extra argument", []string{"-dump", "extra"}, good, "unexpected arguments"},
		{"non-pointer config", []string{"-dump"}, func() interface{} { return testConfig{} }, "non-nil pointer"},
		{"nil config", []string{"-dump"}, func() interface{} { return nil }, "non-nil pointer"},
		{"nil constructor", []string{"-dump"}, nil, "nil plugin constructor"},
		{"wrong handler signature", []string{"-dump"}, func() interface{} { return &badHandler{} }, "a phase handler is func(kong *pdk.PDK)"},
		{"no handler", []string{"-dump"}, func() interface{} { return &noHandler{} }, "has no phase handler"},
		{"listen failure", []string{"-kong-prefix", "/nonexistent/dir"}, good, "/nonexistent/dir/go-bad.socket"},
	}
	for _, c := range cases {
		err := run("go-bad", c.args, io.Discard, c.ctor, "1.0.0", 0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if err := run("go-bad", []string{"-help"}, io.Discard, good, "1.0.0", 0); err != flag.ErrHelp {
		t.Errorf("-help: %v", err)
	}
}

func TestServerProcsLeavesHalfTheCPUsToTheGateway(t *testing.T) {
	for cpus, want := range map[int]int{1: 1, 2: 1, 3: 1, 4: 2, 16: 8} {
		if got := serverProcs(cpus); got != want {
			t.Errorf("serverProcs(%d) = %d, want %d", cpus, got, want)
		}
	}
}
