package file

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
)

// Limits that keep memory constant whatever the file size.
const (
	// maxLine bounds one line, and one CSV record spread over lines. A longer
	// line is a bad record (its first rawLimit bytes kept).
	maxLine = 1 << 20
	// maxRecordLines bounds the lines one CSV record (a quoted field with
	// line breaks) may span.
	maxRecordLines = 100
	// rawLimit bounds the Raw of a bad record for an over-long line.
	rawLimit = 4096
	// readBuffer is the bufio buffer size.
	readBuffer = 64 << 10
)

// Reasons a line cannot be decoded; Check maps them to the encoding field.
const (
	reasonNotUTF8    = "not valid UTF-8 (for a GBK or GB18030 export, set encoding: gb18030)"
	reasonNotGB18030 = "holds bytes that are not GB18030 (is the file UTF-8? set encoding: utf-8)"
	reasonTooLong    = "line is longer than 1 MiB"
	reasonOpenQuote  = "a quoted field is not closed within 100 lines or 1 MiB"
)

// gbReplacement is U+FFFD encoded in GB18030: a line that holds it decodes
// to U+FFFD legitimately.
var gbReplacement = []byte{0x84, 0x31, 0xA4, 0x37}

// unit is one record's text: a line, or for CSV the lines of one record.
type unit struct {
	// text is the record decoded to UTF-8, without line terminators.
	text string
	// bad is set when the unit could not be decoded; raw then holds its
	// bytes as read.
	bad string
	raw []byte
	// line is the number (from 1) of the unit's first line.
	line int64
}

// reader reads units from a file, tracking the byte offset and number of
// the lines it consumed. Only complete lines (ended by '\n') are consumed: a
// last line without its newline is left for the next run.
type reader struct {
	f    *os.File
	size int64
	br   *bufio.Reader
	// off is the offset of the next unread byte; line the lines read.
	off, line int64
	// dec decodes GB18030; nil for UTF-8.
	dec *encoding.Decoder
	csv bool
	buf []byte
}

// newReader reads f up to size (its size when opened: lines written after
// that wait for the next run).
func newReader(f *os.File, size int64, dec *encoding.Decoder, csv bool) *reader {
	r := &reader{f: f, size: size, dec: dec, csv: csv, br: bufio.NewReaderSize(nil, readBuffer)}
	r.seek(0, 0)
	return r
}

// seek moves to off, which follows line lines.
func (r *reader) seek(off, line int64) {
	r.br.Reset(io.NewSectionReader(r.f, off, r.size-off))
	r.off, r.line = off, line
}

// physical reads one line without its "\n" or "\r\n". complete is false
// when no whole line is left. A line longer than maxLine comes back cut to
// maxLine bytes with long set. The bytes are valid until the next call.
func (r *reader) physical() (b []byte, long, complete bool, err error) {
	r.buf = r.buf[:0]
	n := 0
	for {
		chunk, err := r.br.ReadSlice('\n')
		n += len(chunk)
		if room := maxLine + 1 - len(r.buf); room > 0 {
			r.buf = append(r.buf, chunk[:min(len(chunk), room)]...)
		}
		switch {
		case err == nil:
			r.off += int64(n)
			r.line++
			if n-1 > maxLine {
				return r.buf[:maxLine], true, true, nil
			}
			b := bytes.TrimSuffix(r.buf[:len(r.buf)-1], []byte{'\r'})
			return b, false, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, false, false, nil
		default:
			return nil, false, false, err
		}
	}
}

// decode converts a line to UTF-8, dropping a byte order mark at the start
// of the file. It returns a reason when the line cannot be decoded.
func (r *reader) decode(b []byte, first bool) (string, string) {
	var s string
	if r.dec != nil {
		out, err := r.dec.Bytes(b)
		if err != nil || (bytes.ContainsRune(out, utf8.RuneError) && !bytes.Contains(b, gbReplacement)) {
			return "", reasonNotGB18030
		}
		s = string(out)
	} else {
		if !utf8.Valid(b) {
			return "", reasonNotUTF8
		}
		s = string(b)
	}
	if first {
		s = strings.TrimPrefix(s, "\uFEFF")
	}
	return s, ""
}

// next returns the next unit. ok is false when no complete unit is left:
// the end of the file, a last line still being written, or a CSV record
// whose quoted field goes on past the end. A unit that cannot be decoded
// comes back with bad set; the reader then goes on after its first line.
func (r *reader) next() (u unit, ok bool, err error) {
	first := r.off == 0
	b, long, complete, err := r.physical()
	if err != nil || !complete {
		return unit{}, false, err
	}
	u.line = r.line
	if long {
		return unit{line: u.line, bad: reasonTooLong, raw: bytes.Clone(b[:rawLimit])}, true, nil
	}
	text, reason := r.decode(b, first)
	if reason != "" {
		return unit{line: u.line, bad: reason, raw: bytes.Clone(b)}, true, nil
	}
	u.text = text
	if !r.csv || !csvOpen(text, false) {
		return u, true, nil
	}
	// A quoted field goes on over the next lines. When it is never closed
	// the first line is bad, and reading goes on after it.
	afterOff, afterLine := r.off, r.line
	var sb strings.Builder
	sb.WriteString(text)
	for n := 1; ; n++ {
		if n >= maxRecordLines {
			break
		}
		b, long, complete, err := r.physical()
		if err != nil || !complete {
			// The rest of the record is not written yet.
			return unit{}, false, err
		}
		if long {
			break
		}
		t, reason := r.decode(b, false)
		if reason != "" || sb.Len()+1+len(t) > maxLine {
			break
		}
		sb.WriteByte('\n')
		sb.WriteString(t)
		if !csvOpen(t, true) {
			u.text = sb.String()
			return u, true, nil
		}
	}
	r.seek(afterOff, afterLine)
	return unit{line: u.line, bad: reasonOpenQuote, raw: []byte(text)}, true, nil
}

// csvOpen reports whether a CSV line ends inside a quoted field, so that the
// record goes on over the next line. inQuote says the line starts inside
// one. A malformed line (a quote after a closing quote, a bare quote) is not
// open: the CSV parser reports it.
func csvOpen(line string, inQuote bool) bool {
	fieldStart := !inQuote
	for i := 0; i < len(line); i++ {
		c := line[i]
		if inQuote {
			if c != '"' {
				continue
			}
			if i+1 < len(line) && line[i+1] == '"' {
				i++
				continue
			}
			inQuote = false
			if i+1 < len(line) && line[i+1] != ',' {
				return false
			}
			continue
		}
		if fieldStart && c == '"' {
			inQuote, fieldStart = true, false
			continue
		}
		fieldStart = c == ','
	}
	return inQuote
}
