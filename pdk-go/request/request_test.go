package request

import (
	"reflect"
	"testing"

	"github.com/sluice-gw/sluice/pdk-go/bridge"
	"github.com/sluice-gw/sluice/pdk-go/internal/pdktest"
)

func TestGetUriCaptures(t *testing.T) {
	cases := []struct {
		name        string
		reply       interface{}
		unnamed     [][]byte
		named       map[string][]byte
		errExpected bool
	}{
		{
			// Lua numbers the captures from 0, so a msgpack encoder sends an
			// integer-keyed map; order must follow the integers, not text.
			name: "lua table from 0",
			reply: map[string]interface{}{
				"unnamed": map[string]interface{}{"0": "/users/42/x", "1": "42", "2": "x", "10": "ten"},
				"named":   map[string]interface{}{"id": []byte("42"), "opt": false},
			},
			unnamed: [][]byte{[]byte("/users/42/x"), []byte("42"), []byte("x"), []byte("ten")},
			named:   map[string][]byte{"id": []byte("42"), "opt": nil},
		},
		{
			name:    "plain array, empty named table as array",
			reply:   map[string]interface{}{"unnamed": []interface{}{"/a", "a"}, "named": []interface{}{}},
			unnamed: [][]byte{[]byte("/a"), []byte("a")},
			named:   map[string][]byte{},
		},
		{name: "wrong shape", reply: "x", errExpected: true},
		{name: "bad capture", reply: map[string]interface{}{"unnamed": []interface{}{int64(1)}}, errExpected: true},
	}
	for _, c := range cases {
		var unnamed [][]byte
		var named map[string][]byte
		var err error
		pdktest.Run(t, func(b bridge.PdkBridge) { unnamed, named, err = Request{b}.GetUriCaptures() },
			pdktest.Exchange{Method: "kong.request.get_uri_captures", Reply: c.reply})
		if c.errExpected {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(unnamed, c.unnamed) || !reflect.DeepEqual(named, c.named) {
			t.Errorf("%s: got %q %q %v", c.name, unnamed, named, err)
		}
	}
}

// Headers the gateway sent with the event answer GetHeader and GetHeaders as
// the gateway would, without a round trip, until the handler calls
// kong.service.request (which may change them).
func TestHeadersSentWithTheEvent(t *testing.T) {
	ev := bridge.NewEvent()
	ev.Defer()
	ev.SetRequestHeaders(map[string]interface{}{
		"host":      "example.com",
		"x-api-key": []byte("k1"),
		"accept":    []interface{}{"a/b", "c/d"},
	})
	var got []interface{}
	pdktest.RunEvent(t, ev, func(b bridge.PdkBridge) {
		r := Request{b}
		for _, name := range []string{"Host", "X_API_KEY", "accept", "x-missing"} {
			v, err := r.GetHeader(name)
			got = append(got, v, err)
		}
		all, err := r.GetHeaders(-1)
		got = append(got, all, err)
		few, err := r.GetHeaders(3) // 4 lines: the gateway truncates
		got = append(got, few, err)
		_ = b.Tell("kong.service.request.set_header", "host", "changed.example")
		host, err := r.GetHeader("host")
		got = append(got, host, err)
	},
		pdktest.Exchange{Method: "kong.request.get_headers", Args: []interface{}{int64(3)},
			Reply: map[string]interface{}{"host": []interface{}{"example.com"}}},
		pdktest.Exchange{Method: "kong.request.get_header", Args: []interface{}{"host"},
			Reply: "changed.example"},
	)
	want := []interface{}{
		"example.com", nil, "k1", nil, "a/b", nil, "", nil,
		map[string][]string{"host": {"example.com"}, "x-api-key": {"k1"}, "accept": {"a/b", "c/d"}}, nil,
		map[string][]string{"host": {"example.com"}}, nil,
		"changed.example", nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}
