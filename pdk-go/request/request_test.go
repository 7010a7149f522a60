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
