package bridge

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-gw/sluice/pdk-go/msgpack"
)

// socketPair returns the two ends of a connected AF_UNIX stream socket.
func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns[0], conns[1]
}

func mustMarshal(t *testing.T, v interface{}) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFramingOnUnixSocket(t *testing.T) {
	gw, srv := socketPair(t)
	conn := NewConn(srv)

	// Two requests and a notification in one write, then a request split
	// across two writes: boundaries must come from the msgpack encoding.
	var burst []byte
	burst = append(burst, mustMarshal(t, []interface{}{0, 1, "plugin.GetStatus", []interface{}{nil}})...)
	burst = append(burst, mustMarshal(t, []interface{}{2, "hello", 1})...)
	burst = append(burst, mustMarshal(t, []interface{}{0, 2, "plugin.CloseInstance", []interface{}{7}})...)
	split := mustMarshal(t, []interface{}{0, 3, "plugin.StartInstance", []interface{}{
		map[string]interface{}{"Name": "go-hello", "Config": strings.Repeat(`{"message":"hi"}`, 100)},
	}})
	go func() {
		gw.Write(burst)
		gw.Write(split[:7])
		gw.Write(split[7:])
	}()

	want := []Request{
		{ID: 1, Method: "plugin.GetStatus", Params: []interface{}{nil}},
		{ID: 2, Method: "plugin.CloseInstance", Params: []interface{}{int64(7)}},
		{ID: 3, Method: "plugin.StartInstance", Params: []interface{}{map[string]interface{}{
			"Name": "go-hello", "Config": strings.Repeat(`{"message":"hi"}`, 100),
		}}},
	}
	for i, w := range want {
		got, err := conn.ReadRequest()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("request %d: got %#v, want %#v", i, got, w)
		}
	}
	if got := want[1].Arg(); got != int64(7) {
		t.Fatalf("Arg() = %#v", got)
	}

	// Responses and notifications, exactly as msgpack-RPC lays them out.
	if err := conn.WriteNotification("serverPid", 4242); err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteResponse(1, nil, map[string]interface{}{"Pid": 4242}); err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteResponse(2, errors.New("no plugin instance 7"), "ignored"); err != nil {
		t.Fatal(err)
	}
	expect := [][]byte{
		mustMarshal(t, []interface{}{2, "serverPid", 4242}),
		mustMarshal(t, []interface{}{1, 1, nil, map[string]interface{}{"Pid": 4242}}),
		mustMarshal(t, []interface{}{1, 2, "no plugin instance 7", nil}),
	}
	wantBytes := bytes.Join(expect, nil)
	got := make([]byte, len(wantBytes))
	if _, err := io.ReadFull(gw, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantBytes) {
		t.Fatalf("wire bytes\n got %x\nwant %x", got, wantBytes)
	}

	gw.Close()
	if _, err := conn.ReadRequest(); err != io.EOF {
		t.Fatalf("after close: %v, want io.EOF", err)
	}
}

func TestMalformedRequests(t *testing.T) {
	cases := map[string]interface{}{
		"not an array":     "plugin.GetStatus",
		"response":         []interface{}{1, 1, nil, nil},
		"short request":    []interface{}{0, 1, "plugin.GetStatus"},
		"string msgid":     []interface{}{0, "1", "plugin.GetStatus", []interface{}{}},
		"numeric method":   []interface{}{0, 1, 5, []interface{}{}},
		"non-integer type": []interface{}{"0", 1, "plugin.GetStatus", []interface{}{}},
	}
	for name, msg := range cases {
		gw, srv := socketPair(t)
		go gw.Write(mustMarshal(t, msg))
		if _, err := NewConn(srv).ReadRequest(); err == nil || err == io.EOF {
			t.Errorf("%s: err %v", name, err)
		}
	}

	gw, srv := socketPair(t)
	go func() {
		gw.Write([]byte{0x94, 0x00, 0x01})
		gw.Close()
	}()
	if _, err := NewConn(srv).ReadRequest(); err != io.ErrUnexpectedEOF {
		t.Errorf("truncated request: %v", err)
	}
}

func TestUnencodableResponseWritesNothing(t *testing.T) {
	gw, srv := socketPair(t)
	conn := NewConn(srv)
	if err := conn.WriteResponse(1, nil, make(chan int)); err == nil {
		t.Fatal("no error")
	}
	if err := conn.WriteResponse(1, nil, "ok"); err != nil {
		t.Fatal(err)
	}
	want := mustMarshal(t, []interface{}{1, 1, nil, "ok"})
	got := make([]byte, len(want))
	if _, err := io.ReadFull(gw, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %x (%v), want %x", got, err, want)
	}
}
