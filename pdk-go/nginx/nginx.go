// Package nginx is kong.Nginx: nginx variables, the request's ngx.ctx and
// other nginx-level facts (Lua's kong.nginx).
package nginx

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// Nginx holds this module's functions. Accessible as `kong.Nginx`.
type Nginx struct {
	bridge.PdkBridge
}

// GetVar returns the nginx variable k, e.g. "remote_addr"
// (kong.nginx.get_var).
func (n Nginx) GetVar(k string) (string, error) {
	return n.AskString("kong.nginx.get_var", k)
}

// GetTLS1VersionStr returns the TLS version of the downstream connection
// (kong.nginx.get_tls1_version_str).
func (n Nginx) GetTLS1VersionStr() (string, error) {
	return n.AskString("kong.nginx.get_tls1_version_str")
}

// SetCtx sets ngx.ctx[k] = v for the current request (kong.nginx.set_ctx).
func (n Nginx) SetCtx(k string, v interface{}) error {
	return n.Tell("kong.nginx.set_ctx", k, v)
}

// GetCtxAny returns ngx.ctx[k] as decoded from msgpack
// (kong.nginx.get_ctx).
func (n Nginx) GetCtxAny(k string) (interface{}, error) {
	return n.Ask("kong.nginx.get_ctx", k)
}

// GetCtxString returns ngx.ctx[k], which must be a string.
func (n Nginx) GetCtxString(k string) (string, error) {
	return n.AskString("kong.nginx.get_ctx", k)
}

// GetCtxFloat returns ngx.ctx[k], which must be a number.
func (n Nginx) GetCtxFloat(k string) (float64, error) {
	return n.AskFloat("kong.nginx.get_ctx", k)
}

// GetCtxInt returns ngx.ctx[k], which must be an integer.
func (n Nginx) GetCtxInt(k string) (int, error) {
	return n.AskInt("kong.nginx.get_ctx", k)
}

// ReqStartTime returns the request's start time in seconds since the
// epoch, with millisecond precision (kong.nginx.req_start_time).
func (n Nginx) ReqStartTime() (float64, error) {
	return n.AskFloat("kong.nginx.req_start_time")
}

// GetSubsystem returns "http" or "stream" (kong.nginx.get_subsystem).
func (n Nginx) GetSubsystem() (string, error) {
	return n.AskString("kong.nginx.get_subsystem")
}
