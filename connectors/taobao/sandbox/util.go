package sandbox

import (
	"bytes"
	"encoding/json"
)

// jsonMarshal encodes v compactly with UTF-8 and HTML left as is.
func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
