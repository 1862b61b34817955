package plugin

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

// hclogger returns an hclog.Logger for go-plugin that forwards every line,
// including the plugin's stderr, into log. tags are the fields log already
// carries (plugin, tenant, connection): a plugin line repeating one with
// the same value does not add it again.
func hclogger(log zerolog.Logger, name string, tags map[string]string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Level:      hclog.Debug,
		JSONFormat: true,
		Output:     &zerologWriter{log: log, name: name, tags: tags},
	})
}

// zerologWriter turns hclog JSON lines into zerolog events. Lines of
// go-plugin itself (module = the plugin name) are debug at most; lines the
// plugin logged (module = name.binary) keep their level.
type zerologWriter struct {
	log  zerolog.Logger
	name string
	tags map[string]string
}

// goPluginField renames a field of go-plugin's own lines so that it cannot
// be mistaken for the hub's "plugin" (the plugin's name) or a field a
// connector logs: go-plugin names the binary's path "path" or "plugin", and
// the process id "id" or "pid".
func goPluginField(k string) string {
	switch k {
	case "path", "plugin":
		return "plugin_binary"
	case "id":
		return "pid"
	}
	return k
}

func (w *zerologWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			w.log.Debug().Str("raw", string(line)).Msg("plugin output")
			continue
		}
		lvl, err := zerolog.ParseLevel(str(m["@level"]))
		if err != nil || lvl == zerolog.NoLevel {
			lvl = zerolog.DebugLevel
		}
		own := str(m["@module"]) == w.name
		if own {
			lvl = min(lvl, zerolog.DebugLevel)
		}
		ev := w.log.WithLevel(lvl)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := m[k]
			switch {
			case k == "@level", k == "@message", k == "@timestamp", k == "timestamp", k == "@caller", k == "@module":
				continue
			case own:
				k = goPluginField(k)
			case w.repeats(k, v):
				continue
			case w.tags[k] != "", k == zerolog.LevelFieldName, k == zerolog.TimestampFieldName, k == zerolog.MessageFieldName:
				// The plugin's own field under a name the hub's line has.
				k = "plugin_" + k
			}
			ev = ev.Interface(k, v)
		}
		ev.Msg(str(m["@message"]))
	}
	return len(p), nil
}

// repeats says whether a plugin line's field is one the hub's logger
// already carries: a tag with the same value, or the plugin's connector
// name (the sdk's "connector", the hub's "plugin").
func (w *zerologWriter) repeats(k string, v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if k == "connector" {
		return s == w.name
	}
	tag, ok := w.tags[k]
	return ok && tag == s
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
