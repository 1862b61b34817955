package sqlite

// Migrations are the schema migrations, for tests that build a store as an
// older release left it.
func Migrations() []string { return migrations }

// KeyFilterReady reports whether the store holds a whole key filter for
// the tenant (see keyFilters).
func (s *Store) KeyFilterReady(tenant string) bool {
	s.filters.mu.Lock()
	defer s.filters.mu.Unlock()
	f := s.filters.byTenant[tenant]
	return f != nil && f.bloom != nil
}
