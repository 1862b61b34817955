// Package file is the connector for exported files — offline stores, POS,
// ERP, an old CRM: members or orders as JSON Lines or CSV (UTF-8 or
// GB18030), from one file or a glob of them. It reads incrementally by file
// and byte offset: appended lines and new files are read on the next run, a
// replaced or truncated file is read again, and a last line still being
// written waits. Memory stays constant whatever the file size. The JSON
// Lines format and the CSV field names are a public contract: see README.md.
package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/channelhub/channelhub/sdk"
)

// Plugin is what plugins/file serves.
var Plugin = sdk.Plugin{Spec: Spec, New: New}

// Connector reads one connection's files.
type Connector struct {
	path     string
	format   string
	stream   string
	encoding string
	columns  columnSpec
	host     *sdk.Host
}

var _ sdk.Connector = (*Connector)(nil)

// New builds a connector from a validated config. It touches no file.
func New(_ context.Context, cfg sdk.Config, host *sdk.Host) (sdk.Connector, error) {
	c := &Connector{
		path: cfg.String(FieldPath), format: cfg.String(FieldFormat), stream: cfg.String(FieldStream),
		encoding: cfg.String(FieldEncoding), host: host,
	}
	if c.stream == "" {
		c.stream = StreamMembers
	}
	if c.encoding == "" {
		c.encoding = EncodingUTF8
	}
	if _, err := filepath.Match(c.path, ""); err != nil {
		return nil, sdk.ConfigError(FieldPath, "%q is not a valid glob: %v", c.path, err)
	}
	if c.format == "" {
		switch strings.ToLower(filepath.Ext(c.path)) {
		case ".jsonl", ".ndjson":
			c.format = FormatJSONL
		case ".csv":
			c.format = FormatCSV
		default:
			return nil, sdk.ConfigError(FieldFormat, "cannot tell the format from the extension of %q: set format to jsonl or csv", c.path)
		}
	}
	scope := cfg.String(FieldScope)
	if scope == "" {
		scope = DefaultScope
	}
	cols := cfg.Strings(FieldColumns)
	if len(cols) > 0 && c.format != FormatCSV {
		return nil, sdk.ConfigError(FieldColumns, "applies to CSV files only (format is %s)", c.format)
	}
	var err error
	if c.columns, err = newColumnSpec(c.stream, scope, cols); err != nil {
		return nil, err
	}
	return c, nil
}

// Close implements sdk.Connector.
func (c *Connector) Close(context.Context) error { return nil }

// errFirstRecord stops the read Check makes after its first record.
var errFirstRecord = errors.New("first record read")

// Check verifies that the path matches at least one readable file and that
// the first data line found parses.
func (c *Connector) Check(ctx context.Context) error {
	files, err := c.match()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		// The pattern itself is not echoed: errors never repeat config values.
		return sdk.ConfigError(FieldPath, "matches no file in %s", filepath.Dir(c.path))
	}
	for _, f := range files {
		fh, err := os.Open(f.path)
		if err != nil {
			return sdk.ConfigError(FieldPath, "%s is not readable: %v", f.path, err)
		}
		_ = fh.Close()
	}
	first := &firstRecord{}
	err = c.Read(ctx, sdk.ReadRequest{Stream: c.stream, Mode: sdk.ModeFull}, first)
	if err != nil && !errors.Is(err, errFirstRecord) {
		return err
	}
	if b := first.rec.Bad; b != nil {
		field := FieldFormat
		switch {
		case b.Reason == reasonNotUTF8 || b.Reason == reasonNotGB18030:
			field = FieldEncoding
		case c.format == FormatCSV:
			field = FieldColumns
		}
		return sdk.ConfigError(field, "the first data line, %s, does not parse as %s %s: %s", b.Location, c.format, c.stream, b.Reason)
	}
	return nil
}

// firstRecord is the Emitter of Check: it keeps the first record and stops.
type firstRecord struct{ rec sdk.Record }

func (e *firstRecord) Emit(_ context.Context, r sdk.Record) error {
	e.rec = r
	return errFirstRecord
}
func (e *firstRecord) Checkpoint(context.Context, []byte) error     { return nil }
func (e *firstRecord) Progress(context.Context, int64, int64) error { return nil }

