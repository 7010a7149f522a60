// Package response is kong.Response: the response the gateway sends to
// the client, including short-circuiting with Exit (Lua's kong.response).
package response

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// Response holds this module's functions. Accessible as `kong.Response`.
type Response struct {
	bridge.PdkBridge
}

// GetStatus returns the response status (kong.response.get_status).
func (r Response) GetStatus() (int, error) {
	return r.AskInt("kong.response.get_status")
}

// GetHeader returns the first value of a response header, "" if absent
// (kong.response.get_header).
func (r Response) GetHeader(name string) (string, error) {
	return r.AskString("kong.response.get_header", name)
}

// GetHeaders returns the response headers; maxHeaders limits how many (-1:
// the gateway's default of 100) (kong.response.get_headers).
func (r Response) GetHeaders(maxHeaders int) (map[string][]string, error) {
	if maxHeaders == -1 {
		return r.AskMap("kong.response.get_headers")
	}
	return r.AskMap("kong.response.get_headers", maxHeaders)
}

// GetSource returns where the response comes from: "service", "exit" or
// "error" (kong.response.get_source).
func (r Response) GetSource() (string, error) {
	return r.AskString("kong.response.get_source")
}

// SetStatus sets the response status (kong.response.set_status).
func (r Response) SetStatus(status int) error {
	return r.Tell("kong.response.set_status", status)
}

// SetHeader sets a response header, replacing its values
// (kong.response.set_header).
func (r Response) SetHeader(k string, v string) error {
	return r.Tell("kong.response.set_header", k, v)
}

// AddHeader adds a value to a response header (kong.response.add_header).
func (r Response) AddHeader(k string, v string) error {
	return r.Tell("kong.response.add_header", k, v)
}

// ClearHeader removes a response header (kong.response.clear_header).
func (r Response) ClearHeader(k string) error {
	return r.Tell("kong.response.clear_header", k)
}

// SetHeaders sets several response headers; others are kept
// (kong.response.set_headers).
func (r Response) SetHeaders(headers map[string][]string) error {
	if headers == nil {
		headers = map[string][]string{}
	}
	return r.Tell("kong.response.set_headers", headers)
}

// GetRawBody returns the response body in the body_filter phase
// (kong.response.get_raw_body; a Sluice addition to go-pdk's API).
func (r Response) GetRawBody() ([]byte, error) {
	return r.AskBytes("kong.response.get_raw_body")
}

// SetRawBody replaces the response body in the body_filter phase
// (kong.response.set_raw_body; a Sluice addition to go-pdk's API).
func (r Response) SetRawBody(body []byte) error {
	if body == nil {
		body = []byte{}
	}
	return r.Tell("kong.response.set_raw_body", body)
}

// Exit ends the request with this response, skipping the remaining
// plugins of the phase and the upstream (kong.response.exit). The event
// ends with it: return from the handler right after; later PDK calls fail.
// body goes as-is (msgpack bin); headers may be nil.
func (r Response) Exit(status int, body []byte, headers map[string][]string) {
	args := []interface{}{status, body}
	if headers != nil {
		args = append(args, headers)
	}
	// The gateway never answers a terminal call, so there is no error to
	// report but an encoding one, which cannot happen with these types.
	_, _ = r.Ask("kong.response.exit", args...)
}

// ExitStatus ends the request with an empty response of this status
// (kong.response.exit).
func (r Response) ExitStatus(status int) {
	_, _ = r.Ask("kong.response.exit", status)
}
