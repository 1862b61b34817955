package plugin

import (
	"bytes"
	"encoding/json"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

// hclogger returns an hclog.Logger for go-plugin that forwards every line,
// including the plugin's stderr, into log.
func hclogger(log zerolog.Logger, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Level:      hclog.Debug,
		JSONFormat: true,
		Output:     &zerologWriter{log: log, name: name},
	})
}

// zerologWriter turns hclog JSON lines into zerolog events. Lines of
// go-plugin itself (module = the plugin name) are debug at most; lines the
// plugin logged (module = name.binary) keep their level.
type zerologWriter struct {
	log  zerolog.Logger
	name string
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
		if str(m["@module"]) == w.name {
			lvl = min(lvl, zerolog.DebugLevel)
		}
		ev := w.log.WithLevel(lvl)
		for k, v := range m {
			switch k {
			case "@level", "@message", "@timestamp", "timestamp", "@caller", "@module":
			case "plugin", "path":
				ev = ev.Interface("plugin_path", v)
			case "id", "pid":
				ev = ev.Interface("pid", v)
			default:
				ev = ev.Interface(k, v)
			}
		}
		ev.Msg(str(m["@message"]))
	}
	return len(p), nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