// match returns the regular files the path matches, in name order.
func (c *Connector) match() ([]fileInfo, error) {
	paths, err := filepath.Glob(c.path)
	if err != nil {
		return nil, sdk.ConfigError(FieldPath, "%q is not a valid glob: %v", c.path, err)
	}
	if len(paths) == 0 && !hasMeta(c.path) {
		// Not a glob: say why the file is not there (permissions…).
		if _, err := os.Stat(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, &sdk.Error{Class: sdk.ClassPermanent, Message: "cannot read " + c.path, Err: err}
		}
	}
	slices.Sort(paths)
	var out []fileInfo
	for _, p := range paths {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone since the glob
		}
		if err != nil {
			return nil, &sdk.Error{Class: sdk.ClassPermanent, Message: "cannot read " + p, Err: err}
		}
		if st.Mode().IsRegular() {
			out = append(out, fileInfo{path: p, size: st.Size()})
		}
	}
	return out, nil
}

type fileInfo struct {
	path string
	size int64
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// checkpointEvery is how many lines go between checkpoints within a file.
const checkpointEvery = 1000

// Read implements sdk.Connector. Files are read in name order, each from
// the checkpoint's offset on (from the start when it is new, replaced or
// truncated); the checkpoint follows every checkpointEvery lines and the end
// of each file. Full and incremental reads differ only by the checkpoint the
// hub passes.
func (c *Connector) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	if req.Stream != c.stream {
		if _, ok := Spec.Stream(req.Stream); ok {
			return sdk.ConfigError(FieldStream, "this connection's files hold %s (config field stream), so it has no %s stream to read; make a connection with stream: %s for those files", c.stream, req.Stream, req.Stream)
		}
		return sdk.ConfigError(FieldStream, "file has no stream %q (want %s or %s)", req.Stream, StreamMembers, StreamOrders)
	}
	prev, err := decodeCursor(req.Checkpoint)
	if err != nil {
		return err
	}
	files, err := c.match()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		c.host.Log().Warn().Str("path", c.path).Msg("the path matches no file")
	}
	// The cursor keeps the files the path still matches.
	cur := cursor{V: cursorVersion, Files: map[string]entry{}}
	var total int64
	for _, f := range files {
		e, ok := prev.Files[f.path]
		if ok {
			cur.Files[f.path] = e
		}
		total += f.size
		if ok && e.Offset <= f.size {
			total -= e.Offset
		}
	}
	run := &run{c: c, out: out, cur: cur, total: total}
	for _, f := range files {
		if err := run.file(ctx, f.path); err != nil {
			return err
		}
	}
	if !run.checkpointed && len(cur.Files) != len(prev.Files) {
		return run.checkpoint(ctx)
	}
	return nil
}

// decoder returns the decoder of a file: nil (UTF-8) when the encoding is
// UTF-8 or the file starts with a UTF-8 byte order mark.
func (c *Connector) decoder(f *os.File) *encoding.Decoder {
	if c.encoding != EncodingGB18030 {
		return nil
	}
	bom := make([]byte, 3)
	if n, _ := f.ReadAt(bom, 0); n == 3 && string(bom) == "\uFEFF" {
		return nil
	}
	return simplifiedchinese.GB18030.NewDecoder()
}

// run is the state of one Read.
type run struct {
	c            *Connector
	out          sdk.Emitter
	cur          cursor
	total, done  int64
	checkpointed bool
}

func (r *run) checkpoint(ctx context.Context) error {
	b, err := json.Marshal(r.cur)
	if err != nil {
		return err
	}
	if err := r.out.Checkpoint(ctx, b); err != nil {
		return err
	}
	r.checkpointed = true
	return r.out.Progress(ctx, r.done, r.total)
}

