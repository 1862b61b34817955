package plugin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/channelhub/channelhub/sdk"
)

// CatalogFile is the catalog's file name inside the plugins directory.
const CatalogFile = "catalog.json"

// Entry is one plugin in the catalog.
type Entry struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Protocol int    `json:"protocol"`
	// File is the binary's file name inside the plugins directory.
	File string `json:"file"`
	// SHA256 is the binary's checksum, hex. The hub refuses to start a
	// binary that does not match it.
	SHA256 string   `json:"sha256"`
	Spec   sdk.Spec `json:"spec"`
}

// Catalog lists the plugins of a plugins directory.
type Catalog struct {
	Dir     string  `json:"-"`
	Plugins []Entry `json:"plugins"`
}

// LoadCatalog reads DIR/catalog.json.
func LoadCatalog(dir string) (*Catalog, error) {
	path := filepath.Join(dir, CatalogFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no plugin catalog at %s: build the plugins with `make plugins` (or run `hub plugins index %s`)", path, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read plugin catalog: %w", err)
	}
	c := &Catalog{Dir: dir}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("plugin catalog %s: %w", path, err)
	}
	return c, nil
}

// Lookup returns the catalog entry of a connector.
func (c *Catalog) Lookup(name string) (Entry, bool) {
	for _, e := range c.Plugins {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Names lists the connector names in the catalog.
func (c *Catalog) Names() []string {
	out := make([]string, len(c.Plugins))
	for i, e := range c.Plugins {
		out[i] = e.Name
	}
	return out
}

// Index builds the catalog of dir: every executable file in it is run with
// sdk.SpecFlag to learn its spec, and checksummed. The catalog is written to
// DIR/catalog.json. Two binaries that report the same connector name are an
// error naming both: connections name their plugin by it.
func Index(ctx context.Context, dir string) (*Catalog, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read plugins dir: %w", err)
	}
	c := &Catalog{Dir: dir, Plugins: []Entry{}}
	files := map[string]string{} // connector name → the file that reported it
	for _, de := range entries {
		info, err := de.Info()
		if err != nil || de.IsDir() || info.Mode()&0o111 == 0 {
			continue
		}
		path := filepath.Join(dir, de.Name())
		sum, err := Checksum(path)
		if err != nil {
			return nil, err
		}
		runCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var out, errb bytes.Buffer
		cmd := exec.CommandContext(runCtx, path, sdk.SpecFlag)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("plugin %s: asking its spec failed: %w: %s", de.Name(), err, errb.String())
		}
		var spec sdk.Spec
		if err := json.Unmarshal(out.Bytes(), &spec); err != nil {
			return nil, fmt.Errorf("plugin %s: spec is not JSON: %w", de.Name(), err)
		}
		if err := spec.Check(); err != nil {
			return nil, fmt.Errorf("plugin %s: %w", de.Name(), err)
		}
		if other, ok := files[spec.Name]; ok {
			return nil, fmt.Errorf("plugins %s and %s in %s both report the name %q: keep one of them", other, de.Name(), dir, spec.Name)
		}
		files[spec.Name] = de.Name()
		c.Plugins = append(c.Plugins, Entry{Name: spec.Name, Version: spec.Version, Protocol: spec.Protocol, File: de.Name(), SHA256: sum, Spec: spec})
	}
	sort.Slice(c.Plugins, func(i, j int) bool { return c.Plugins[i].Name < c.Plugins[j].Name })
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, CatalogFile), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("write catalog: %w", err)
	}
	return c, nil
}

// Checksum returns the hex sha256 of a file.
func Checksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checksum %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ChecksumError says a plugin binary does not match its catalog entry.
type ChecksumError struct {
	Plugin, Path, Expected, Actual string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("plugin %s (%s) refused: checksum mismatch: catalog expects sha256 %s, binary has %s", e.Plugin, e.Path, e.Expected, e.Actual)
}

// Verify checks an entry's binary against its checksum.
func (c *Catalog) Verify(e Entry) error {
	path := filepath.Join(c.Dir, e.File)
	sum, err := Checksum(path)
	if err != nil {
		return err
	}
	if sum != e.SHA256 {
		return &ChecksumError{Plugin: e.Name, Path: path, Expected: e.SHA256, Actual: sum}
	}
	return nil
}
