// Package response is kong.ServiceResponse: the response the upstream
// service sent (Lua's kong.service.response).
package response

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// Response holds this module's functions. Accessible as
// `kong.ServiceResponse`.
type Response struct {
	bridge.PdkBridge
}

// GetStatus returns the upstream response status
// (kong.service.response.get_status).
func (r Response) GetStatus() (int, error) {
	return r.AskInt("kong.service.response.get_status")
}

// GetHeaders returns the upstream response headers; maxHeaders limits how
// many (-1: the gateway's default of 100)
// (kong.service.response.get_headers).
func (r Response) GetHeaders(maxHeaders int) (map[string][]string, error) {
	if maxHeaders == -1 {
		return r.AskMap("kong.service.response.get_headers")
	}
	return r.AskMap("kong.service.response.get_headers", maxHeaders)
}

// GetHeader returns the first value of an upstream response header, "" if
// absent (kong.service.response.get_header).
func (r Response) GetHeader(name string) (string, error) {
	return r.AskString("kong.service.response.get_header", name)
}

// GetRawBody returns the upstream response body; it needs a buffered
// response (kong.service.response.get_raw_body).
func (r Response) GetRawBody() ([]byte, error) {
	return r.AskBytes("kong.service.response.get_raw_body")
}
