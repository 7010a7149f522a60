// Package client is kong.Client: information about the client connecting
// to the gateway in the current request (Lua's kong.client).
package client

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
	"github.com/sluice-gw/sluice/pdk-go/entities"
)

// Client holds this module's functions. Accessible as `kong.Client`.
type Client struct {
	bridge.PdkBridge
}

// AuthenticatedCredential is the credential of an authenticated request.
type AuthenticatedCredential struct {
	Id         string `json:"id"`
	ConsumerId string `json:"consumer_id"`
}

// GetIp returns the remote address of the client making the request
// (kong.client.get_ip).
func (c Client) GetIp() (string, error) {
	return c.AskString("kong.client.get_ip")
}

// GetForwardedIp returns the client's address, considering forwarded
// addresses from trusted sources (kong.client.get_forwarded_ip).
func (c Client) GetForwardedIp() (string, error) {
	return c.AskString("kong.client.get_forwarded_ip")
}

// GetPort returns the remote port of the client (kong.client.get_port).
func (c Client) GetPort() (int, error) {
	return c.AskInt("kong.client.get_port")
}

// GetForwardedPort returns the client's port, considering forwarded ports
// from trusted sources (kong.client.get_forwarded_port).
func (c Client) GetForwardedPort() (int, error) {
	return c.AskInt("kong.client.get_forwarded_port")
}

// GetCredential returns the credential of the authenticated consumer
// (kong.client.get_credential).
func (c Client) GetCredential() (cred AuthenticatedCredential, err error) {
	err = c.AskInto(&cred, "kong.client.get_credential")
	return
}

// LoadConsumer loads a consumer by id, or by username when byUsername is
// true (kong.client.load_consumer).
func (c Client) LoadConsumer(consumerId string, byUsername bool) (consumer entities.Consumer, err error) {
	err = c.AskInto(&consumer, "kong.client.load_consumer", consumerId, byUsername)
	return
}

// GetConsumer returns the authenticated consumer (kong.client.get_consumer).
func (c Client) GetConsumer() (consumer entities.Consumer, err error) {
	err = c.AskInto(&consumer, "kong.client.get_consumer")
	return
}

// Authenticate sets the authenticated consumer and/or credential of the
// request; at least one must be non-nil (kong.client.authenticate).
func (c Client) Authenticate(consumer *entities.Consumer, credential *AuthenticatedCredential) error {
	return c.Tell("kong.client.authenticate", consumer, credential)
}

// GetProtocol returns the protocol of the current route ("http", "https",
// ...); allowTerminated considers X-Forwarded-Proto for TLS terminated
// upstream (kong.client.get_protocol).
func (c Client) GetProtocol(allowTerminated bool) (string, error) {
	return c.AskString("kong.client.get_protocol", allowTerminated)
}
