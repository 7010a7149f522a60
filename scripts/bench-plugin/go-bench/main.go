// go-bench is the external-plugin benchmark's Go plugin (scripts/bench, SUITE=external): an
// access handler making the same two PDK calls as the Lua plugin bench-access.
package main

import (
	"github.com/sluice-gw/sluice/pdk-go"
	"github.com/sluice-gw/sluice/pdk-go/server"
)

// Config is empty: the plugin takes no settings.
type Config struct{}

// New returns the config for the server to fill.
func New() interface{} {
	return &Config{}
}

// Access copies the API key to the upstream request.
func (conf Config) Access(kong *pdk.PDK) {
	key, _ := kong.Request.GetHeader("x-api-key")
	if key == "" {
		key = "anonymous"
	}
	kong.ServiceRequest.SetHeader("X-Consumer-Username", key)
}

func main() {
	server.StartServer(New, "1.0.0", 1000)
}
