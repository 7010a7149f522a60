package msgpack

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

func roundTrip(t *testing.T, in interface{}) interface{} {
	t.Helper()
	b, err := Marshal(in)
	if err != nil {
		t.Fatalf("Marshal(%#v): %v", in, err)
	}
	out, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal(Marshal(%#v)): %v", in, err)
	}
	return out
}

func TestKongRequestBytes(t *testing.T) {
	// The bytes of a real gateway request, from PLUGIN-PROTOCOL.md §1.2.
	want := "940001b0706c7567696e2e47657453746174757391c0"
	b, err := Marshal([]interface{}{0, 1, "plugin.GetStatus", []interface{}{nil}})
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestIntegerEdges(t *testing.T) {
	cases := []struct {
		in     int64
		header byte
		size   int
	}{
		{0, 0x00, 1}, {127, 0x7f, 1}, {128, 0xcc, 2}, {255, 0xcc, 2}, {256, 0xcd, 3},
		{65535, 0xcd, 3}, {65536, 0xce, 5}, {math.MaxUint32, 0xce, 5}, {math.MaxUint32 + 1, 0xcf, 9},
		{math.MaxInt64, 0xcf, 9},
		{-1, 0xff, 1}, {-32, 0xe0, 1}, {-33, 0xd0, 2}, {-128, 0xd0, 2}, {-129, 0xd1, 3},
		{-32768, 0xd1, 3}, {-32769, 0xd2, 5}, {math.MinInt32, 0xd2, 5}, {math.MinInt32 - 1, 0xd3, 9},
		{math.MinInt64, 0xd3, 9},
	}
	for _, c := range cases {
		b := AppendInt(nil, c.in)
		if b[0] != c.header || len(b) != c.size {
			t.Errorf("%d: encoded %x, want header %#x and %d bytes", c.in, b, c.header, c.size)
		}
		if got := roundTrip(t, c.in); got != c.in {
			t.Errorf("%d: round trip gave %#v", c.in, got)
		}
	}
	if got := roundTrip(t, uint64(math.MaxUint64)); got != uint64(math.MaxUint64) {
		t.Errorf("MaxUint64: round trip gave %#v", got)
	}
	for _, in := range []interface{}{int8(-5), int16(-300), int32(70000), uint8(200), uint16(60000), uint32(1 << 31)} {
		want := reflect.ValueOf(in).Convert(reflect.TypeOf(int64(0))).Interface()
		if got := roundTrip(t, in); got != want {
			t.Errorf("%T(%v): round trip gave %#v", in, in, got)
		}
	}
}

func TestFloats(t *testing.T) {
	for _, f := range []float64{0, 1.5, -0.25, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(-1)} {
		if got := roundTrip(t, f); got != f {
			t.Errorf("%v: round trip gave %#v", f, got)
		}
	}
	b, _ := Marshal(float32(1.5))
	if len(b) != 5 || b[0] != 0xca {
		t.Errorf("float32 encoded as %x", b)
	}
	if got := roundTrip(t, float32(-2.75)); got != float64(-2.75) {
		t.Errorf("float32 round trip gave %#v", got)
	}
	if got := roundTrip(t, math.NaN()).(float64); !math.IsNaN(got) {
		t.Errorf("NaN round trip gave %v", got)
	}
}

func TestStringAndBinSizes(t *testing.T) {
	strCases := []struct {
		n      int
		header byte
		prefix int
	}{
		{0, 0xa0, 1}, {31, 0xbf, 1}, {32, 0xd9, 2}, {255, 0xd9, 2}, {256, 0xda, 3},
		{65535, 0xda, 3}, {65536, 0xdb, 5}, {200000, 0xdb, 5},
	}
	for _, c := range strCases {
		s := strings.Repeat("x", c.n)
		b := AppendString(nil, s)
		if b[0] != c.header || len(b) != c.n+c.prefix {
			t.Errorf("str of %d: header %#x len %d", c.n, b[0], len(b))
		}
		if got := roundTrip(t, s); got != s {
			t.Errorf("str of %d: round trip mismatch", c.n)
		}
	}
	binCases := []struct {
		n      int
		header byte
	}{{0, 0xc4}, {255, 0xc4}, {256, 0xc5}, {65535, 0xc5}, {65536, 0xc6}, {200000, 0xc6}}
	for _, c := range binCases {
		in := bytes.Repeat([]byte{0, 0xff}, c.n/2+1)[:c.n]
		b := AppendBin(nil, in)
		if b[0] != c.header {
			t.Errorf("bin of %d: header %#x", c.n, b[0])
		}
		got, ok := roundTrip(t, in).([]byte)
		if !ok || !bytes.Equal(got, in) {
			t.Errorf("bin of %d: round trip mismatch", c.n)
		}
	}
}

func TestContainers(t *testing.T) {
	for _, n := range []int{0, 15, 16, 65535, 65536} {
		arr := make([]interface{}, n)
		for i := range arr {
			arr[i] = int64(i % 100)
		}
		if got := roundTrip(t, arr); !reflect.DeepEqual(got, arr) {
			t.Errorf("array of %d: round trip mismatch", n)
		}
	}
	for _, n := range []int{0, 15, 16, 70000} {
		m := make(map[string]interface{}, n)
		for i := 0; i < n; i++ {
			m[strings.Repeat("k", i%40)+string(rune('a'+i%26))+string(rune(i))] = int64(i)
		}
		if got := roundTrip(t, m); !reflect.DeepEqual(got, m) {
			t.Errorf("map of %d: round trip mismatch", len(m))
		}
	}
	nested := map[string]interface{}{
		"Data": map[string]interface{}{
			"Method": "kong.response.exit",
			"Args":   []interface{}{int64(403), []byte("denied"), map[string]interface{}{"x-why": []interface{}{"go"}}},
		},
		"EventId": int64(2),
		"deep":    map[string]interface{}{"a": map[string]interface{}{"b": []interface{}{nil, true, false, -1.5}}},
	}
	if got := roundTrip(t, nested); !reflect.DeepEqual(got, nested) {
		t.Errorf("nested maps: got %#v", got)
	}
}

func TestTypedGoValues(t *testing.T) {
	type entity struct {
		ID      string   `json:"id"`
		Tags    []string `json:"tags,omitempty"`
		Skipped string   `json:"-"`
		Plain   int
		hidden  int
	}
	in := map[string]interface{}{
		"multimap": map[string][]string{"accept": {"a/b", "c/d"}, "empty": {}},
		"entity":   &entity{ID: "42", Tags: []string{"t"}, Skipped: "x", Plain: 7, hidden: 1},
		"nilPtr":   (*entity)(nil),
		"intKeys":  map[int]string{2: "b", 1: "a"},
		"array":    [2]bool{true, false},
		"raw":      Raw{0x93, 0x01, 0x02, 0x03},
		"nilMap":   map[string]string(nil),
		"bare":     entity{ID: "1"},
	}
	want := map[string]interface{}{
		"multimap": map[string]interface{}{"accept": []interface{}{"a/b", "c/d"}, "empty": []interface{}{}},
		"entity":   map[string]interface{}{"id": "42", "tags": []interface{}{"t"}, "Plain": int64(7)},
		"nilPtr":   nil,
		"intKeys":  map[string]interface{}{"1": "a", "2": "b"},
		"array":    []interface{}{true, false},
		"raw":      []interface{}{int64(1), int64(2), int64(3)},
		"nilMap":   nil,
		"bare":     map[string]interface{}{"id": "1", "Plain": int64(0)}, // omitempty
	}
	if got := roundTrip(t, in); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	// An empty Go map must stay a map on the wire: Kong relies on it for
	// empty header tables.
	b, _ := Marshal(map[string][]string{})
	if !bytes.Equal(b, []byte{0x80}) {
		t.Errorf("empty map encoded as %x", b)
	}
	// Map output is sorted, hence deterministic.
	b1, _ := Marshal(map[string]interface{}{"b": 1, "a": 2, "c": 3})
	if !bytes.Equal(b1, []byte{0x83, 0xa1, 'a', 2, 0xa1, 'b', 1, 0xa1, 'c', 3}) {
		t.Errorf("map encoded as %x", b1)
	}
}

func TestDecodeForeignForms(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want interface{}
	}{
		{"str8 short", "d903616263", "abc"},
		{"uint16 small", "cd0005", int64(5)},
		{"int64 positive", "d3000000000000000a", int64(10)},
		{"float32", "ca3fc00000", 1.5},
		{"bin key", "81c40161c3", map[string]interface{}{"a": true}},
		{"lua table with [0]", "82000a010b", map[string]interface{}{"0": int64(10), "1": int64(11)}},
		{"negative key", "81ff01", map[string]interface{}{"-1": int64(1)}},
		{"fixext skipped", "93d4010501d8020102030405060708090a0b0c0d0e0f10", []interface{}{nil, int64(1), nil}},
		{"ext8 and ext32 skipped", "92c70305aabbccc90000000106ff", []interface{}{nil, nil}},
		{"array16", "dc000201c0", []interface{}{int64(1), nil}},
	}
	for _, c := range cases {
		b, _ := hex.DecodeString(c.hex)
		got, err := Unmarshal(b)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, got, c.want)
		}
	}
}

