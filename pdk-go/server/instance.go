package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// instance is one plugin config started by the gateway; its events share
// the config object, as in go-pdk (handlers must not mutate it unguarded).
type instance struct {
	id        int
	config    interface{} // the config as decoded JSON, echoed to the gateway
	handlers  map[string]handler
	startTime time.Time
}

// instanceStatus is the result of StartInstance, InstanceStatus and
// CloseInstance.
type instanceStatus struct {
	Name      string
	Id        int
	Config    interface{}
	StartTime float64
}

func (i *instance) status(name string) instanceStatus {
	return instanceStatus{Name: name, Id: i.id, Config: i.config, StartTime: unixSeconds(i.startTime)}
}

// noInstance is the error Kong looks for ("no plugin instance") to start
// the instance again and retry the event.
func noInstance(id int) error {
	return fmt.Errorf("no plugin instance %d", id)
}

// startInstance decodes {Name, Config} — Config is the JSON text of the
// plugin's config, with the fields Kong injects (route_id, __seq__, ...)
// — into a new config object. Ids count from 0, as in Kong's MsgPack
// servers.
func (s *server) startInstance(arg interface{}) (interface{}, error) {
	const method = "plugin.StartInstance"
	m, err := argMap(method, arg)
	if err != nil {
		return nil, err
	}
	name, err := stringArg(method, "Name", m["Name"])
	if err != nil {
		return nil, err
	}
	if name != s.plugin.name {
		return nil, fmt.Errorf("%s not initialized: this server runs %s", name, s.plugin.name)
	}
	text, err := stringArg(method, "Config", m["Config"])
	if err != nil {
		return nil, err
	}
	conf := s.plugin.constructor()
	if err := json.Unmarshal([]byte(text), conf); err != nil {
		return nil, fmt.Errorf("decoding config: %w", err)
	}
	echo, err := decodeJSON(text)
	if err != nil {
		return nil, fmt.Errorf("decoding config: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	inst := &instance{id: s.nextInstanceID, config: echo, handlers: handlers(conf), startTime: time.Now()}
	s.nextInstanceID++
	s.instances[inst.id] = inst
	s.lastStartInstance = inst.startTime
	return inst.status(name), nil
}

func (s *server) lookupInstance(method string, arg interface{}) (*instance, error) {
	id, err := intArg(method, "the instance id", arg)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[id]
	if !ok {
		return nil, noInstance(id)
	}
	return inst, nil
}

func (s *server) instanceStatus(arg interface{}) (interface{}, error) {
	inst, err := s.lookupInstance("plugin.InstanceStatus", arg)
	if err != nil {
		return nil, err
	}
	return inst.status(s.plugin.name), nil
}

// closeInstance forgets an instance; its running events finish normally.
func (s *server) closeInstance(arg interface{}) (interface{}, error) {
	inst, err := s.lookupInstance("plugin.CloseInstance", arg)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.instances, inst.id)
	s.lastCloseInstance = time.Now()
	return inst.status(s.plugin.name), nil
}

// decodeJSON decodes JSON text keeping integers integers (__seq__: 7, not
// 7.0) when echoed back over msgpack.
func decodeJSON(text string) (interface{}, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var v interface{}
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return numbersToValues(v), nil
}

func numbersToValues(v interface{}) interface{} {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case []interface{}:
		for i, e := range v {
			v[i] = numbersToValues(e)
		}
	case map[string]interface{}:
		for k, e := range v {
			v[k] = numbersToValues(e)
		}
	}
	return v
}
