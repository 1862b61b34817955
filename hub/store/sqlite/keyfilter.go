package sqlite

import (
	"hash/maphash"
	"sync"
)

// A tenant's key filter answers "is this identifier carried by no stored
// record?" and "is this platform record new?" without reading the
// indexes. A first sync asks both of every record, and almost all answers
// are no: each lookup that finds nothing still reads a page of an index
// (at 1M members, ~2.5 µs an identifier, a fifth of the writer's time;
// with real, randomly spread ids, more). The filter is a Bloom filter of
// every identifier key in identifier_links and every record's refKey:
// a key it does not hold is certainly not stored; a key it holds is looked
// up as before (a false positive costs that lookup, nothing else).
//
// It lives in the process, one per tenant, and is only used inside a write
// transaction, which holds the database's write lock.
// tenants.index_version says whether it is still whole: every transaction
// that adds links or records gives it a new random value (applier.indexed;
// not version+1, which a rolled-back transaction would leave this filter
// at and the next commit elsewhere reach), and a filter is
// used only while the version it was made at is the stored one, so what
// another process (or another Store on the same file) added makes the
// filter go, never gives a wrong "not stored". Keys added by a transaction
// that then rolls back stay in the filter: a false positive, which is
// harmless. Deleted links and records stay too.
//
// A filter is made empty for a tenant with no records and no links, and
// from the indexes once the store has looked up Options.KeyFilterAfter keys
// without one and as many as half the store's records (so a sync of a few
// records into a large store never scans them). It grows in layers of
// doubling size, at 16 bits a key; a tenant whose keys would take it past
// maxFilterKeys gets none and is looked up as before.
type keyFilters struct {
	mu       sync.Mutex
	byTenant map[string]*keyFilter
	// after is how many lookups without a filter make one worth building
	// from the index; -1: never use a filter.
	after int
	// limit is the most keys a filter may have room for (maxFilterKeys).
	limit int
}

func newKeyFilters(after int) keyFilters {
	if after == 0 {
		after = defaultKeyFilterAfter
	}
	return keyFilters{byTenant: map[string]*keyFilter{}, after: after, limit: maxFilterKeys}
}

// keyFilter is one tenant's filter, or its absence: bloom is nil until it
// is made, and then made again only after it went stale.
type keyFilter struct {
	bloom *bloom
	// version is the tenants.index_version bloom holds every key of.
	version int64
	// probes counts keys looked up in the index while there was no bloom.
	probes int
	// off: the tenant gets no filter (its keys exceed the limit, or
	// filters are off).
	off bool
}

const (
	// maxFilterKeys bounds a filter's memory: the capacity of all its
	// layers, at 16 bits a key, 32 MiB: the filter is live heap, which the
	// collector lets grow fourfold up to the hub's soft memory limit, so
	// it is kept small beside that limit (peak RSS bar: 300 MB). 16M keys
	// are a tenant of about 4.5M members with real ids.
	maxFilterKeys = 16 << 20
	// firstLayerKeys is the capacity of an empty filter's first layer
	// (128 KiB).
	firstLayerKeys = 1 << 16
	// defaultKeyFilterAfter is the default of Options.KeyFilterAfter.
	defaultKeyFilterAfter = 100_000
)

// get returns the tenant's filter state, with a bloom only if it holds
// every key of the stored version.
func (fs *keyFilters) get(tenant string, version int64) *keyFilter {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.after < 0 {
		return &keyFilter{off: true}
	}
	f := fs.byTenant[tenant]
	if f == nil {
		f = &keyFilter{}
		fs.byTenant[tenant] = f
	}
	if f.bloom != nil && f.version != version {
		f.bloom, f.probes = nil, 0
	}
	return f
}

// ready reports whether f has a bloom.
func (fs *keyFilters) ready(f *keyFilter) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return f.bloom != nil
}

// maybeHeld returns the keys (strings) that f's bloom may hold, and all of
// them if f has none. probes is how many keys have then been looked up
// without a bloom, once that is enough to make one worth building; else 0.
func (fs *keyFilters) maybeHeld(f *keyFilter, keys []any) (maybe []any, probes int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.bloom == nil {
		if f.off {
			return keys, 0
		}
		f.probes += len(keys)
		if f.probes < fs.after {
			return keys, 0
		}
		return keys, f.probes
	}
	for _, k := range keys {
		if f.bloom.has(k.(string)) {
			maybe = append(maybe, k)
		}
	}
	return maybe, 0
}

