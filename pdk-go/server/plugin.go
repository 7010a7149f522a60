package server

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/sluice-gw/sluice/pdk-go"
)

// phaseMethods maps handler method names to the event names on the wire,
// in request order. Kong's go-pdk has all but HeaderFilter and BodyFilter,
// which Sluice adds ("header_filter", "body_filter"). bind binds the method
// to a config (nil if the config lacks it) without reflection, so each
// event calls its handler directly.
var phaseMethods = []struct {
	method, event string
	bind          func(conf interface{}) handler
}{
	{"Certificate", "certificate", binder(func(c interface{ Certificate(*pdk.PDK) }) handler { return c.Certificate })},
	{"Preread", "preread", binder(func(c interface{ Preread(*pdk.PDK) }) handler { return c.Preread })},
	{"Rewrite", "rewrite", binder(func(c interface{ Rewrite(*pdk.PDK) }) handler { return c.Rewrite })},
	{"Access", "access", binder(func(c interface{ Access(*pdk.PDK) }) handler { return c.Access })},
	{"Response", "response", binder(func(c interface{ Response(*pdk.PDK) }) handler { return c.Response })},
	{"HeaderFilter", "header_filter", binder(func(c interface{ HeaderFilter(*pdk.PDK) }) handler { return c.HeaderFilter })},
	{"BodyFilter", "body_filter", binder(func(c interface{ BodyFilter(*pdk.PDK) }) handler { return c.BodyFilter })},
	{"Log", "log", binder(func(c interface{ Log(*pdk.PDK) }) handler { return c.Log })},
}

// handler is one phase handler bound to an instance's config.
type handler func(*pdk.PDK)

// binder turns a method value getter for configs with the method (the
// interface T) into one for any config.
func binder[T any](get func(T) handler) func(interface{}) handler {
	return func(conf interface{}) handler {
		if c, ok := conf.(T); ok {
			return get(c)
		}
		return nil
	}
}

// plugin is what the embedded server serves: one plugin, described by its
// config constructor.
type plugin struct {
	name        string
	version     string
	priority    int
	constructor func() interface{}
	phases      []string
}

// newPlugin checks the constructor the way the server will use it: it must
// return a non-nil pointer (the JSON config is decoded into it), and every
// phase method it has must take a *pdk.PDK.
func newPlugin(name string, constructor func() interface{}, version string, priority int) (*plugin, error) {
	if constructor == nil {
		return nil, errors.New("nil plugin constructor")
	}
	conf := constructor()
	v := reflect.ValueOf(conf)
	if v.Kind() != reflect.Ptr || v.IsNil() {
		return nil, fmt.Errorf("the plugin constructor must return a non-nil pointer to a config struct, got %T", conf)
	}
	p := &plugin{name: name, version: version, priority: priority, constructor: constructor}
	for _, ph := range phaseMethods {
		m := v.MethodByName(ph.method)
		if !m.IsValid() {
			continue
		}
		if _, ok := m.Interface().(func(*pdk.PDK)); !ok {
			return nil, fmt.Errorf("%T.%s has type %s; a phase handler is func(kong *pdk.PDK)", conf, ph.method, m.Type())
		}
		p.phases = append(p.phases, ph.event)
	}
	if len(p.phases) == 0 {
		return nil, fmt.Errorf("%T has no phase handler (Access, Rewrite, Log, ...)", conf)
	}
	return p, nil
}

// handlers returns the phase handlers of one instance's config, by event
// name.
func handlers(conf interface{}) map[string]handler {
	out := make(map[string]handler, len(phaseMethods))
	for _, ph := range phaseMethods {
		if h := ph.bind(conf); h != nil {
			out[ph.event] = h
		}
	}
	return out
}

// pluginInfo is what the query command (-dump) and plugin.GetPluginInfo
// report; the keys are the ones Kong reads.
type pluginInfo struct {
	Name     string
	Phases   []string
	Version  string
	Priority int
	Schema   pluginSchema
}

// pluginSchema is a Kong plugin schema whose config record is derived from
// the config struct.
type pluginSchema struct {
	Name   string       `json:"name"`
	Fields []schemaDict `json:"fields"`
}

func (p *plugin) info() pluginInfo {
	return pluginInfo{
		Name:     p.name,
		Phases:   p.phases,
		Version:  p.version,
		Priority: p.priority,
		Schema: pluginSchema{
			Name:   p.name,
			Fields: []schemaDict{{"config": configSchema(reflect.TypeOf(p.constructor()))}},
		},
	}
}
