/*
Package pdk is Sluice's Plugin Development Kit for Go, shaped like Kong's
go-pdk so that a Kong Go plugin ports by changing its import paths.

A plugin is a config struct whose methods handle the phases:

	func (conf *Config) Access(kong *pdk.PDK) {
		host, _ := kong.Request.GetHeader("host")
		kong.Response.SetHeader("x-hello", "hello "+host)
	}

Every PDK function is a call to the Lua PDK function of the same name
(kong.Request.GetHeader is kong.request.get_header), made over Kong's
MsgPack:1 plugin protocol by the embedded server of package server.
*/
package pdk

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
	"github.com/sluice-gw/sluice/pdk-go/client"
	"github.com/sluice-gw/sluice/pdk-go/ctx"
	"github.com/sluice-gw/sluice/pdk-go/ip"
	"github.com/sluice-gw/sluice/pdk-go/log"
	"github.com/sluice-gw/sluice/pdk-go/nginx"
	"github.com/sluice-gw/sluice/pdk-go/node"
	"github.com/sluice-gw/sluice/pdk-go/request"
	"github.com/sluice-gw/sluice/pdk-go/response"
	"github.com/sluice-gw/sluice/pdk-go/router"
	"github.com/sluice-gw/sluice/pdk-go/service"
	service_request "github.com/sluice-gw/sluice/pdk-go/service/request"
	service_response "github.com/sluice-gw/sluice/pdk-go/service/response"
)

// PDK is the `kong` argument of every phase handler.
type PDK struct {
	Client          client.Client
	Ctx             ctx.Ctx
	Log             log.Log
	Nginx           nginx.Nginx
	Request         request.Request
	Response        response.Response
	Router          router.Router
	IP              ip.Ip
	Node            node.Node
	Service         service.Service
	ServiceRequest  service_request.Request
	ServiceResponse service_response.Response
}

// Init returns the PDK of one event; the plugin server calls it.
func Init(b bridge.PdkBridge) *PDK {
	return &PDK{
		Client:          client.Client{PdkBridge: b},
		Ctx:             ctx.Ctx{PdkBridge: b},
		Log:             log.Log{PdkBridge: b},
		Nginx:           nginx.Nginx{PdkBridge: b},
		Request:         request.Request{PdkBridge: b},
		Response:        response.Response{PdkBridge: b},
		Router:          router.Router{PdkBridge: b},
		IP:              ip.Ip{PdkBridge: b},
		Node:            node.Node{PdkBridge: b},
		Service:         service.Service{PdkBridge: b},
		ServiceRequest:  service_request.Request{PdkBridge: b},
		ServiceResponse: service_response.Response{PdkBridge: b},
	}
}
