// go-phases has a handler for every phase, Sluice's header_filter and
// body_filter included. Each appends its phase name to the
// kong.ctx.shared entry "go_phases" (comma-separated), so later plugins
// (Lua or Go) and the later phases see the trace; header_filter also
// exposes it as the response header "x-go-phases", body_filter appends
// "<!-- go-phases -->" to the body, and log writes it to the error log.
package main

import (
	"github.com/sluice-gw/sluice/pdk-go"
	"github.com/sluice-gw/sluice/pdk-go/server"
)

// Version and Priority are reported by -dump.
var (
	Version  = "0.1.0"
	Priority = 10
)

// Config: {"header": "x-go-phases"} names the header_filter's header.
type Config struct {
	Header string `json:"header"`
}

// New returns an empty config for the server to fill from the gateway's.
func New() interface{} {
	return &Config{}
}

const (
	traceKey    = "go_phases"
	bodySeenKey = "go_phases_body_filter"
	bodyMarker  = "<!-- go-phases -->"
)

// trace appends phase to the kong.ctx.shared trace and returns the trace.
func trace(kong *pdk.PDK, phase string) string {
	t, _ := kong.Ctx.GetSharedString(traceKey)
	if t != "" {
		t += ","
	}
	t += phase
	if err := kong.Ctx.SetShared(traceKey, t); err != nil {
		kong.Log.Err("go-phases: ", err)
	}
	return t
}

// The phases without a visible effect of their own only leave their trace.

func (conf Config) Certificate(kong *pdk.PDK) { trace(kong, "certificate") }
func (conf Config) Preread(kong *pdk.PDK)     { trace(kong, "preread") }
func (conf Config) Rewrite(kong *pdk.PDK)     { trace(kong, "rewrite") }
func (conf Config) Access(kong *pdk.PDK)      { trace(kong, "access") }
func (conf Config) Response(kong *pdk.PDK)    { trace(kong, "response") }

// HeaderFilter exposes the trace so far as a response header.
func (conf Config) HeaderFilter(kong *pdk.PDK) {
	header := conf.Header
	if header == "" {
		header = "x-go-phases"
	}
	kong.Response.SetHeader(header, trace(kong, "header_filter"))
}

// BodyFilter records itself once (it may run once per body chunk) and
// appends a marker to the body once kong.response.get_raw_body has it (in
// Kong: the whole buffered body, on the last chunk; nil before).
func (conf Config) BodyFilter(kong *pdk.PDK) {
	if seen, _ := kong.Ctx.GetSharedAny(bodySeenKey); seen == nil {
		trace(kong, "body_filter")
		kong.Ctx.SetShared(bodySeenKey, true)
	}
	body, err := kong.Response.GetRawBody()
	if err != nil {
		kong.Log.Err("go-phases: ", err)
		return
	}
	if body != nil {
		kong.Response.SetRawBody(append(body, bodyMarker...))
	}
}

// Log writes the whole trace to the error log.
func (conf Config) Log(kong *pdk.PDK) {
	kong.Log.Notice("go-phases trace: ", trace(kong, "log"))
}

func main() {
	server.StartServer(New, Version, Priority)
}