func TestStreamOfConcatenatedObjects(t *testing.T) {
	var stream []byte
	objs := []interface{}{
		[]interface{}{int64(2), "serverPid", int64(1234)},
		[]interface{}{int64(1), int64(1), nil, map[string]interface{}{"Id": int64(0)}},
		"tail",
	}
	for _, o := range objs {
		var err error
		if stream, err = Append(stream, o); err != nil {
			t.Fatal(err)
		}
	}
	// A reader returning one byte at a time proves boundaries come from the
	// encoding, not from read sizes.
	d := NewDecoder(&oneByteReader{r: bytes.NewReader(stream)})
	for i, want := range objs {
		got, err := d.Decode()
		if err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("object %d: got %#v, want %#v", i, got, want)
		}
	}
	if _, err := d.Decode(); err != io.EOF {
		t.Fatalf("after the last object: %v, want io.EOF", err)
	}
}

type oneByteReader struct{ r io.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
		text string
	}{
		{"empty", nil, io.ErrUnexpectedEOF, ""},
		{"truncated array", []byte{0x92, 0x01}, io.ErrUnexpectedEOF, ""},
		{"truncated str", []byte{0xa5, 'a', 'b'}, io.ErrUnexpectedEOF, ""},
		{"truncated uint32", []byte{0xce, 0, 0}, io.ErrUnexpectedEOF, ""},
		{"bogus huge bin", []byte{0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2, 3}, io.ErrUnexpectedEOF, ""},
		{"bogus huge array", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 1}, io.ErrUnexpectedEOF, ""},
		{"never-used byte", []byte{0xc1}, nil, "invalid type byte 0xc1"},
		{"bool map key", []byte{0x81, 0xc3, 0x01}, nil, "unsupported map key"},
		{"trailing bytes", []byte{0x01, 0x02}, nil, "trailing bytes"},
		{"too deep", bytes.Repeat([]byte{0x91}, 1000), nil, "nested deeper"},
	}
	for _, c := range cases {
		_, err := Unmarshal(c.in)
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		case c.text != "" && !strings.Contains(err.Error(), c.text):
			t.Errorf("%s: %v, want it to mention %q", c.name, err, c.text)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	type node struct{ Next *node }
	cyclic := &node{}
	cyclic.Next = cyclic
	cases := map[string]interface{}{
		"channel":       make(chan int),
		"func in slice": []interface{}{func() {}},
		"bool map keys": map[bool]int{true: 1},
		"cyclic":        cyclic,
		"empty raw":     Raw{},
	}
	for name, v := range cases {
		if _, err := Marshal(v); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
