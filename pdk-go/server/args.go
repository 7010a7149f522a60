package server

import (
	"fmt"

	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// argMap is an RPC argument that must be a map, e.g. {InstanceId, EventName}.
func argMap(method string, arg interface{}) (map[string]interface{}, error) {
	m, ok := arg.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: the argument must be a map, got %#v", method, arg)
	}
	return m, nil
}

func intArg(method, field string, v interface{}) (int, error) {
	i, ok := bridge.ToInt(v)
	if !ok {
		return 0, fmt.Errorf("%s: %s must be an integer, got %#v", method, field, v)
	}
	return i, nil
}

func stringArg(method, field string, v interface{}) (string, error) {
	s, ok := bridge.ToString(v)
	if !ok {
		return "", fmt.Errorf("%s: %s must be a string, got %#v", method, field, v)
	}
	return s, nil
}
