// Package request is kong.ServiceRequest: changes to the request the
// gateway sends upstream (Lua's kong.service.request).
package request

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// Request holds this module's functions. Accessible as
// `kong.ServiceRequest`.
type Request struct {
	bridge.PdkBridge
}

// SetScheme sets the upstream protocol, "http" or "https"
// (kong.service.request.set_scheme).
func (r Request) SetScheme(scheme string) error {
	return r.Tell("kong.service.request.set_scheme", scheme)
}

// SetPath sets the upstream path (kong.service.request.set_path).
func (r Request) SetPath(path string) error {
	return r.Tell("kong.service.request.set_path", path)
}

// SetRawQuery sets the upstream query string, without the leading "?"
// (kong.service.request.set_raw_query).
func (r Request) SetRawQuery(query string) error {
	return r.Tell("kong.service.request.set_raw_query", query)
}

// SetMethod sets the upstream HTTP method (kong.service.request.set_method).
func (r Request) SetMethod(method string) error {
	return r.Tell("kong.service.request.set_method", method)
}

// SetQuery replaces the upstream query arguments
// (kong.service.request.set_query).
func (r Request) SetQuery(args map[string][]string) error {
	return r.Tell("kong.service.request.set_query", emptyIsMap(args))
}

// SetHeader sets an upstream request header, replacing its values
// (kong.service.request.set_header).
func (r Request) SetHeader(name string, value string) error {
	return r.Tell("kong.service.request.set_header", name, value)
}

// AddHeader adds a value to an upstream request header
// (kong.service.request.add_header).
func (r Request) AddHeader(name string, value string) error {
	return r.Tell("kong.service.request.add_header", name, value)
}

// ClearHeader removes an upstream request header
// (kong.service.request.clear_header).
func (r Request) ClearHeader(name string) error {
	return r.Tell("kong.service.request.clear_header", name)
}

// SetHeaders sets several upstream request headers; others are kept
// (kong.service.request.set_headers).
func (r Request) SetHeaders(headers map[string][]string) error {
	return r.Tell("kong.service.request.set_headers", emptyIsMap(headers))
}

// SetRawBody sets the upstream request body
// (kong.service.request.set_raw_body).
func (r Request) SetRawBody(body []byte) error {
	if body == nil {
		body = []byte{}
	}
	return r.Tell("kong.service.request.set_raw_body", body)
}

// emptyIsMap keeps a nil map from turning into Lua nil: these functions
// want a table.
func emptyIsMap(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}
