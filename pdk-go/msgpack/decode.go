package msgpack

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Decoder reads concatenated MessagePack objects from a stream, one per
// Decode call: MsgPack:1 has no length prefix, so object boundaries come
// from the encoding itself.
//
// Decoded values are: nil; bool; int64 (uint64 only above math.MaxInt64);
// float64 (float 32 is widened); string for str; []byte for bin;
// []interface{} for array; map[string]interface{} for map, where integer
// keys become their decimal text (Lua tables with holes or a [0] arrive as
// integer-keyed maps). Ext values are skipped and decode as nil.
type Decoder struct {
	r *bufio.Reader
}

// NewDecoder returns a Decoder reading from r, buffered unless r already is
// a *bufio.Reader.
func NewDecoder(r io.Reader) *Decoder {
	if br, ok := r.(*bufio.Reader); ok {
		return &Decoder{r: br}
	}
	return &Decoder{r: bufio.NewReader(r)}
}

// Decode reads the next object. It returns io.EOF when the stream ends
// cleanly between objects and io.ErrUnexpectedEOF when it ends inside one.
func (d *Decoder) Decode() (interface{}, error) {
	if _, err := d.r.Peek(1); err != nil {
		return nil, err
	}
	return d.value(0)
}

// Unmarshal decodes exactly one object from b; trailing bytes are an error.
func Unmarshal(b []byte) (interface{}, error) {
	r := bytes.NewReader(b)
	d := &Decoder{r: bufio.NewReader(r)}
	v, err := d.Decode()
	if err == io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	if _, err := d.r.ReadByte(); err != io.EOF {
		return nil, errors.New("msgpack: trailing bytes after the object")
	}
	return v, nil
}

func (d *Decoder) value(depth int) (interface{}, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("msgpack: input nested deeper than %d levels", maxDepth)
	}
	c, err := d.r.ReadByte()
	if err != nil {
		return nil, unexpected(err)
	}
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c&0xe0 == 0xa0:
		return d.str(uint64(c & 0x1f))
	case c&0xf0 == 0x90:
		return d.array(uint64(c&0x0f), depth)
	case c&0xf0 == 0x80:
		return d.mapOf(uint64(c&0x0f), depth)
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err := d.uint(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		if u > math.MaxInt64 {
			return u, nil
		}
		return int64(u), nil
	case 0xd0:
		u, err := d.uint(1)
		return int64(int8(u)), err
	case 0xd1:
		u, err := d.uint(2)
		return int64(int16(u)), err
	case 0xd2:
		u, err := d.uint(4)
		return int64(int32(u)), err
	case 0xd3:
		u, err := d.uint(8)
		return int64(u), err
	case 0xca:
		u, err := d.uint(4)
		return float64(math.Float32frombits(uint32(u))), err
	case 0xcb:
		u, err := d.uint(8)
		return math.Float64frombits(u), err
	case 0xd9, 0xda, 0xdb:
		n, err := d.uint(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return d.str(n)
	case 0xc4, 0xc5, 0xc6:
		n, err := d.uint(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		return d.readN(n)
	case 0xdc, 0xdd:
		n, err := d.uint(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.array(n, depth)
	case 0xde, 0xdf:
		n, err := d.uint(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.mapOf(n, depth)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1..16: type byte + data
		return nil, d.skip(1 + 1<<(c-0xd4))
	case 0xc7, 0xc8, 0xc9: // ext 8/16/32: length, type byte, data
		n, err := d.uint(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return nil, d.skip(1 + n)
	}
	return nil, fmt.Errorf("msgpack: invalid type byte 0x%02x", c)
}

// uint reads an n-byte big-endian unsigned integer (n is 1, 2, 4 or 8).
func (d *Decoder) uint(n int) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(d.r, b[8-n:]); err != nil {
		return 0, unexpected(err)
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

func (d *Decoder) str(n uint64) (interface{}, error) {
	b, err := d.readN(n)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// readN reads n bytes, growing the buffer as data arrives so that a bogus
// length in hostile input cannot force a huge allocation up front.
func (d *Decoder) readN(n uint64) ([]byte, error) {
	const direct = 64 << 10
	if n <= direct {
		b := make([]byte, n)
		if _, err := io.ReadFull(d.r, b); err != nil {
			return nil, unexpected(err)
		}
		return b, nil
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, d.r, int64(n)); err != nil {
		return nil, unexpected(err)
	}
	return buf.Bytes(), nil
}

func (d *Decoder) skip(n uint64) error {
	if _, err := io.CopyN(io.Discard, d.r, int64(n)); err != nil {
		return unexpected(err)
	}
	return nil
}

// prealloc caps the capacity reserved from a length read off the wire.
func prealloc(n uint64) int {
	if n > 1024 {
		return 1024
	}
	return int(n)
}

func (d *Decoder) array(n uint64, depth int) (interface{}, error) {
	a := make([]interface{}, 0, prealloc(n))
	for i := uint64(0); i < n; i++ {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
	return a, nil
}

func (d *Decoder) mapOf(n uint64, depth int) (interface{}, error) {
	m := make(map[string]interface{}, prealloc(n))
	for i := uint64(0); i < n; i++ {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		key, err := mapKey(k)
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	return m, nil
}

func mapKey(k interface{}) (string, error) {
	switch k := k.(type) {
	case string:
		return k, nil
	case []byte:
		return string(k), nil
	case int64:
		return strconv.FormatInt(k, 10), nil
	case uint64:
		return strconv.FormatUint(k, 10), nil
	}
	return "", fmt.Errorf("msgpack: unsupported map key %#v (want a string or an integer)", k)
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
