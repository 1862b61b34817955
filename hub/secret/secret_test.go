package secret_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/channelhub/channelhub/hub/secret"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, secret.KeySize)
	b, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := b.Seal([]byte("+8613800138000")), b.Seal([]byte("+8613800138000"))
	if bytes.Equal(s1, s2) || bytes.Contains(s1, []byte("13800138000")) {
		t.Fatal("sealing is deterministic or leaks the plaintext")
	}
	got, err := b.Open(s1)
	if err != nil || string(got) != "+8613800138000" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := secret.New(bytes.Repeat([]byte{8}, secret.KeySize))
	if _, err := other.Open(s1); err == nil {
		t.Fatal("opened with the wrong key")
	}
	if _, err := secret.New([]byte("short")); err == nil {
		t.Fatal("accepted a short key")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "d", "secret.key")
	k1, err := secret.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := secret.LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("key not persisted: %v", err)
	}
	if _, err := secret.ParseKey("abc"); err == nil {
		t.Fatal("accepted a bad key")
	}
}
