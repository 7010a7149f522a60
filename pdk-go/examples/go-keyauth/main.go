// go-keyauth authenticates requests by an API key header checked against
// the keys in its config, and short-circuits with 401 — Kong's key-auth
// status, messages and WWW-Authenticate header — when it is missing or
// wrong.
package main

import (
	"github.com/sluice-gw/sluice/pdk-go"
	"github.com/sluice-gw/sluice/pdk-go/server"
)

// Version and Priority are reported by -dump (Kong's key-auth runs at 1250).
var (
	Version  = "0.1.0"
	Priority = 1250
)

// Config: {"key_name": "apikey", "keys": ["..."], "hide_credentials": false}.
type Config struct {
	KeyName         string   `json:"key_name"`
	Keys            []string `json:"keys"`
	HideCredentials bool     `json:"hide_credentials"`
}

// New returns an empty config for the server to fill from the gateway's.
func New() interface{} {
	return &Config{}
}

var unauthorizedHeaders = map[string][]string{
	"Content-Type":     {"application/json; charset=utf-8"},
	"WWW-Authenticate": {`Key realm="kong"`},
}

// Access rejects the request unless its key is one of conf.Keys.
func (conf Config) Access(kong *pdk.PDK) {
	name := conf.KeyName
	if name == "" {
		name = "apikey"
	}
	key, err := kong.Request.GetHeader(name)
	if err != nil {
		kong.Log.Err("reading the key header: ", err)
		kong.Response.Exit(500, []byte(`{"message":"An unexpected error occurred"}`), nil)
		return
	}
	if key == "" {
		kong.Response.Exit(401, []byte(`{"message":"No API key found in request"}`), unauthorizedHeaders)
		return
	}
	if !conf.known(key) {
		kong.Response.Exit(401, []byte(`{"message":"Invalid authentication credentials"}`), unauthorizedHeaders)
		return
	}
	if conf.HideCredentials {
		kong.ServiceRequest.ClearHeader(name)
	}
	kong.Ctx.SetShared("authenticated_key", key)
}

func (conf Config) known(key string) bool {
	for _, k := range conf.Keys {
		if k == key {
			return true
		}
	}
	return false
}

func main() {
	server.StartServer(New, Version, Priority)
}
