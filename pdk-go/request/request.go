// Package request is kong.Request: the request the client sent (Lua's
// kong.request).
package request

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// Request holds this module's functions. Accessible as `kong.Request`.
type Request struct {
	bridge.PdkBridge
}

// GetScheme returns the request's scheme, lower-cased
// (kong.request.get_scheme).
func (r Request) GetScheme() (string, error) {
	return r.AskString("kong.request.get_scheme")
}

// GetHost returns the request's host, lower-cased (kong.request.get_host).
func (r Request) GetHost() (string, error) {
	return r.AskString("kong.request.get_host")
}

// GetPort returns the port the request was received on
// (kong.request.get_port).
func (r Request) GetPort() (int, error) {
	return r.AskInt("kong.request.get_port")
}

// GetForwardedScheme returns the scheme, considering X-Forwarded-Proto
// from trusted sources (kong.request.get_forwarded_scheme).
func (r Request) GetForwardedScheme() (string, error) {
	return r.AskString("kong.request.get_forwarded_scheme")
}

// GetForwardedHost returns the host, considering X-Forwarded-Host from
// trusted sources (kong.request.get_forwarded_host).
func (r Request) GetForwardedHost() (string, error) {
	return r.AskString("kong.request.get_forwarded_host")
}

// GetForwardedPort returns the port, considering X-Forwarded-Port from
// trusted sources (kong.request.get_forwarded_port).
func (r Request) GetForwardedPort() (int, error) {
	return r.AskInt("kong.request.get_forwarded_port")
}

// GetHttpVersion returns the HTTP version as a number, e.g. 1.1
// (kong.request.get_http_version).
func (r Request) GetHttpVersion() (float64, error) {
	return r.AskFloat("kong.request.get_http_version")
}

// GetMethod returns the request method, upper-cased
// (kong.request.get_method).
func (r Request) GetMethod() (string, error) {
	return r.AskString("kong.request.get_method")
}

// GetPath returns the request path, without the query string
// (kong.request.get_path).
func (r Request) GetPath() (string, error) {
	return r.AskString("kong.request.get_path")
}

// GetPathWithQuery returns the path with the query string
// (kong.request.get_path_with_query).
func (r Request) GetPathWithQuery() (string, error) {
	return r.AskString("kong.request.get_path_with_query")
}

// GetRawQuery returns the query string without the leading "?"
// (kong.request.get_raw_query).
func (r Request) GetRawQuery() (string, error) {
	return r.AskString("kong.request.get_raw_query")
}

// GetQueryArg returns the first value of query argument k, "" if absent
// (kong.request.get_query_arg).
func (r Request) GetQueryArg(k string) (string, error) {
	v, err := r.Ask("kong.request.get_query_arg", k)
	if err != nil || v == nil || v == true { // true: an argument without a value, ?k
		return "", err
	}
	s, ok := bridge.ToString(v)
	if !ok {
		return "", bridge.ReturnTypeError("string")
	}
	return s, nil
}

// GetQuery returns the query arguments; maxArgs limits how many (-1: the
// gateway's default of 100) (kong.request.get_query).
func (r Request) GetQuery(maxArgs int) (map[string][]string, error) {
	if maxArgs == -1 {
		return r.AskMap("kong.request.get_query")
	}
	return r.AskMap("kong.request.get_query", maxArgs)
}

// GetHeader returns the first value of request header k, "" if absent
// (kong.request.get_header).
func (r Request) GetHeader(k string) (string, error) {
	if headers, ok := r.RequestHeaders(); ok && utf8.ValidString(k) {
		// The gateway's lookup: any case, "_" standing for "-"; the first value.
		v := headers[strings.ToLower(strings.ReplaceAll(k, "_", "-"))]
		if list, ok := v.([]interface{}); ok && len(list) > 0 {
			v = list[0]
		}
		s, _ := bridge.ToString(v)
		return s, nil
	}
	return r.AskString("kong.request.get_header", k)
}

// GetHeaders returns the request headers; maxHeaders limits how many (-1:
// the gateway's default of 100) (kong.request.get_headers).
func (r Request) GetHeaders(maxHeaders int) (map[string][]string, error) {
	if headers, ok := r.RequestHeaders(); ok && (maxHeaders == -1 || maxHeaders >= 1 && lines(headers) <= maxHeaders) {
		if m, ok := bridge.ToMultiMap(headers); ok {
			return m, nil
		}
	}
	if maxHeaders == -1 {
		return r.AskMap("kong.request.get_headers")
	}
	return r.AskMap("kong.request.get_headers", maxHeaders)
}

// lines counts header lines: a repeated header once per value.
func lines(headers map[string]interface{}) int {
	n := 0
	for _, v := range headers {
		if list, ok := v.([]interface{}); ok {
			n += len(list)
		} else {
			n++
		}
	}
	return n
}

// GetRawBody returns the request body (kong.request.get_raw_body).
func (r Request) GetRawBody() ([]byte, error) {
	return r.AskBytes("kong.request.get_raw_body")
}

// GetUriCaptures returns the regex captures of the matched route path:
// the unnamed ones in order (the whole match first) and the named ones
// (kong.request.get_uri_captures).
func (r Request) GetUriCaptures() ([][]byte, map[string][]byte, error) {
	v, err := r.Ask("kong.request.get_uri_captures")
	if err != nil || v == nil {
		return nil, nil, err
	}
	t, ok := v.(map[string]interface{})
	if !ok {
		return nil, nil, bridge.ReturnTypeError("{unnamed, named} table")
	}
	unnamed, ok := unnamedCaptures(t["unnamed"])
	if !ok {
		return nil, nil, bridge.ReturnTypeError("list of unnamed captures")
	}
	named := map[string][]byte{}
	if m, isMap := t["named"].(map[string]interface{}); isMap {
		for k, c := range m {
			b, ok := captureBytes(c)
			if !ok {
				return nil, nil, bridge.ReturnTypeError("named capture")
			}
			named[k] = b
		}
	}
	return unnamed, named, nil
}

// unnamedCaptures reads Lua's captures list. Lua numbers it from 0 (the
// whole match), which a msgpack encoder sends as an integer-keyed map; a
// plain array is taken in order.
func unnamedCaptures(v interface{}) ([][]byte, bool) {
	switch v := v.(type) {
	case nil:
		return [][]byte{}, true
	case []interface{}:
		out := make([][]byte, 0, len(v))
		for _, c := range v {
			b, ok := captureBytes(c)
			if !ok {
				return nil, false
			}
			out = append(out, b)
		}
		return out, true
	case map[string]interface{}:
		idx := make([]int, 0, len(v))
		for k := range v {
			i, err := strconv.Atoi(k)
			if err != nil {
				return nil, false
			}
			idx = append(idx, i)
		}
		sort.Ints(idx)
		out := make([][]byte, 0, len(idx))
		for _, i := range idx {
			b, ok := captureBytes(v[strconv.Itoa(i)])
			if !ok {
				return nil, false
			}
			out = append(out, b)
		}
		return out, true
	}
	return nil, false
}

func captureBytes(v interface{}) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return []byte(v), true
	case []byte:
		return v, true
	case bool:
		return nil, !v // false: an optional group that did not match
	}
	return nil, false
}
