package server

import (
	"reflect"
	"strings"
)

// schemaDict is one Kong schema table.
type schemaDict map[string]interface{}

// configSchema derives a Kong schema field from a Go type by reflection,
// as go-pdk does: string → string, bool → boolean, integers → integer
// (unsigned ones between 0 and 2^31), floats → number, slices → array,
// maps → map, structs → record. Types with no Kong equivalent
// (interfaces, funcs, channels) give nil and their fields are left out.
func configSchema(t reflect.Type) schemaDict {
	switch t.Kind() {
	case reflect.String:
		return schemaDict{"type": "string"}
	case reflect.Bool:
		return schemaDict{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return schemaDict{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return schemaDict{"type": "integer", "between": []int64{0, 1 << 31}}
	case reflect.Float32, reflect.Float64:
		return schemaDict{"type": "number"}
	case reflect.Ptr:
		return configSchema(t.Elem())
	case reflect.Slice, reflect.Array:
		if elem := configSchema(t.Elem()); elem != nil {
			return schemaDict{"type": "array", "elements": elem}
		}
	case reflect.Map:
		keys, values := configSchema(t.Key()), configSchema(t.Elem())
		if keys != nil && values != nil {
			return schemaDict{"type": "map", "keys": keys, "values": values}
		}
	case reflect.Struct:
		return schemaDict{"type": "record", "fields": recordFields(t)}
	}
	return nil
}

// recordFields lists a struct's fields as Kong record fields, named as
// encoding/json names them (the config is decoded with it): the `json` tag,
// else the lower-cased field name (go-pdk's choice; json matches names
// case-insensitively). Embedded structs without a tag are flattened, as
// json does.
func recordFields(t reflect.Type) []schemaDict {
	fields := []schemaDict{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tagName := strings.Split(f.Tag.Get("json"), ",")[0]
		if tagName == "-" {
			continue
		}
		if f.Anonymous && tagName == "" {
			ft := f.Type
			if ft.Kind() == reflect.Ptr {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				fields = append(fields, recordFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		decl := configSchema(f.Type)
		if decl == nil {
			continue
		}
		name := tagName
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields = append(fields, schemaDict{name: decl})
	}
	return fields
}