// build gives f a bloom of the keys fill adds, sized for about capacity,
// which then holds every key of version; unless fill fails, or there are
// more keys than the limit allows (add then returns false, fill may stop,
// and f never gets a bloom).
func (fs *keyFilters) build(f *keyFilter, capacity int, version int64, fill func(add func(key string) bool) error) error {
	fs.mu.Lock()
	off := f.off
	fs.mu.Unlock()
	if off {
		return nil
	}
	b := newBloom(min(max(firstLayerKeys, capacity), fs.limit/2), fs.limit)
	full := false
	err := fill(func(k string) bool {
		full = full || !b.add(k)
		return !full
	})
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f.probes = 0
	if full {
		f.off = true
		return nil
	}
	if err != nil {
		return err
	}
	f.bloom, f.version = b, version
	return nil
}

// added records keys a transaction that found the stored version at from
// linked, storing version to: they go into f's bloom, which then holds
// every key of to; or f drops its bloom if it did not hold every key of
// from, or grew too large.
func (fs *keyFilters) added(f *keyFilter, keys []string, from, to int64) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.bloom == nil {
		return
	}
	if f.version != from {
		f.bloom = nil
		return
	}
	for _, k := range keys {
		if !f.bloom.add(k) {
			f.bloom, f.off = nil, true
			return
		}
	}
	f.version = to
}

// bloom is a Bloom filter that grows in layers: when the newest layer is
// full another twice its size is added, and a key may be held if any layer
// may hold it. Each layer is blocked: a key's bits are all in one 512-bit
// block, one cache line.
type bloom struct {
	seed   maphash.Seed
	layers []bloomLayer
	total  int // capacity of all layers
	limit  int // the most total may be
}

type bloomLayer struct {
	blocks [][8]uint64
	n, cap int
}

const (
	bloomBitsPerKey = 16
	bloomProbes     = 8 // bits set per key: about 0.1 % false positives a full layer
)

func newBloom(capacity, limit int) *bloom {
	b := &bloom{seed: maphash.MakeSeed(), limit: limit}
	b.grow(capacity)
	return b
}

func (b *bloom) grow(capacity int) {
	blocks := (capacity*bloomBitsPerKey + 511) / 512
	b.layers = append(b.layers, bloomLayer{blocks: make([][8]uint64, blocks), cap: capacity})
	b.total += capacity
}

// add adds key, reporting false if that would take the filter's capacity
// past its limit. Every add takes a place of capacity, a key's second too:
// testing first whether the filter holds the key would probe every layer,
// a cache miss each, for keys that are nearly all new (the writer adds an
// identifier once per new link of it, a build once per link).
func (b *bloom) add(key string) bool {
	h := maphash.String(b.seed, key)
	l := &b.layers[len(b.layers)-1]
	if l.n >= l.cap {
		if b.total+2*l.cap > b.limit {
			return false
		}
		b.grow(2 * l.cap)
		l = &b.layers[len(b.layers)-1]
	}
	blk, x, y := l.block(h)
	for i := range uint32(bloomProbes) {
		bit := (x + i*y) & 511
		blk[bit>>6] |= 1 << (bit & 63)
	}
	l.n++
	return true
}

func (b *bloom) has(key string) bool { return b.test(maphash.String(b.seed, key)) }

func (b *bloom) test(h uint64) bool {
	for i := range b.layers {
		if b.layers[i].test(h) {
			return true
		}
	}
	return false
}

func (l *bloomLayer) test(h uint64) bool {
	blk, x, y := l.block(h)
	for i := range uint32(bloomProbes) {
		bit := (x + i*y) & 511
		if blk[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}

// block picks the key's block from the hash's high half and derives the
// bit positions from a remix of it (double hashing, y odd).
func (l *bloomLayer) block(h uint64) (blk *[8]uint64, x, y uint32) {
	i := (h >> 32) * uint64(len(l.blocks)) >> 32
	g := h * 0x9e3779b97f4a7c15
	return &l.blocks[i], uint32(g), uint32(g>>32) | 1
}
