package file

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/channelhub/channelhub/sdk"
)

// cursorVersion is the version of the checkpoint format.
const cursorVersion = 1

// hashWindow is how many bytes, at most, the head and tail fingerprints of
// a file cover.
const hashWindow = 4096

// cursor is the checkpoint of a stream: where each file stopped.
//
//	{"v":1,"files":{"/data/pos/members-01.csv":{"offset":52311,"line":1001,"head":"9f86…","tail":"2c26…"}}}
type cursor struct {
	V     int              `json:"v"`
	Files map[string]entry `json:"files"`
}

// entry is where one file stopped: Offset is the byte offset of the next
// unread line and Line the number of lines before it. Head and Tail are
// SHA-256 fingerprints (hex) of the min(Offset, 4096) bytes at the start of
// the file and just before Offset: when either no longer matches, or the
// file is shorter than Offset, the file was replaced or truncated and is
// read again from the start. An appended file keeps both and is read on
// from Offset.
type entry struct {
	Offset int64  `json:"offset"`
	Line   int64  `json:"line"`
	Head   string `json:"head"`
	Tail   string `json:"tail"`
}

// decodeCursor parses a checkpoint; nil or empty is the start.
func decodeCursor(b []byte) (cursor, error) {
	c := cursor{V: cursorVersion, Files: map[string]entry{}}
	if len(b) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(b, &c); err != nil || c.V != cursorVersion {
		if err == nil {
			err = fmt.Errorf("version %d, want %d", c.V, cursorVersion)
		}
		return c, sdk.PermanentError("", "the file checkpoint is unreadable (%v): reset the stream", err)
	}
	if c.Files == nil {
		c.Files = map[string]entry{}
	}
	return c, nil
}

// fingerprint returns the head and tail hashes of f for offset off.
func fingerprint(f *os.File, off int64) (head, tail string, err error) {
	n := min(off, hashWindow)
	h, err := hashAt(f, 0, n)
	if err != nil {
		return "", "", err
	}
	t, err := hashAt(f, off-n, n)
	return h, t, err
}

func hashAt(f *os.File, off, n int64) (string, error) {
	sum := sha256.New()
	if _, err := io.Copy(sum, io.NewSectionReader(f, off, n)); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// stale says why the file no longer continues what e read ("" when it
// does): it is shorter than e.Offset, or its fingerprints changed.
func (e entry) stale(f *os.File, size int64) string {
	if size < e.Offset {
		return "the file is shorter than the checkpoint (truncated)"
	}
	head, tail, err := fingerprint(f, e.Offset)
	if err != nil || head != e.Head || tail != e.Tail {
		return "the file's content before the checkpoint changed (replaced)"
	}
	return ""
}
