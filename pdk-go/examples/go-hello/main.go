// go-hello greets: it adds a response header built from its config and the
// request's host, and tells the upstream service who greeted.
//
// Build: go build (the executable's name is the plugin's name).
package main

import (
	"github.com/sluice-gw/sluice/pdk-go"
	"github.com/sluice-gw/sluice/pdk-go/server"
)

// Version and Priority are reported by -dump.
var (
	Version  = "0.1.0"
	Priority = 1
)

// Config is the plugin's config: {"message": "..."}.
type Config struct {
	Message string `json:"message"`
}

// New returns an empty config for the server to fill from the gateway's.
func New() interface{} {
	return &Config{}
}

// Access runs on every request.
func (conf Config) Access(kong *pdk.PDK) {
	host, err := kong.Request.GetHeader("host")
	if err != nil {
		kong.Log.Err(err.Error())
	}
	message := conf.Message
	if message == "" {
		message = "hello"
	}
	kong.Response.SetHeader("x-hello-from-go", "Go says "+message+" to "+host)
	kong.ServiceRequest.SetHeader("x-go-hello", message)
}

func main() {
	server.StartServer(New, Version, Priority)
}