// file reads one file from its cursor entry on.
func (r *run) file(ctx context.Context, path string) error {
	c := r.c
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // moved away since the glob
	}
	if err != nil {
		return &sdk.Error{Class: sdk.ClassPermanent, Message: "cannot read " + path, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return &sdk.Error{Class: sdk.ClassPermanent, Message: "cannot read " + path, Err: err}
	}
	prev, had := r.cur.Files[path]
	start, restarted := prev, false
	if had && prev.Offset > 0 {
		if why := prev.stale(f, st.Size()); why != "" {
			c.host.Log().Info().Str("file", path).Msg(why + ": reading it again from the start")
			start, restarted = entry{}, true
		}
	}
	if had && !restarted && start.Offset == st.Size() {
		return nil // nothing new
	}
	rd := newReader(f, st.Size(), c.decoder(f), c.format == FormatCSV)
	var cols *binding
	if c.format == FormatCSV {
		var ok bool
		if cols, ok, err = r.header(path, rd); err != nil || !ok {
			return err
		}
		if start.Offset > rd.off {
			rd.seek(start.Offset, start.Line)
		}
	} else {
		rd.seek(start.Offset, start.Line)
	}
	r.done += rd.off - start.Offset
	at := entry{Offset: rd.off, Line: rd.line}
	lastCP := at.Line
	save := func() error {
		at.Head, at.Tail, err = fingerprint(f, at.Offset)
		if err != nil {
			return &sdk.Error{Class: sdk.ClassUnavailable, Message: "cannot read " + path, Err: err}
		}
		r.cur.Files[path] = at
		lastCP = at.Line
		return r.checkpoint(ctx)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		u, ok, err := rd.next()
		if err != nil {
			return &sdk.Error{Class: sdk.ClassUnavailable, Message: "cannot read " + path, Err: err}
		}
		if !ok {
			break
		}
		if rec, skip := c.record(u, path, cols); !skip {
			if err := r.out.Emit(ctx, rec); err != nil {
				return err
			}
		}
		r.done += rd.off - at.Offset
		at.Offset, at.Line = rd.off, rd.line
		if at.Line-lastCP >= checkpointEvery {
			if err := save(); err != nil {
				return err
			}
		}
	}
	if had && !restarted && at.Offset == prev.Offset {
		return nil // the file did not move on
	}
	return save()
}

// header reads a CSV file's header and binds it to the fields. ok is false
// when the header line is not complete yet.
func (r *run) header(path string, rd *reader) (*binding, bool, error) {
	for {
		u, ok, err := rd.next()
		if err != nil {
			return nil, false, &sdk.Error{Class: sdk.ClassUnavailable, Message: "cannot read " + path, Err: err}
		}
		if !ok {
			return nil, false, nil
		}
		if u.bad != "" {
			return nil, false, sdk.ConfigError(FieldEncoding, "%s:%d: the header %s", path, u.line, u.bad)
		}
		if strings.TrimSpace(u.text) == "" {
			continue
		}
		fields, err := parseCSV(u.text)
		if err != nil {
			return nil, false, sdk.ConfigError(FieldFormat, "%s:%d: the header is %v", path, u.line, err)
		}
		b, err := r.c.columns.bind(path, fields)
		return b, err == nil, err
	}
}

// record maps one unit; skip is true for a blank line.
func (c *Connector) record(u unit, path string, cols *binding) (rec sdk.Record, skip bool) {
	loc := fmt.Sprintf("%s:%d", path, u.line)
	bad := func(reason string) sdk.Record {
		raw := u.raw
		if raw == nil {
			raw = []byte(u.text)
		}
		return sdk.Record{Stream: c.stream, Bad: &sdk.BadRecord{Reason: reason, Raw: raw, Location: loc}}
	}
	if u.bad != "" {
		return bad(u.bad), false
	}
	if strings.TrimSpace(u.text) == "" {
		return sdk.Record{}, true
	}
	var err error
	var rw row
	switch {
	case c.format == FormatJSONL && c.stream == StreamMembers:
		rec, err = jsonMember(u.text, loc)
	case c.format == FormatJSONL:
		rec, err = jsonOrder(u.text)
	default:
		if rw, err = cols.parseRow(u.text); err != nil {
			break
		}
		if c.stream == StreamMembers {
			rec, err = csvMember(rw, loc)
		} else {
			rec, err = csvOrder(rw)
		}
	}
	if err != nil {
		rec = bad(err.Error())
		rec.ID = c.badID(u.text, rw)
	}
	return rec, false
}

// badID is the record id of a row that did not map, when the row can be
// read as far as its id: a JSON object, or a CSV row as wide as its header.
// It is the id the row would have had (for orders without an id, the
// order's key); "" for a row that cannot be read or names no id.
func (c *Connector) badID(text string, rw row) string {
	var id, platform, shop, orderID string
	switch {
	case c.format == FormatJSONL:
		var l struct {
			ID       flexString `json:"id"`
			Platform string     `json:"platform"`
			Shop     flexString `json:"shop"`
			OrderID  flexString `json:"order_id"`
		}
		if err := json.Unmarshal([]byte(text), &l); err != nil {
			return ""
		}
		id, platform, shop, orderID = string(l.ID), l.Platform, string(l.Shop), string(l.OrderID)
	case rw.b != nil:
		id, platform, shop, orderID = rw.get("id"), rw.get("platform"), rw.get("shop"), rw.get("order_id")
	}
	if c.stream == StreamMembers {
		return strings.TrimSpace(id)
	}
	return orderRecordID(id, platform, shop, orderID)
}
