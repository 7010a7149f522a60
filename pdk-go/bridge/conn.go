package bridge

import (
	"fmt"
	"io"

	"github.com/sluice-gw/sluice/pdk-go/msgpack"
)

// msgpack-RPC message types (the first element of every message).
const (
	typeRequest      = 0
	typeResponse     = 1
	typeNotification = 2
)

// Request is one msgpack-RPC request, [0, msgid, method, params]. Kong's
// params are always a one-element array holding the method's argument.
type Request struct {
	ID     int64
	Method string
	Params []interface{}
}

// Arg is the request's single argument (nil when params is empty).
func (r Request) Arg() interface{} {
	if len(r.Params) == 0 {
		return nil
	}
	return r.Params[0]
}

// Conn frames msgpack-RPC on one stream connection, as MsgPack:1 does:
// concatenated msgpack objects with no length prefix, one call outstanding
// at a time. It is not safe for concurrent use.
type Conn struct {
	w   io.Writer
	dec *msgpack.Decoder
	buf []byte
}

// NewConn returns a Conn on rw (typically a unix socket connection).
func NewConn(rw io.ReadWriter) *Conn {
	return &Conn{w: rw, dec: msgpack.NewDecoder(rw)}
}

// ReadRequest reads the next request. Notifications from the peer are
// skipped. io.EOF means the peer closed the connection between messages;
// any other error means the stream is unusable.
func (c *Conn) ReadRequest() (Request, error) {
	for {
		v, err := c.dec.Decode()
		if err != nil {
			return Request{}, err
		}
		msg, ok := v.([]interface{})
		if !ok || len(msg) == 0 {
			return Request{}, fmt.Errorf("malformed msgpack-RPC message %#v: not an array", v)
		}
		kind, ok := ToInt(msg[0])
		if !ok {
			return Request{}, fmt.Errorf("malformed msgpack-RPC message: type %#v", msg[0])
		}
		if kind == typeNotification {
			continue
		}
		if kind != typeRequest || len(msg) != 4 {
			return Request{}, fmt.Errorf("expected a msgpack-RPC request [0, msgid, method, params], got %#v", v)
		}
		return parseRequest(msg)
	}
}

func parseRequest(msg []interface{}) (Request, error) {
	var req Request
	var ok bool
	if req.ID, ok = msg[1].(int64); !ok {
		return req, fmt.Errorf("malformed msgpack-RPC request: msgid %#v", msg[1])
	}
	if req.Method, ok = ToString(msg[2]); !ok {
		return req, fmt.Errorf("malformed msgpack-RPC request: method %#v", msg[2])
	}
	switch p := msg[3].(type) {
	case nil:
	case []interface{}:
		req.Params = p
	default:
		// msgpack-RPC requires an array; accept a bare argument like Kong's
		// own unpacking of a non-table Args does.
		req.Params = []interface{}{p}
	}
	return req, nil
}

// WriteResponse writes [1, msgid, error, result]: error is nil on success,
// else its text.
func (c *Conn) WriteResponse(id int64, rpcErr error, result interface{}) error {
	var errValue interface{}
	if rpcErr != nil {
		errValue = rpcErr.Error()
		result = nil
	}
	return c.write([]interface{}{typeResponse, id, errValue, result})
}

// WriteNotification writes [2, label, arg], e.g. Go plugin servers'
// [2, "serverPid", pid] greeting.
func (c *Conn) WriteNotification(label string, arg interface{}) error {
	return c.write([]interface{}{typeNotification, label, arg})
}

// write encodes the whole message first, so a message is one write and an
// encoding failure never leaves half a message on the stream.
func (c *Conn) write(msg []interface{}) error {
	buf, err := msgpack.Append(c.buf[:0], msg)
	if err != nil {
		return err
	}
	c.buf = buf
	_, err = c.w.Write(buf)
	return err
}
